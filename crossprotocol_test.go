package deskgate_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const crossJSONType = "application/json"

// legacyUser is a legacy <user> as a client reads it.
type legacyUser struct {
	ID          int64  `xml:"id"`
	Name        string `xml:"name"`
	Email       string `xml:"email"`
	Roles       int    `xml:"roles"`
	Restriction int    `xml:"restriction-id"`
	Active      bool   `xml:"is-active"`
	Verified    bool   `xml:"is-verified"`
	TimeZone    string `xml:"time-zone"`
	CreatedAt   string `xml:"created-at"`
	UpdatedAt   string `xml:"updated-at"`
	Groups      []struct {
		ID   int64  `xml:"id"`
		Name string `xml:"name"`
	} `xml:"groups>group"`
}

// v2User is the part of a v2 user the legacy API also shows.
type v2User struct {
	ID                int64   `json:"id"`
	Name              string  `json:"name"`
	Email             *string `json:"email"`
	Role              string  `json:"role"`
	TicketRestriction *string `json:"ticket_restriction"`
	RestrictedAgent   bool    `json:"restricted_agent"`
	Active            bool    `json:"active"`
	Verified          bool    `json:"verified"`
	TimeZone          string  `json:"time_zone"`
	IANATimeZone      string  `json:"iana_time_zone"`
	DefaultGroupID    *int64  `json:"default_group_id"`
	CreatedAt         string  `json:"created_at"`
	UpdatedAt         string  `json:"updated_at"`
}

func readLegacy(t *testing.T, r response) legacyUser {
	t.Helper()
	var u legacyUser
	if err := xml.Unmarshal(r.body, &u); err != nil {
		t.Fatalf("%v\n%s", err, r.body)
	}
	return u
}

func readV2[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("%v\n%s", err, r.body)
	}
	return v
}

func readV2User(t *testing.T, r response) v2User {
	t.Helper()
	return readV2[struct{ User v2User }](t, r).User
}

// prettyJSON is r's dump with a JSON body indented, so a golden is reviewable.
func prettyJSON(t *testing.T, r response) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, r.body, "", "  "); err != nil {
		t.Fatalf("%v\n%s", err, r.body)
	}
	b.WriteString("\n")
	r.body = b.Bytes()
	return r.dump()
}

// sideBySide renders the legacy and the v2 answers about one thing in one golden.
func sideBySide(t *testing.T, legacy, v2 response) []byte {
	t.Helper()
	return append(append(append([]byte("=== legacy\n"), legacy.dump()...), "\n=== v2\n"...), prettyJSON(t, v2)...)
}

