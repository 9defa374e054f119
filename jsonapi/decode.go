package jsonapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/deskgate/deskgate/domain"
)

// opt is a request field that tells absent, null and a value apart.
type opt[T any] struct {
	set, null bool
	v         T
}

func (o *opt[T]) UnmarshalJSON(b []byte) error {
	o.set = true
	if string(b) == "null" {
		o.null = true
		return nil
	}
	return json.Unmarshal(b, &o.v)
}

// ptr is the field as a change: nil when absent or null.
func (o opt[T]) ptr() *T {
	if !o.set || o.null {
		return nil
	}
	return &o.v
}

// clearable is the field as a change where null clears it (to the zero value).
func (o opt[T]) clearable() *T {
	if !o.set {
		return nil
	}
	return &o.v
}

func badBody(msg string) error {
	return &domain.Error{Kind: domain.BadRequest, Code: "BadRequest", Msg: msg}
}

// decode reads a JSON body wrapped under key ({"user": {…}}) into dst; an
// empty key reads a bare object ({"password": …}). A value of the wrong type
// names the attribute, as the real service does. An anonymous caller's body
// is never parsed, nor one not declared as JSON.
func decode(r *http.Request, key string, dst any) error {
	if err := domain.Authenticated(r.Context()); err != nil {
		return err
	}
	if err := checkMediaType(r); err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if err := checkStructure(body); err != nil {
		return err
	}
	var wrapper map[string]json.RawMessage
	if err := json.Unmarshal(body, &wrapper); err != nil {
		return badBody("The body is not a JSON object: " + jsonProblem(err))
	}
	inner := json.RawMessage(body)
	if key != "" {
		var ok bool
		inner, ok = wrapper[key]
		if !ok || bytes.Equal(bytes.TrimSpace(inner), []byte("null")) {
			return badBody(`Expected a JSON object under "` + key + `", e.g. {"` + key + `": {…}}`)
		}
	}
	if err := json.Unmarshal(inner, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			attr := strings.TrimPrefix(key+"."+te.Field, ".")
			if te.Field == "" {
				attr = key // the wrapped value itself is not an object
			}
			return &attributeError{attribute: attr, want: wantType(te.Type.String())}
		}
		return badBody(`"` + key + `" must be a JSON object: ` + jsonProblem(err))
	}
	return nil
}

// mediaTypeError is a body declared as something other than JSON.
type mediaTypeError struct{ got string }

func (e *mediaTypeError) Error() string { return "unsupported media type " + e.got }

// checkMediaType requires Content-Type: application/json (parameters such as
// charset allowed), as the real service documents for every body. Besides
// telling clients what went wrong, it closes a door: text/plain,
// multipart/form-data and application/x-www-form-urlencoded are what a
// cross-site HTML form can send with a browser's cached Basic credentials,
// and no form can send application/json.
func checkMediaType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case ct == "":
		return &mediaTypeError{got: "none"}
	case err != nil:
		return &mediaTypeError{got: "an unreadable Content-Type"}
	case mt != "application/json":
		return &mediaTypeError{got: mt}
	}
	return nil
}

// maxDepth bounds nesting: {"user": {"user_fields": {"key": […]}}} is four
// deep, and no request the API reads goes further.
const maxDepth = 8

