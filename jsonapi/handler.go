// Package jsonapi serves the v2 JSON Users API (/api/v2/...).
package jsonapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/observe"
)

// Handler serves the v2 API from the domain service.
type Handler struct {
	svc       *domain.Service
	base      func(*http.Request) string // the origin of url fields and links
	log       *slog.Logger
	keepAlive time.Duration // between comments on an idle agent event stream
}

// DefaultKeepAlive is how often an idle agent event stream gets a comment.
const DefaultKeepAlive = 15 * time.Second

// New returns the v2 API's handler. base gives the origin
// ("http://host:port") absolute URLs start with; keepAlive is the agent
// event streams' (0 = DefaultKeepAlive).
func New(svc *domain.Service, base func(*http.Request) string, log *slog.Logger, keepAlive time.Duration) *Handler {
	if keepAlive <= 0 {
		keepAlive = DefaultKeepAlive
	}
	return &Handler{svc: svc, base: base, log: log, keepAlive: keepAlive}
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// adapt counts the request against the rate limits of its class, shows
// what is left of them as the real service does, and writes any error the
// handler returns in the v2 format.
func (h *Handler) adapt(class domain.RequestClass, f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := h.svc.Admit(r.Context(), class)
		if q.Limit > 0 {
			// The Users API sends both generations of the headers. Each
			// value is one string, and all share one backing array: five
			// Header.Set calls cost eight allocations a request.
			v := []string{strconv.Itoa(q.Limit), strconv.Itoa(q.Remaining), strconv.Itoa(q.Reset)}
			limit, remaining, reset := v[0:1:1], v[1:2:2], v[2:3:3]
			hd := w.Header()
			hd["X-Rate-Limit"], hd["Ratelimit-Limit"] = limit, limit
			hd["X-Rate-Limit-Remaining"], hd["Ratelimit-Remaining"] = remaining, remaining
			hd["Ratelimit-Reset"] = reset
		}
		if err == nil {
			err = f(w, r)
		}
		if err != nil {
			h.writeError(w, r, err)
		}
	})
}

// pathID reads a numeric route variable; the routes admit digits only.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(observe.Vars(r)[name], 10, 64)
	if err != nil || id < 1 {
		return 0, &domain.Error{Kind: domain.BadRequest, Code: "InvalidParameter", Msg: name + " must be a whole number from 1 to 9223372036854775807"}
	}
	return id, nil
}

// buffers hold bodies being encoded; a list page grows one to a few
// hundred KiB, which the next request reuses.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encodeJSON writes v to buf as the v2 API sends it: without HTML escaping
// (links carry & as the real service sends it, not \u0026) and without the
// encoder's final newline.
func encodeJSON(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	return encodeValue(buf, enc, v)
}

func encodeValue(buf *bytes.Buffer, enc *json.Encoder, v any) error {
	if a, ok := v.(jsonAppender); ok {
		b, err := a.appendJSON(buf.AvailableBuffer())
		buf.Write(b)
		return err
	}
	o, ok := v.(object)
	if !ok {
		if err := enc.Encode(v); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1)
		return nil
	}
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('"')
		buf.WriteString(m.key)
		buf.WriteString(`":`)
		if err := encodeValue(buf, enc, m.value); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

// renderJSON returns v encoded, in bytes of its own (a rendering to keep).
func renderJSON(v any) ([]byte, error) {
	buf := buffers.Get().(*bytes.Buffer)
	defer buffers.Put(buf)
	buf.Reset()
	if err := encodeJSON(buf, v); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil
}

// writeJSON encodes the whole body before sending the header, so a failed
// encode cannot leave a half-written 200.
func writeJSON(w http.ResponseWriter, code int, v any) {
	buf := buffers.Get().(*bytes.Buffer)
	defer buffers.Put(buf)
	buf.Reset()
	if err := encodeJSON(buf, v); err != nil {
		code = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"InternalError","description":"The response could not be encoded"}`)
	}
	sendJSON(w, code, buf.Bytes())
}

// jsonType is the Content-Type of every JSON answer, one slice for all of
// them: Header.Set would allocate one a response. net/http only reads it.
var jsonType = []string{"application/json; charset=utf-8"}

// sendJSON sends a complete JSON body.
func sendJSON(w http.ResponseWriter, code int, body []byte) {
	hd := w.Header()
	hd["Content-Type"] = jsonType
	observe.SetContentLength(hd, len(body))
	w.WriteHeader(code)
	w.Write(body)
}

// created answers 201 with the new record under key and its URL in
// Location, as every v2 create does.
func (h *Handler) created(w http.ResponseWriter, r *http.Request, key, collection string, id int64, record any) {
	w.Header().Set("Location", h.resourceURL(r, collection, id))
	writeJSON(w, http.StatusCreated, map[string]any{key: record})
}

// emptyOK answers 200 with an empty body, as the real service does for
// request_verification and the password changes.
func emptyOK(w http.ResponseWriter) {
	w.Header()["Content-Type"] = jsonType
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// noContent answers 204, as the v2 API does for deletions of memberships,
// groups and organizations.
func noContent(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNoContent)
}
