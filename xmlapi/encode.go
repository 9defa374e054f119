package xmlapi

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"
	"time"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/observe"
)

// xmlWriter writes the legacy API's indented XML. The documents are small
// and flat, so a writer beats building a tree (etree) and then serializing it.
type xmlWriter struct {
	bytes.Buffer
	depth int
}

func (b *xmlWriter) start() { b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n") }

func (b *xmlWriter) indent() {
	for range b.depth {
		b.WriteString("  ")
	}
}

func (b *xmlWriter) open(tag string) {
	b.indent()
	b.tag("<", tag, ">\n")
	b.depth++
}

func (b *xmlWriter) close(tag string) {
	b.depth--
	b.indent()
	b.tag("</", tag, ">\n")
}

func (b *xmlWriter) elem(tag, text string) {
	b.indent()
	b.tag("<", tag, ">")
	b.text(text)
	b.tag("</", tag, ">\n")
}

// tag writes a tag piece by piece: joining the pieces first would allocate.
func (b *xmlWriter) tag(before, name, after string) {
	b.WriteString(before)
	b.WriteString(name)
	b.WriteString(after)
}

// text writes s escaped as xml.EscapeText escapes it, which takes bytes:
// most texts (ids, times, flags, plain names) need no escaping, and go out
// without a copy.
func (b *xmlWriter) text(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\'' || c == '&' || c == '<' || c == '>' {
			xml.EscapeText(b, []byte(s))
			return
		}
	}
	b.WriteString(s)
}

func (b *xmlWriter) send(w http.ResponseWriter, code int) {
	writeXML(w, code, b.Bytes())
}

// xmlType is the Content-Type of every XML answer, one slice for all of
// them: Header.Set would allocate one a response. net/http only reads it.
var xmlType = []string{"application/xml; charset=utf-8"}

// writeXML sends a complete body: it is built before the header goes out,
// so a failure cannot leave a half-written 200.
func writeXML(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h["Content-Type"] = xmlType
	observe.SetContentLength(h, len(body))
	w.WriteHeader(code)
	w.Write(body)
}

// legacyTime is the legacy timestamp form, UTC with a Z: 2007-05-15T18:07:57Z.
func legacyTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// The legacy doc names the role element <roles> in its show, list and create
// examples but <role> in its search example; each response follows its example.
const (
	rolesElement       = "roles"
	searchRolesElement = "role"
)

// user writes one <user> with exactly the seed's elements, in its order,
// the role under roleTag. now picks the year whose standard offset the time
// zone shows.
func (b *xmlWriter) user(u *domain.User, now time.Time, roleTag string) {
	b.open("user")
	b.elem("created-at", legacyTime(u.CreatedAt))
	b.elem("email", u.Email)
	b.elem("id", strconv.FormatInt(u.ID, 10))
	b.elem("is-active", strconv.FormatBool(u.Active))
	b.elem("is-verified", strconv.FormatBool(u.Verified))
	b.elem("name", u.Name)
	b.elem(roleTag, strconv.Itoa(u.Role.LegacyCode()))
	b.elem("restriction-id", strconv.Itoa(int(u.Restriction)))
	b.elem("time-format", strconv.Itoa(u.TimeFormat))
	b.elem("time-zone", u.TimeZone.LegacyName(now))
	b.elem("updated-at", legacyTime(u.UpdatedAt))
	if len(u.Groups) == 0 {
		b.elem("groups", "")
	} else {
		b.groups(u.Groups)
	}
	b.close("user")
}

func (b *xmlWriter) groups(ms []domain.GroupMembership) {
	b.open("groups")
	for _, m := range ms {
		b.open("group")
		b.elem("id", strconv.FormatInt(m.GroupID, 10))
		b.elem("is-active", strconv.FormatBool(!m.Group.Deleted))
		b.elem("name", m.Group.Name)
		b.close("group")
	}
	b.close("groups")
}

func (h *Handler) writeUser(w http.ResponseWriter, code int, u *domain.User) {
	writeXML(w, code, renderUser(u, h.svc.Now()))
}

// renderUser is the document of one user, in bytes of its own.
func renderUser(u *domain.User, now time.Time) []byte {
	var b xmlWriter
	b.start()
	b.user(u, now, rolesElement)
	return b.Bytes()
}

func (h *Handler) writeUsers(w http.ResponseWriter, us []*domain.User, roleTag string) {
	var b xmlWriter
	b.start()
	b.open("users")
	now := h.svc.Now()
	for _, u := range us {
		b.user(u, now, roleTag)
	}
	b.close("users")
	b.send(w, http.StatusOK)
}