// checkStructure walks the body's tokens once before decoding and refuses
// what encoding/json lets through: a repeated key, where the last copy would
// silently win (so a check of one copy could be bypassed by the other; keys
// are compared case-insensitively, as encoding/json matches them), and
// nesting deeper than maxDepth. Syntax errors are left to the decode that
// follows, which reports them with their position.
func checkStructure(body []byte) error {
	type container struct {
		object  bool
		wantKey bool
		keys    map[string]bool
	}
	var stack []*container
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // no float conversion of numbers nobody reads here
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		if n := len(stack); n > 0 && stack[n-1].wantKey {
			if key, ok := tok.(string); ok {
				top, folded := stack[n-1], foldKey(key)
				if top.keys[folded] {
					return badBody(`The key "` + key + `" appears more than once in one object; send each key once`)
				}
				top.keys[folded] = true
				top.wantKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) == maxDepth {
				return badBody("The body is nested more than " + strconv.Itoa(maxDepth) + " levels deep")
			}
			obj := tok == json.Delim('{')
			stack = append(stack, &container{object: obj, wantKey: obj, keys: map[string]bool{}})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// foldKey maps a key to one spelling per case-insensitive class, with the
// Unicode simple folding encoding/json matches keys by ("ſuspended" is
// "suspended" to it, which strings.ToLower does not see).
func foldKey(key string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, key)
}

func wantType(goType string) string {
	// Containers first: "[]string" and "map[string]any" name string too.
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["), strings.Contains(goType, "."):
		return "an object"
	case strings.Contains(goType, "int"):
		return "an integer"
	case strings.Contains(goType, "bool"):
		return "true or false"
	case strings.Contains(goType, "string"):
		return "a string"
	default:
		return "an object"
	}
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " at byte " + strconv.FormatInt(se.Offset, 10)
	}
	return err.Error()
}

