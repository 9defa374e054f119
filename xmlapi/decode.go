package xmlapi

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
	"github.com/deskgate/deskgate/domain"
	"golang.org/x/net/html/charset"
)

// maxDepth bounds nesting: <user><groups>… is three deep.
const maxDepth = 8

const msgShape = "Expected <user>…</user>, optionally followed by <groups>2,3</groups>."

func badRequest(msg string) error { return &domain.Error{Kind: domain.BadRequest, Msg: msg} }

// document is a decoded legacy request body: the <user> element and the
// optional sibling <groups> element.
type document struct {
	user   *etree.Element
	groups *etree.Element
}

// mediaTypeError is a body declared as something other than XML.
type mediaTypeError struct{ got string }

func (e *mediaTypeError) Error() string { return "unsupported media type " + e.got }

// checkMediaType accepts what old integrations send: application/xml,
// text/xml, or no Content-Type at all. Everything else is refused, form types
// above all (application/x-www-form-urlencoded, multipart/form-data,
// text/plain): a cross-site HTML form can send those with a browser's cached
// Basic credentials, and it cannot send an XML type. A cross-site script can
// send a body without a type, though (fetch with a Blob), and browsers mark
// it with Origin, which the old server-side integrations never send: an
// undeclared body is accepted only without Origin.
func checkMediaType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" && r.Header.Get("Origin") == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case ct == "":
		return &mediaTypeError{got: "none, from a browser"}
	case err != nil:
		return &mediaTypeError{got: "an unreadable Content-Type"}
	case mt != "application/xml" && mt != "text/xml":
		return &mediaTypeError{got: mt}
	}
	return nil
}

// readDocument parses the body. etree accepts any number of roots, stray
// text and DTDs, so the shape is checked here: exactly one <user>, at most
// one <groups> after it, nothing else but whitespace, comments and the XML
// declaration. Declared charsets (ISO-8859-1, Windows-1252 …) are decoded.
func readDocument(r *http.Request) (*document, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err // *http.MaxBytesError: 413
	}
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{CharsetReader: charset.NewReaderLabel, MaxDepth: maxDepth}
	if _, err := doc.ReadFrom(bytes.NewReader(body)); err != nil {
		return nil, badRequest("The body is not well-formed XML (" + xmlProblem(body, err) + "). " + msgShape)
	}
	var d document
	for _, tok := range doc.Child {
		switch t := tok.(type) {
		case *etree.Directive:
			return nil, badRequest(msgDeclarations)
		case *etree.CharData:
			if strings.TrimSpace(t.Data) != "" {
				return nil, badRequest("Text outside the elements is not accepted. " + msgShape)
			}
		case *etree.Element:
			switch {
			case t.Tag == "user" && d.user == nil:
				d.user = t
			case t.Tag == "groups" && d.user != nil && d.groups == nil:
				d.groups = t
			default:
				return nil, badRequest("Unexpected element <" + t.Tag + ">. " + msgShape)
			}
		}
	}
	if d.user == nil {
		return nil, badRequest(msgShape)
	}
	if holdsDirective(d.user) || d.groups != nil && holdsDirective(d.groups) {
		return nil, badRequest(msgDeclarations)
	}
	if containsReplacement(doc.Root()) || d.groups != nil && containsReplacement(d.groups) {
		return nil, badRequest("The body holds bytes that are invalid in its declared encoding.")
	}
	return &d, nil
}

const msgDeclarations = "DOCTYPE and entity declarations are not accepted."

// holdsDirective reports a <!DOCTYPE …> or other declaration anywhere below
// e: etree keeps one where it stands, inside an element too. None expands
// an entity (etree refuses a reference to one), but the rule is one for the
// whole document.
func holdsDirective(e *etree.Element) bool {
	for _, tok := range e.Child {
		switch t := tok.(type) {
		case *etree.Directive:
			return true
		case *etree.Element:
			if holdsDirective(t) {
				return true
			}
		}
	}
	return false
}

// xmlProblem says where the body stops being XML. etree reports a bare
// "invalid XML format" for unbalanced tags; encoding/xml names the line.
func xmlProblem(body []byte, err error) string {
	if errors.Is(err, etree.ErrMaxDepth) {
		return "nested too deeply"
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.CharsetReader = charset.NewReaderLabel
	for {
		if _, terr := dec.Token(); terr != nil {
			if terr != io.EOF {
				err = terr
			}
			break
		}
	}
	return strings.TrimPrefix(err.Error(), "XML syntax error on ")
}

// containsReplacement reports U+FFFD anywhere below e: a charset decoder
// writes it for bytes the declared encoding does not define.
func containsReplacement(e *etree.Element) bool {
	if strings.ContainsRune(e.Text(), utf8.RuneError) {
		return true
	}
	for _, c := range e.ChildElements() {
		if containsReplacement(c) {
			return true
		}
	}
	return false
}

// changes reads the user fields a legacy client may send. Both <roles>
// (as shown) and <role> (as in the seed's search example) set the role.
func (d *document) changes() (domain.UserChanges, error) {
	c := domain.UserChanges{ReplaceEmail: true} // <email> is the user's one address here
	var bad []domain.FieldError
	text := func(tag string) *string {
		if e := d.user.SelectElement(tag); e != nil {
			s := e.Text()
			return &s
		}
		return nil
	}
	number := func(tag, field string) *int {
		s := text(tag)
		if s == nil {
			return nil
		}
		n, err := strconv.Atoi(strings.TrimSpace(*s))
		if err != nil {
			bad = append(bad, domain.FieldInvalid(field, "must be a whole number"))
			return nil
		}
		return &n
	}
	flag := func(tag, field string) *bool {
		s := text(tag)
		if s == nil {
			return nil
		}
		b, err := strconv.ParseBool(strings.TrimSpace(*s))
		if err != nil {
			bad = append(bad, domain.FieldInvalid(field, "must be true or false"))
			return nil
		}
		return &b
	}
	c.Name, c.Email, c.Password, c.TimeZone = text("name"), text("email"), text("password"), text("time-zone")
	c.TimeFormat = number("time-format", "time_format")
	c.Active, c.Verified = flag("is-active", "active"), flag("is-verified", "verified")
	tag := "roles"
	if d.user.SelectElement(tag) == nil {
		tag = "role"
	}
	if code := number(tag, "role"); code != nil {
		if r, ok := domain.RoleFromLegacy(*code); ok {
			c.Role = &r
		} else {
			bad = append(bad, domain.FieldInvalid("role", "must be 0 (end user), 2 (administrator) or 4 (agent)"))
		}
	}
	if id := number("restriction-id", "restriction_id"); id != nil {
		if x, ok := domain.RestrictionFromLegacy(*id); ok {
			c.Restriction = &x
		} else {
			bad = append(bad, domain.FieldInvalid("restriction_id", "must be a restriction id from 0 to 4"))
		}
	}
	if d.groups != nil {
		ids, err := groupIDs(d.groups.Text())
		if err != nil {
			bad = append(bad, domain.FieldInvalid("groups", "must be group ids separated by commas, like 2,3"))
		}
		c.GroupIDs = &ids
	}
	if len(bad) > 0 {
		return c, &domain.Error{Kind: domain.Invalid, Msg: "Record validation errors", Fields: bad}
	}
	return c, nil
}

// groupIDs reads "2,3" (whitespace allowed, empty for none).
func groupIDs(s string) ([]int64, error) {
	ids := []int64{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil || id < 1 {
			return nil, errors.New("bad group id")
		}
		ids = append(ids, id)
	}
	return ids, nil
}
