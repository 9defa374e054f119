package jsonapi

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/deskgate/deskgate/domain"
)

// jsonAppender is a value that writes its own JSON, the bytes
// encoding/json (without HTML escaping) would write for it; encodeValue
// uses it instead of reflection. A page of 1,000 users cost about as much to
// encode by reflection as to read from SQLite.
type jsonAppender interface {
	appendJSON(b []byte) ([]byte, error)
}

// userList is a list of user shapes as h.user builds them.
type userList []any

// users builds the shape of every user of a list, as h.user does.
func (h *Handler) users(r *http.Request, us []*domain.User) userList {
	return userList(each(r, us, h.user))
}

func (l userList) appendJSON(b []byte) ([]byte, error) {
	if l == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i, u := range l {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendUser(b, u); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// endUserWithToken is an end user's own shape at /users/me: the end user's
// fields, then the authenticity token. It writes itself, as what embeds an
// appender would otherwise write only the embedded fields.
type endUserWithToken struct {
	*endUserJSON
	AuthenticityToken string `json:"authenticity_token"`
}

func (u endUserWithToken) appendJSON(b []byte) ([]byte, error) {
	b, err := u.appendFields(append(b, '{'))
	b = appendString(append(b, `,"authenticity_token":`...), u.AuthenticityToken)
	return append(b, '}'), err
}

// appendJSON writes {"user": ...}, the user by its own appender.
func (body userBody) appendJSON(b []byte) ([]byte, error) {
	b, err := appendUser(append(b, `{"user":`...), body.User)
	return append(b, '}'), err
}

// appendUser writes a shape h.user built: by its appender, or by
// reflection for a shape without one.
func appendUser(b []byte, u any) ([]byte, error) {
	if a, ok := u.(jsonAppender); ok {
		return a.appendJSON(b)
	}
	return appendReflected(b, u)
}

func (u *endUserJSON) appendJSON(b []byte) ([]byte, error) {
	b, err := u.appendFields(append(b, '{'))
	return append(b, '}'), err
}

// appendFields writes the keys of endUserJSON, in its fields' order.
func (u *endUserJSON) appendFields(b []byte) ([]byte, error) {
	b = appendInt(append(b, `"id":`...), u.ID)
	b = appendString(append(b, `,"url":`...), u.URL)
	b = appendString(append(b, `,"name":`...), u.Name)
	b = appendText(append(b, `,"email":`...), u.Email)
	b = appendString(append(b, `,"created_at":`...), u.CreatedAt)
	b = appendString(append(b, `,"updated_at":`...), u.UpdatedAt)
	b = appendString(append(b, `,"time_zone":`...), u.TimeZone)
	b = appendString(append(b, `,"iana_time_zone":`...), u.IANATimeZone)
	b = appendText(append(b, `,"phone":`...), u.Phone)
	b = strconv.AppendBool(append(b, `,"shared_phone_number":`...), u.SharedPhoneNumber)
	if u.Photo != nil {
		b = append(b, `,"photo":{}`...) // an empty struct
	} else {
		b = append(b, `,"photo":null`...)
	}
	b = appendString(append(b, `,"locale":`...), u.Locale)
	b = appendInt(append(b, `,"locale_id":`...), int64(u.LocaleID))
	b = appendID(append(b, `,"organization_id":`...), u.OrganizationID)
	b = appendString(append(b, `,"role":`...), u.Role)
	return strconv.AppendBool(append(b, `,"verified":`...), u.Verified), nil
}

func (u *userJSON) appendJSON(b []byte) ([]byte, error) {
	b, err := u.endUserJSON.appendFields(append(b, '{'))
	if err != nil {
		return nil, err
	}
	b = strconv.AppendBool(append(b, `,"active":`...), u.Active)
	b = appendText(append(b, `,"alias":`...), u.Alias)
	b = strconv.AppendBool(append(b, `,"chat_only":`...), u.ChatOnly)
	b = appendID(append(b, `,"custom_role_id":`...), u.CustomRoleID)
	b = appendID(append(b, `,"default_group_id":`...), u.DefaultGroupID)
	b = appendText(append(b, `,"details":`...), u.Details)
	b = appendText(append(b, `,"external_id":`...), u.ExternalID)
	b = appendText(append(b, `,"last_login_at":`...), u.LastLoginAt)
	b = strconv.AppendBool(append(b, `,"moderator":`...), u.Moderator)
	b = appendText(append(b, `,"notes":`...), u.Notes)
	b = strconv.AppendBool(append(b, `,"only_private_comments":`...), u.OnlyPrivateComments)
	b = strconv.AppendBool(append(b, `,"report_csv":`...), u.ReportCSV)
	b = strconv.AppendBool(append(b, `,"restricted_agent":`...), u.RestrictedAgent)
	if u.RoleType != nil {
		b = appendInt(append(b, `,"role_type":`...), int64(*u.RoleType))
	} else {
		b = append(b, `,"role_type":null`...)
	}
	b = strconv.AppendBool(append(b, `,"shared":`...), u.Shared)
	b = strconv.AppendBool(append(b, `,"shared_agent":`...), u.SharedAgent)
	b = appendText(append(b, `,"signature":`...), u.Signature)
	b = strconv.AppendBool(append(b, `,"suspended":`...), u.Suspended)
	b = appendStrings(append(b, `,"tags":`...), u.Tags)
	b = appendText(append(b, `,"ticket_restriction":`...), u.TicketRestriction)
	if u.TwoFactorAuthEnabled != nil {
		b = strconv.AppendBool(append(b, `,"two_factor_auth_enabled":`...), *u.TwoFactorAuthEnabled)
	} else {
		b = append(b, `,"two_factor_auth_enabled":null`...)
	}
	if u.UserFields != nil && len(u.UserFields) == 0 {
		b = append(b, `,"user_fields":{}`...)
	} else if b, err = appendReflected(append(b, `,"user_fields":`...), u.UserFields); err != nil {
		return nil, err
	}
	if u.AuthenticityToken != "" {
		b = appendString(append(b, `,"authenticity_token":`...), u.AuthenticityToken)
	}
	return append(b, '}'), nil
}

func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }

func appendID(b []byte, id *int64) []byte {
	if id == nil {
		return append(b, "null"...)
	}
	return appendInt(b, *id)
}

func appendText(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendString writes s quoted. Printable ASCII other than the quote and
// the backslash stands for itself, as encoding/json writes it without HTML
// escaping; anything else goes to encoding/json, whose escapes (control
// characters, invalid UTF-8, U+2028 and U+2029) are not repeated here.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			out, _ := appendReflected(b, s) // a string always encodes
			return out
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendReflected writes v as encodeJSON does, by reflection.
func appendReflected(b []byte, v any) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	if err := encodeJSON(buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