func TestCrossProtocolAgent(t *testing.T) {
	s := newServer(t, serverOptions{})
	s.addGroups("Sales", "Billing") // after the default group, Support
	r := s.do(owner, "POST", "/users.xml", legacyXMLType, `<user>
  <email>aljohnson@yourcompany.dk</email>
  <name>Al Johnson</name>
  <roles>4</roles>
  <restriction-id>1</restriction-id>
  <time-zone>Copenhagen</time-zone>
  <is-verified>true</is-verified>
</user>
<groups>3, 2</groups>`)
	legacyWant(t, r, 201)
	id := xmlID(t, r.body)
	s.clock.Advance(3600e9)

	lr := s.do(owner, "GET", fmt.Sprintf("/users/%d.xml", id), "", "")
	vr := s.do(owner, "GET", fmt.Sprintf("/api/v2/users/%d.json", id), "", "")
	legacyWant(t, lr, 200)
	legacyWant(t, vr, 200)
	golden(t, "cross/agent.golden", sideBySide(t, lr, vr))

	l, v := readLegacy(t, lr), readV2User(t, vr)
	str := func(p *string) string {
		if p == nil {
			return "<null>"
		}
		return *p
	}
	for _, f := range []struct {
		field      string
		legacy, v2 any
		wantLegacy any
	}{
		{"id", l.ID, v.ID, id},
		{"name", l.Name, v.Name, "Al Johnson"},
		{"email", l.Email, str(v.Email), "aljohnson@yourcompany.dk"},
		{"role", l.Roles, v.Role, 4},
		{"restriction", l.Restriction, str(v.TicketRestriction), 1},
		{"active", l.Active, v.Active, true},
		{"verified", l.Verified, v.Verified, true},
		{"time zone", l.TimeZone, v.TimeZone + " " + v.IANATimeZone, "(GMT +01:00) Brussels, Copenhagen, Madrid, Paris"},
		{"created", l.CreatedAt, v.CreatedAt, "2026-05-15T18:07:57Z"},
		{"updated", l.UpdatedAt, v.UpdatedAt, "2026-05-15T18:07:57Z"},
	} {
		if f.legacy != f.wantLegacy {
			t.Errorf("legacy %s = %v, want %v", f.field, f.legacy, f.wantLegacy)
		}
		want := map[string]any{
			"id": id, "name": "Al Johnson", "email": "aljohnson@yourcompany.dk", "role": "agent",
			"restriction": "groups", "active": true, "verified": true,
			"time zone": "Copenhagen Europe/Copenhagen", "created": "2026-05-15T18:07:57Z", "updated": "2026-05-15T18:07:57Z",
		}[f.field]
		if f.v2 != want {
			t.Errorf("v2 %s = %v, want %v (legacy shows %v)", f.field, f.v2, want, f.legacy)
		}
	}
	if !v.RestrictedAgent {
		t.Error("v2 restricted_agent false for an agent with restriction 1")
	}

	// Groups: the legacy list, the v2 memberships and default_group_id agree.
	var legacyGroups []int64
	for _, g := range l.Groups {
		legacyGroups = append(legacyGroups, g.ID)
	}
	mr := s.do(owner, "GET", fmt.Sprintf("/api/v2/users/%d/group_memberships.json", id), "", "")
	legacyWant(t, mr, 200)
	golden(t, "cross/agent_group_memberships.golden", prettyJSON(t, mr))
	ms := readV2[struct {
		GroupMemberships []struct {
			UserID  int64 `json:"user_id"`
			GroupID int64 `json:"group_id"`
			Default bool  `json:"default"`
		} `json:"group_memberships"`
	}](t, mr).GroupMemberships
	var v2Groups []int64
	var defaults []int64
	for _, m := range ms {
		if m.UserID != id {
			t.Errorf("membership of user %d listed for %d", m.UserID, id)
		}
		v2Groups = append(v2Groups, m.GroupID)
		if m.Default {
			defaults = append(defaults, m.GroupID)
		}
	}
	slices.Sort(legacyGroups)
	slices.Sort(v2Groups)
	if diff := cmp.Diff([]int64{2, 3}, legacyGroups); diff != "" {
		t.Errorf("legacy groups (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(legacyGroups, v2Groups); diff != "" {
		t.Errorf("v2 memberships differ from legacy groups (-legacy +v2):\n%s", diff)
	}
	if len(defaults) != 1 || v.DefaultGroupID == nil || *v.DefaultGroupID != defaults[0] || !slices.Contains(legacyGroups, defaults[0]) {
		t.Errorf("default_group_id %v, default memberships %v", v.DefaultGroupID, defaults)
	}

	// A legacy client echoing the zone it read keeps the user in Copenhagen.
	legacyWant(t, s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", id), legacyXMLType,
		`<user><time-zone>(GMT +01:00) Brussels, Copenhagen, Madrid, Paris</time-zone></user>`), 200)
	if v := readV2User(t, s.do(owner, "GET", fmt.Sprintf("/api/v2/users/%d.json", id), "", "")); v.TimeZone != "Copenhagen" || v.IANATimeZone != "Europe/Copenhagen" {
		t.Errorf("after echoing the legacy zone: %s %s", v.TimeZone, v.IANATimeZone)
	}
}

func TestCrossProtocolCreateV2ReadLegacy(t *testing.T) {
	s := newServer(t, serverOptions{})
	vr := s.do(owner, "POST", "/api/v2/users.json", crossJSONType,
		`{"user":{"name":"Vera Two","email":"vera@example.com","role":"agent","time_zone":"Copenhagen"}}`)
	legacyWant(t, vr, 201)
	v := readV2User(t, vr)
	lr := s.do(owner, "GET", fmt.Sprintf("/users/%d.xml", v.ID), "", "")
	legacyWant(t, lr, 200)
	golden(t, "cross/create_v2_read_legacy.golden", sideBySide(t, lr, vr))
	l := readLegacy(t, lr)
	got := legacyUser{ID: l.ID, Name: l.Name, Email: l.Email, Roles: l.Roles, Restriction: l.Restriction,
		Active: l.Active, TimeZone: l.TimeZone, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt}
	want := legacyUser{ID: v.ID, Name: "Vera Two", Email: "vera@example.com", Roles: 4, Restriction: 0,
		Active: true, TimeZone: "(GMT +01:00) Brussels, Copenhagen, Madrid, Paris", CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("legacy view of a v2-created agent (-want +got):\n%s", diff)
	}
}

