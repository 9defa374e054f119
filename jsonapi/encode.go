package jsonapi

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deskgate/deskgate/domain"
)

// v2Time is the v2 timestamp form: UTC, seconds, Z.
func v2Time(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Nullable values: the v2 API shows absent values as null and keeps every key.
func text(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullID(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

func timestamp(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := v2Time(t)
	return &s
}

// userHead and userProfile are the two runs of keys every user shape
// shares (the end-user view, the full user, the deleted user), in the order
// the real service sends them.
type userHead struct {
	ID        int64   `json:"id"`
	URL       string  `json:"url"`
	Name      string  `json:"name"`
	Email     *string `json:"email"`
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
	TimeZone  string  `json:"time_zone"`
}

type userProfile struct {
	Phone             *string   `json:"phone"`
	SharedPhoneNumber bool      `json:"shared_phone_number"`
	Photo             *struct{} `json:"photo"`
	Locale            string    `json:"locale"`
	LocaleID          int       `json:"locale_id"`
	OrganizationID    *int64    `json:"organization_id"`
	Role              string    `json:"role"`
}

// userParts builds both runs of u's keys; url is the shape's own.
func userParts(u *domain.User, url string) (userHead, userProfile) {
	return userHead{ID: u.ID, URL: url, Name: u.Name, Email: text(u.Email), CreatedAt: v2Time(u.CreatedAt),
			UpdatedAt: v2Time(u.UpdatedAt), TimeZone: u.TimeZone.Name},
		userProfile{Phone: text(u.Phone), SharedPhoneNumber: u.SharedPhoneNumber, Locale: u.Locale,
			LocaleID: domain.LocaleID(u.Locale), OrganizationID: nullID(u.OrganizationID), Role: u.Role.String()}
}

// endUserJSON is the user as end users see others and themselves (the
// spec's UserForEndUser).
type endUserJSON struct {
	userHead
	IANATimeZone string `json:"iana_time_zone"`
	userProfile
	Verified bool `json:"verified"`
}

// userJSON is the full user (the spec's UserForAdmin), with every key
// present and null for absent values, as the real service sends it.
type userJSON struct {
	endUserJSON
	Active               bool           `json:"active"`
	Alias                *string        `json:"alias"`
	ChatOnly             bool           `json:"chat_only"`
	CustomRoleID         *int64         `json:"custom_role_id"`
	DefaultGroupID       *int64         `json:"default_group_id"`
	Details              *string        `json:"details"`
	ExternalID           *string        `json:"external_id"`
	LastLoginAt          *string        `json:"last_login_at"`
	Moderator            bool           `json:"moderator"`
	Notes                *string        `json:"notes"`
	OnlyPrivateComments  bool           `json:"only_private_comments"`
	ReportCSV            bool           `json:"report_csv"`
	RestrictedAgent      bool           `json:"restricted_agent"`
	RoleType             *int           `json:"role_type"`
	Shared               bool           `json:"shared"`
	SharedAgent          bool           `json:"shared_agent"`
	Signature            *string        `json:"signature"`
	Suspended            bool           `json:"suspended"`
	Tags                 []string       `json:"tags"`
	TicketRestriction    *string        `json:"ticket_restriction"`
	TwoFactorAuthEnabled *bool          `json:"two_factor_auth_enabled"`
	UserFields           map[string]any `json:"user_fields"`
	AuthenticityToken    string         `json:"authenticity_token,omitempty"`
}

// resourceURL is a record's absolute API URL: its url field and, after a
// create, its Location.
func (h *Handler) resourceURL(r *http.Request, collection string, id int64) string {
	return h.base(r) + "/api/v2/" + collection + "/" + strconv.FormatInt(id, 10) + ".json"
}

// user builds the one v2 shape of a user, reduced for end users. It returns
// any, since the two views are different types.
func (h *Handler) user(r *http.Request, u *domain.User) any {
	head, profile := userParts(u, h.resourceURL(r, "users", u.ID))
	pub := endUserJSON{userHead: head, IANATimeZone: u.TimeZone.IANA, userProfile: profile, Verified: u.Verified}
	if !domain.ActorFrom(r.Context()).SeesAgentFields() {
		return &pub
	}
	full := &userJSON{
		endUserJSON:         pub,
		Active:              u.Active,
		Alias:               text(u.Alias),
		CustomRoleID:        nullID(u.CustomRoleID),
		DefaultGroupID:      nullID(u.DefaultGroupID()),
		Details:             text(u.Details),
		ExternalID:          text(u.ExternalID),
		LastLoginAt:         timestamp(u.LastLoginAt),
		Moderator:           u.Moderator,
		Notes:               text(u.Notes),
		OnlyPrivateComments: u.OnlyPrivateComments,
		RestrictedAgent:     u.RestrictedAgent(),
		Signature:           text(u.Signature),
		Suspended:           u.Suspended,
		Tags:                u.Tags,
		TicketRestriction:   text(u.Restriction.String()),
		UserFields:          u.UserFields,
	}
	if u.Role == domain.Agent && u.CustomRoleID != 0 {
		custom := 0 // a custom-role agent
		full.RoleType = &custom
	}
	return full
}

// each builds the shape of every record of a list with f, one of the
// builders above (they take the request for their urls).
func each[T, J any](r *http.Request, xs []*T, f func(*http.Request, *T) J) []J {
	out := make([]J, len(xs))
	for i, x := range xs {
		out[i] = f(r, x)
	}
	return out
}

// eachHeld is each for a list held by value; f reads every record in place.
func eachHeld[T, J any](r *http.Request, xs []T, f func(*http.Request, *T) J) []J {
	out := make([]J, len(xs))
	for i := range xs {
		out[i] = f(r, &xs[i])
	}
	return out
}

type groupJSON struct {
	ID          int64  `json:"id"`
	URL         string `json:"url"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Default     bool   `json:"default"`
	Deleted     bool   `json:"deleted"`
	IsPublic    bool   `json:"is_public"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
}

func (h *Handler) group(r *http.Request, g *domain.Group) groupJSON {
	return groupJSON{
		ID: g.ID, URL: h.resourceURL(r, "groups", g.ID),
		Name: g.Name, Description: g.Description, Default: g.Default, Deleted: g.Deleted, IsPublic: g.IsPublic,
		CreatedAt: v2Time(g.CreatedAt), UpdatedAt: v2Time(g.UpdatedAt),
	}
}

type organizationJSON struct {
	ID                 int64          `json:"id"`
	URL                string         `json:"url"`
	Name               string         `json:"name"`
	Details            *string        `json:"details"`
	Notes              *string        `json:"notes"`
	ExternalID         *string        `json:"external_id"`
	DomainNames        []string       `json:"domain_names"`
	GroupID            *int64         `json:"group_id"`
	SharedTickets      bool           `json:"shared_tickets"`
	SharedComments     bool           `json:"shared_comments"`
	Tags               []string       `json:"tags"`
	OrganizationFields map[string]any `json:"organization_fields"`
	CreatedAt          string         `json:"created_at"`
	UpdatedAt          string         `json:"updated_at"`
}

func (h *Handler) organization(r *http.Request, o *domain.Organization) organizationJSON {
	return organizationJSON{
		ID: o.ID, URL: h.resourceURL(r, "organizations", o.ID),
		Name: o.Name, Details: text(o.Details), Notes: text(o.Notes), ExternalID: text(o.ExternalID),
		DomainNames: o.DomainNames, GroupID: nullID(o.GroupID), SharedTickets: o.SharedTickets,
		SharedComments: o.SharedComments, Tags: o.Tags, OrganizationFields: o.Fields,
		CreatedAt: v2Time(o.CreatedAt), UpdatedAt: v2Time(o.UpdatedAt),
	}
}

type groupMembershipJSON struct {
	ID        int64  `json:"id"`
	URL       string `json:"url"`
	UserID    int64  `json:"user_id"`
	GroupID   int64  `json:"group_id"`
	Default   bool   `json:"default"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

func (h *Handler) groupMembership(r *http.Request, m *domain.GroupMembership) groupMembershipJSON {
	return groupMembershipJSON{
		ID: m.ID, URL: h.resourceURL(r, "group_memberships", m.ID),
		UserID: m.UserID, GroupID: m.GroupID, Default: m.Default,
		CreatedAt: v2Time(m.CreatedAt), UpdatedAt: v2Time(m.UpdatedAt),
	}
}

func (h *Handler) groupMemberships(r *http.Request, ms []domain.GroupMembership) []groupMembershipJSON {
	return eachHeld(r, ms, h.groupMembership)
}

type organizationMembershipJSON struct {
	ID               int64  `json:"id"`
	URL              string `json:"url"`
	UserID           int64  `json:"user_id"`
	OrganizationID   int64  `json:"organization_id"`
	OrganizationName string `json:"organization_name"`
	Default          *bool  `json:"default"` // true or null, never false, as the spec says
	ViewTickets      bool   `json:"view_tickets"`
	CreatedAt        string `json:"created_at"`
	UpdatedAt        string `json:"updated_at"`
}

func (h *Handler) organizationMembership(r *http.Request, m *domain.OrganizationMembership) organizationMembershipJSON {
	var def *bool
	if m.Default {
		def = &m.Default
	}
	return organizationMembershipJSON{
		ID: m.ID, URL: h.resourceURL(r, "organization_memberships", m.ID),
		UserID: m.UserID, OrganizationID: m.OrganizationID, OrganizationName: m.OrganizationName,
		Default: def, ViewTickets: m.ViewTickets, CreatedAt: v2Time(m.CreatedAt), UpdatedAt: v2Time(m.UpdatedAt),
	}
}

func (h *Handler) organizationMemberships(r *http.Request, ms []domain.OrganizationMembership) []organizationMembershipJSON {
	return eachHeld(r, ms, h.organizationMembership)
}

// object is a JSON object whose keys are known only at run time, such as a
// list's key beside its paging keys. It encodes its members in key order, as
// encoding/json orders a map's keys, so its bytes are those of the map it
// replaces, without building the map or sorting its keys on every response.
type object []member

type member struct {
	key   string // plain ASCII: written without escaping
	value any
}

func (o object) sorted() object {
	slices.SortFunc(o, func(a, b member) int { return strings.Compare(a.key, b.key) })
	return o
}

// Paging keys of the two list styles; each struct's fields are in key order,
// as the maps they replace were encoded.
type cursorMeta struct {
	AfterCursor  *string `json:"after_cursor"`
	BeforeCursor *string `json:"before_cursor"`
	HasMore      bool    `json:"has_more"`
}

type cursorLinks struct {
	Next *string `json:"next"`
	Prev *string `json:"prev"`
}

// listBody is a list response: the list under its key plus the paging keys
// of the style the client asked for.
func (h *Handler) listBody(r *http.Request, key string, items any, p domain.PageInfo) object {
	if p.Cursor {
		link := func(ok bool, param, cursor string) *string {
			if !ok {
				return nil
			}
			s := h.pageLink(r, map[string]string{param: cursor}, "page[after]", "page[before]")
			return &s
		}
		return object{
			{key, items},
			{"meta", cursorMeta{AfterCursor: text(p.AfterCursor), BeforeCursor: text(p.BeforeCursor), HasMore: p.HasMore}},
			{"links", cursorLinks{
				Next: link(p.NextCursor, "page[after]", p.AfterCursor),
				Prev: link(p.PrevCursor, "page[before]", p.BeforeCursor),
			}},
		}.sorted()
	}
	page := func(ok bool, n int) *string {
		if !ok {
			return nil
		}
		s := h.pageLink(r, map[string]string{"page": strconv.Itoa(n)})
		return &s
	}
	return object{
		{key, items},
		{"next_page", page(p.HasNext, p.Number+1)},
		{"previous_page", page(p.HasPrev, p.Number-1)},
		{"count", p.Count},
	}.sorted()
}

// pageLink is the request's own absolute URL with set's parameters replaced
// and drop's removed, so links repeat the page size and the filters.
func (h *Handler) pageLink(r *http.Request, set map[string]string, drop ...string) string {
	q := r.URL.Query()
	for _, k := range drop {
		q.Del(k)
	}
	for k, v := range set {
		q.Set(k, v)
	}
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	return h.base(r) + u.String()
}
