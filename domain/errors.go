package domain

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind classifies an error so that each front end can pick its own status
// code and body for it in one place. Append only: front ends key tables on it.
type Kind uint8

const (
	Internal        Kind = iota // not classified: the cause is logged, never shown
	Invalid                     // Fields says which field and why
	NotFound                    // no such record, or one the actor may not see
	Unauthenticated             // no or wrong credentials
	Forbidden                   // authenticated, but not allowed
	Conflict                    // a business rule refuses the change (Msg says which)
	SeatLimit                   // no agent seat left
	BadRequest                  // a malformed parameter (a cursor, a page number)
	TooMany                     // more ids or items than one request may carry
	TooManyRequests             // over a rate limit; RetryAfter says for how long
	Gone                        // retired: the legacy API after its sunset
)

// Error is the one error type the service returns. Msg and Fields are safe to
// show a client; Err is the cause, for logs only.
type Error struct {
	Kind   Kind
	Code   string // a machine-readable code where the v2 API has one (e.g. "InvalidPaginationParameter")
	Msg    string
	Fields []FieldError
	Err    error

	RetryAfter int // TooManyRequests: whole seconds until a retry may succeed
}

// FieldError describes one invalid field in both dialects the APIs speak:
// Rails' full message for the legacy API ("Email is invalid") and the v2
// description that always starts with the humanized field name and a colon
// ("Email: foo is not properly formatted").
type FieldError struct {
	Field       string // the v2 attribute name, e.g. "email"
	Code        string // e.g. "InvalidFormat", "DuplicateValue", "BlankValue"
	Message     string // legacy full message
	Description string // v2 description
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Msg)
	for _, f := range e.Fields {
		b.WriteString("; " + f.Description)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf reports the kind of err; anything that is not an *Error is Internal.
func KindOf(err error) Kind {
	if e, ok := err.(*Error); ok { // most are, unwrapped: no allocation for errors.As
		return e.Kind
	}
	if err == nil {
		return Internal
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// AsError returns err's *Error, or an Internal one wrapping it.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Internal, Msg: "internal error", Err: err}
}

// Errorf builds an *Error of kind k with a client-safe message.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// ErrNotFound is returned for unknown records and for records the actor may not see.
var ErrNotFound = &Error{Kind: NotFound, Msg: "Not found"}

// invalid collects field errors; it is the single way the domain reports Invalid.
type invalid []FieldError

func (v *invalid) add(field, code, message, description string) {
	*v = append(*v, FieldError{Field: field, Code: code, Message: message, Description: description})
}

// blank reports an empty required field. The v2 description is the text
// the real service sends for a blank name (API-NOTES §4); the legacy message
// keeps the Rails wording.
func (v *invalid) blank(field string) {
	h := humanize(field)
	v.add(field, "BlankValue", h+" cannot be blank", h+": is too short (minimum is 1 characters)")
}

// malformed reports a value that is not well formed. A value with invisible
// characters is shown quoted and escaped, so the client sees what is wrong.
func (v *invalid) malformed(field, value string) {
	h := humanize(field)
	if invisible(value) {
		value = strconv.QuoteToASCII(value)
	}
	v.add(field, "InvalidFormat", h+" is invalid", h+": "+value+" is not properly formatted")
}

// taken reports a value that must be unique and is not.
func (v *invalid) taken(field, value string) {
	h := humanize(field)
	v.add(field, "DuplicateValue", h+" has already been taken", h+": "+value+" is already being used by another user")
}

// unacceptable reports a value outside the allowed set, with why.
func (v *invalid) unacceptable(field, why string) {
	*v = append(*v, FieldInvalid(field, why))
}

// FieldInvalid describes a field whose value is not acceptable, and why;
// front ends use it for values they cannot even decode.
func FieldInvalid(field, why string) FieldError {
	h := humanize(field)
	return FieldError{Field: field, Code: "InvalidValue", Message: h + " " + why, Description: h + ": " + why}
}

func (v invalid) err() error {
	if len(v) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Msg: "Record validation errors", Fields: v}
}

// humanize turns "time_zone" into "Time zone", as Rails does for messages.
func humanize(field string) string {
	s := strings.ReplaceAll(strings.TrimSuffix(field, "_id"), "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