func TestCrossProtocolDeleteLegacyInactiveV2(t *testing.T) {
	s := newServer(t, serverOptions{})
	id := s.legacyCreate(`<user><name>Gone Soon</name><email>gone@example.com</email><roles>4</roles></user>`)
	listIDs := func() []int64 {
		t.Helper()
		r := s.do(owner, "GET", "/api/v2/users.json", "", "")
		legacyWant(t, r, 200)
		var ids []int64
		for _, u := range readV2[struct{ Users []v2User }](t, r).Users {
			ids = append(ids, u.ID)
		}
		return ids
	}
	if ids := listIDs(); !slices.Contains(ids, id) {
		t.Fatalf("v2 list %v lacks the new user %d", ids, id)
	}
	s.clock.Advance(60e9)
	lr := s.do(owner, "DELETE", fmt.Sprintf("/users/%d.xml", id), "", "")
	legacyWant(t, lr, 200)
	vr := s.do(owner, "GET", fmt.Sprintf("/api/v2/users/%d.json", id), "", "")
	legacyWant(t, vr, 200)
	golden(t, "cross/delete_legacy_read_v2.golden", sideBySide(t, lr, vr))
	if v := readV2User(t, vr); v.Active || v.UpdatedAt != "2026-05-15T18:08:57Z" {
		t.Errorf("v2 after legacy delete: active %t updated %s", v.Active, v.UpdatedAt)
	}
	if ids := listIDs(); slices.Contains(ids, id) {
		t.Errorf("v2 list %v still holds deleted user %d", ids, id)
	}
}

func TestCrossProtocolSeatLimit(t *testing.T) {
	s := newServer(t, serverOptions{seats: 2}) // the owner and one agent
	s.legacyCreate(`<user><name>Only Agent</name><roles>4</roles></user>`)
	before := s.legacyState()
	lr := s.do(owner, "POST", "/users.xml", legacyXMLType, `<user><name>Legacy Extra</name><roles>4</roles></user>`)
	vr := s.do(owner, "POST", "/api/v2/users.json", crossJSONType, `{"user":{"name":"V2 Extra","role":"agent"}}`)
	golden(t, "cross/seat_limit.golden", sideBySide(t, lr, vr))
	legacyWant(t, lr, 507)
	legacyWant(t, vr, 422)
	body := readV2[struct {
		Error   string
		Details map[string][]struct{ Error, Description string }
	}](t, vr)
	if body.Error != "RecordInvalid" || len(body.Details["role"]) == 0 || body.Details["role"][0].Error != "MaxAgentExceeded" {
		t.Errorf("v2 seat refusal: %+v", body)
	}
	if diff := cmp.Diff(before, s.legacyState()); diff != "" {
		t.Errorf("refused creates changed the store (-before +after):\n%s", diff)
	}
	if n := s.seatsTaken(); n != 2 {
		t.Errorf("%d seats taken, want 2", n)
	}
}

// TestCrossProtocolLegacyEmailUpdate: a legacy <email> replaces the address
// both APIs show.
func TestCrossProtocolLegacyEmailUpdate(t *testing.T) {
	s := newServer(t, serverOptions{})
	id := s.legacyCreate(`<user><name>Mail Mover</name><email>old@example.com</email></user>`)
	r := s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", id), legacyXMLType, `<user><email>New@Example.com</email></user>`)
	legacyWant(t, r, 200)
	if got := readLegacy(t, r).Email; got != "New@Example.com" {
		t.Errorf("legacy email after update %q", got)
	}
	v := readV2User(t, s.do(owner, "GET", fmt.Sprintf("/api/v2/users/%d.json", id), "", ""))
	if v.Email == nil || *v.Email != "New@Example.com" {
		t.Errorf("v2 email after legacy update %v", v.Email)
	}
	// The new address is taken, whatever its case.
	legacyWant(t, s.do(owner, "POST", "/users.xml", legacyXMLType, `<user><name>Copycat</name><email>new@example.COM</email></user>`), 422)
}