// userInput is the writable part of a v2 user. Read-only keys (id, url,
// active, created_at …) are not here, so they are ignored, never assigned.
type userInput struct {
	Name                opt[string]         `json:"name"`
	Email               opt[string]         `json:"email"`
	Role                opt[string]         `json:"role"`
	TicketRestriction   opt[string]         `json:"ticket_restriction"`
	Verified            opt[bool]           `json:"verified"`
	Suspended           opt[bool]           `json:"suspended"`
	ExternalID          opt[string]         `json:"external_id"`
	Alias               opt[string]         `json:"alias"`
	Phone               opt[string]         `json:"phone"`
	SharedPhoneNumber   opt[bool]           `json:"shared_phone_number"`
	Notes               opt[string]         `json:"notes"`
	Details             opt[string]         `json:"details"`
	Signature           opt[string]         `json:"signature"`
	Locale              opt[string]         `json:"locale"`
	LocaleID            opt[int]            `json:"locale_id"`
	TimeZone            opt[string]         `json:"time_zone"`
	OrganizationID      opt[int64]          `json:"organization_id"`
	DefaultGroupID      opt[int64]          `json:"default_group_id"`
	CustomRoleID        opt[int64]          `json:"custom_role_id"`
	Moderator           opt[bool]           `json:"moderator"`
	OnlyPrivateComments opt[bool]           `json:"only_private_comments"`
	Tags                opt[[]string]       `json:"tags"`
	UserFields          opt[map[string]any] `json:"user_fields"`
	SkipVerifyEmail     bool                `json:"skip_verify_email"`
	// Identities are made with the user (create only; an update ignores them).
	Identities []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"identities"`
}

// changes maps the input onto the domain's change set. Values the domain
// cannot even hold (an unknown role name) are reported as invalid fields.
func (in *userInput) changes() (domain.UserChanges, error) {
	c := domain.UserChanges{
		Name:                in.Name.clearable(),
		Email:               in.Email.ptr(),
		Verified:            in.Verified.ptr(),
		Suspended:           in.Suspended.ptr(),
		ExternalID:          in.ExternalID.clearable(),
		Alias:               in.Alias.clearable(),
		Phone:               in.Phone.clearable(),
		SharedPhoneNumber:   in.SharedPhoneNumber.ptr(),
		Notes:               in.Notes.clearable(),
		Details:             in.Details.clearable(),
		Signature:           in.Signature.clearable(),
		Locale:              in.Locale.ptr(),
		TimeZone:            in.TimeZone.ptr(),
		OrganizationID:      in.OrganizationID.clearable(),
		DefaultGroupID:      in.DefaultGroupID.ptr(),
		CustomRoleID:        in.CustomRoleID.clearable(),
		Moderator:           in.Moderator.ptr(),
		OnlyPrivateComments: in.OnlyPrivateComments.ptr(),
		Tags:                in.Tags.clearable(),
		UserFields:          in.UserFields.v,
		SkipVerifyEmail:     in.SkipVerifyEmail,
		// v2: an agent-only restriction given to an end user becomes "requested".
		EndUserRestrictionFallback: true,
	}
	for _, i := range in.Identities {
		c.Identities = append(c.Identities, domain.NewIdentity{Type: domain.IdentityType(i.Type), Value: i.Value})
	}
	var bad []domain.FieldError
	if role := in.Role.ptr(); role != nil {
		r, ok := domain.ParseRole(*role)
		if !ok {
			bad = append(bad, domain.FieldInvalid("role", `must be "end-user", "agent" or "admin"`))
		}
		c.Role = &r
	}
	if in.TicketRestriction.set {
		x, ok := domain.ParseRestriction(in.TicketRestriction.v)
		if !ok || in.TicketRestriction.v == "" && !in.TicketRestriction.null {
			bad = append(bad, domain.FieldInvalid("ticket_restriction", `must be "organization", "groups", "assigned", "requested" or null`))
		}
		c.Restriction = &x
	}
	if c.Locale == nil && in.LocaleID.ptr() != nil { // locale wins when both are sent
		l, ok := domain.LocaleByID(in.LocaleID.v)
		if !ok {
			bad = append(bad, domain.FieldInvalid("locale_id", "is not an available locale"))
		}
		c.Locale = &l
	}
	if len(bad) > 0 {
		return c, &domain.Error{Kind: domain.Invalid, Msg: "Record validation errors", Fields: bad}
	}
	return c, nil
}

// pageRequest reads both paging styles: page[size] (with page[after] or
// page[before]) selects cursor paging, page and per_page offset paging.
// Either takes either sort style (go-zendesk may send both kinds of keys).
func pageRequest(r *http.Request) (domain.PageRequest, error) {
	q := r.URL.Query()
	sort, err := sortRequest(q)
	p := domain.PageRequest{Sort: sort}
	number := func(key string) int {
		s := q.Get(key)
		if s == "" || err != nil {
			return 0
		}
		n, e := strconv.Atoi(s)
		if e != nil || n < 1 {
			err = &domain.Error{Kind: domain.BadRequest, Code: "InvalidPaginationParameter", Msg: key + " must be a whole number from 1 up"}
		}
		return n
	}
	if q.Has("page[size]") || q.Has("page[after]") || q.Has("page[before]") {
		p.Cursor = true
		p.Size = number("page[size]")
		p.After, p.Before = q.Get("page[after]"), q.Get("page[before]")
		return p, err
	}
	p.Number = number("page")
	p.Size = number("per_page")
	return p, err
}

// sortRequest reads sort=field or sort=-field (the cursor style), or
// sort_by=field with sort_order=asc|desc (the offset style). The service
// checks the field against the list's.
func sortRequest(q url.Values) (domain.Sort, error) {
	bad := func(msg string) (domain.Sort, error) {
		return domain.Sort{}, &domain.Error{Kind: domain.BadRequest, Code: "InvalidParameter", Msg: msg}
	}
	if s := q.Get("sort"); s != "" {
		if q.Get("sort_by") != "" || q.Get("sort_order") != "" {
			return bad("Pass sort=field (or sort=-field), or sort_by and sort_order, not both")
		}
		field, desc := strings.CutPrefix(s, "-")
		if field == "" {
			return bad("sort must name a field, e.g. sort=name or sort=-name")
		}
		return domain.Sort{Field: field, Desc: desc}, nil
	}
	sort := domain.Sort{Field: q.Get("sort_by")}
	switch strings.ToLower(q.Get("sort_order")) {
	case "", "asc":
	case "desc":
		sort.Desc = true
	default:
		return bad(`sort_order must be "asc" or "desc"`)
	}
	return sort, nil
}

// idList reads a comma-separated id list (?ids=1,2,3).
func idList(s, param string) ([]int64, error) {
	var ids []int64
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil || id < 1 {
			return nil, &domain.Error{Kind: domain.BadRequest, Code: "InvalidParameter", Msg: param + " must be ids (whole numbers from 1 up) separated by commas"}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// stringList reads a comma-separated list of strings (external ids, job ids).
func stringList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