// TestCrossProtocolDefaultGroup: a fresh account's default group, Support,
// is there for the legacy API (which cannot create groups) to put agents in.
func TestCrossProtocolDefaultGroup(t *testing.T) {
	s := newServer(t, serverOptions{})
	r := s.do(owner, "POST", "/users.xml", legacyXMLType, `<user><name>Al Agent</name><roles>4</roles></user><groups>1</groups>`)
	legacyWant(t, r, 201)
	id := xmlID(t, r.body)
	if !strings.Contains(string(r.body), "<name>Support</name>") {
		t.Errorf("legacy create shows no Support group:\n%s", r.body)
	}
	v := readV2User(t, s.do(owner, "GET", fmt.Sprintf("/api/v2/users/%d.json", id), "", ""))
	if v.DefaultGroupID == nil || *v.DefaultGroupID != 1 {
		t.Errorf("v2 default_group_id %v, want 1", v.DefaultGroupID)
	}
	g := readV2[struct {
		Group struct {
			Name     string
			Default  bool
			IsPublic bool `json:"is_public"`
		}
	}](t, s.do(owner, "GET", "/api/v2/groups/1.json", "", ""))
	if g.Group.Name != "Support" || !g.Group.Default || !g.Group.IsPublic {
		t.Errorf("group 1 %+v, want the public default group Support", g.Group)
	}
}

// TestCrossProtocolIdentities: the legacy <email> and <is-verified> are the
// primary email identity v2 manages, in both directions.
func TestCrossProtocolIdentities(t *testing.T) {
	s := newServer(t, serverOptions{})
	id := s.legacyCreate(`<user><name>Al Mover</name><email>al@example.com</email></user>`)
	legacyShow := func() legacyUser {
		t.Helper()
		r := s.do(owner, "GET", fmt.Sprintf("/users/%d.xml", id), "", "")
		legacyWant(t, r, 200)
		return readLegacy(t, r)
	}
	primaryEmail := func() v2Identity {
		t.Helper()
		for _, i := range s.identities(owner, id) {
			if i.Type == "email" && i.Primary {
				return i
			}
		}
		t.Fatal("no primary email identity")
		return v2Identity{}
	}
	first := primaryEmail()
	if l := legacyShow(); l.Email != "al@example.com" || l.Verified {
		t.Fatalf("legacy after create: %s verified %t", l.Email, l.Verified)
	}

	// Made primary and verified in v2: the legacy <email> and <is-verified>.
	work := s.addIdentity(owner, id, `{"type":"email","value":"al.work@example.com"}`)
	v2Want(t, s.do(owner, "PUT", identityPath(id, work, "/make_primary"), "", ""), 200)
	if l := legacyShow(); l.Email != "al.work@example.com" || l.Verified {
		t.Errorf("legacy after v2 make_primary: %s verified %t", l.Email, l.Verified)
	}
	v2Want(t, s.do(owner, "PUT", identityPath(id, work, "/verify"), "", ""), 200)
	if l := legacyShow(); !l.Verified {
		t.Error("legacy is-verified after v2 verify: false")
	}

	// A legacy email change replaces the primary identity's value, unverified.
	legacyWant(t, s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", id), legacyXMLType, `<user><email>al.new@example.com</email></user>`), 200)
	if p := primaryEmail(); p.ID != work || p.Value != "al.new@example.com" || p.Verified {
		t.Errorf("primary identity after a legacy email change: %+v", p)
	}
	if l := legacyShow(); l.Verified {
		t.Error("legacy is-verified true for an address nobody verified")
	}
	// Legacy is-verified writes the primary identity's verified.
	legacyWant(t, s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", id), legacyXMLType, `<user><is-verified>true</is-verified></user>`), 200)
	if p := primaryEmail(); !p.Verified || !readV2User(t, s.do(owner, "GET", fmt.Sprintf("/api/v2/users/%d", id), "", "")).Verified {
		t.Errorf("after legacy is-verified: %+v", p)
	}
	// A legacy <email> the user already has as a secondary becomes primary.
	legacyWant(t, s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", id), legacyXMLType, `<user><email>AL@example.com</email></user>`), 200)
	if p := primaryEmail(); p.ID != first.ID || len(s.identities(owner, id)) != 2 {
		t.Errorf("after a legacy email of a secondary identity: %+v of %d", p, len(s.identities(owner, id)))
	}
	golden(t, "cross/identities.golden", sideBySide(t,
		s.do(owner, "GET", fmt.Sprintf("/users/%d.xml", id), "", ""),
		s.do(owner, "GET", fmt.Sprintf("/api/v2/users/%d/identities", id), "", "")))
}
