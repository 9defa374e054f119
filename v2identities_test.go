package deskgate_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deskgate/deskgate/domain"
)

// Identities and passwords over plain HTTP: go-zendesk (v0.18.0 and its
// master branch) has no identity or password methods.

// v2Identity is an identity as a client reads it.
type v2Identity struct {
	ID       int64  `json:"id"`
	UserID   int64  `json:"user_id"`
	Type     string `json:"type"`
	Value    string `json:"value"`
	Verified bool   `json:"verified"`
	Primary  bool   `json:"primary"`
}

// v2Member makes a user with a password through the service (the v2 API
// sets none on create) and returns it with its credentials.
func v2Member(t *testing.T, s *server, name, email string, role domain.Role, verified bool) (*domain.User, creds) {
	t.Helper()
	password := strings.ToLower(strings.Fields(name)[0]) + "-secret-1"
	u, err := s.svc.CreateUser(v2AdminCtx(), domain.UserChanges{Name: &name, Email: &email, Password: &password, Role: &role, Verified: &verified})
	if err != nil {
		t.Fatal(err)
	}
	return u, creds{email, password}
}

// identities reads a user's identities as c sees them.
func (s *server) identities(c creds, userID int64) []v2Identity {
	s.t.Helper()
	r := s.do(c, "GET", fmt.Sprintf("/api/v2/users/%d/identities.json", userID), "", "")
	v2Want(s.t, r, http.StatusOK)
	return readV2[struct{ Identities []v2Identity }](s.t, r).Identities
}

// addIdentity creates an identity as c and returns its id.
func (s *server) addIdentity(c creds, userID int64, body string) int64 {
	s.t.Helper()
	r := s.do(c, "POST", fmt.Sprintf("/api/v2/users/%d/identities", userID), crossJSONType, `{"identity":`+body+`}`)
	v2Want(s.t, r, http.StatusCreated)
	return v2ID(s.t, r, "identity")
}

func identityPath(userID, id int64, tail string) string {
	return fmt.Sprintf("/api/v2/users/%d/identities/%d%s", userID, id, tail)
}

// v2IdentityScenario runs one request per identity and password response
// shape and error body; the goldens and the schema checks read it.
func v2IdentityScenario(t *testing.T) []v2Step {
	t.Helper()
	s := newServer(t, serverOptions{adminSetPasswords: true})
	rec := &v2Recorder{s: s}
	add, admin := rec.add, rec.admin
	emma, ec := v2Member(t, s, "Emma End", "emma@example.com", domain.EndUser, true)
	ids := fmt.Sprintf("/api/v2/users/%d/identities", emma.ID)
	primary := s.identities(owner, emma.ID)[0].ID

	work := v2ID(t, admin("identity_create", "POST", ids, `{"identity":{"type":"email","value":"emma.work@example.com","skip_verify_email":true}}`), "identity")
	admin("identity_create_phone", "POST", ids, `{"identity":{"type":"phone_number","value":"+1 555-123-4567"}}`)
	tw := v2ID(t, admin("identity_create_twitter", "POST", ids, `{"identity":{"type":"twitter","value":"emma_end"}}`), "identity")
	admin("identity_list", "GET", ids, "")
	admin("identity_list_type_filter", "GET", ids+"?type[]=email&type[]=phone_number", "")
	admin("identity_list_cursor", "GET", ids+"?page[size]=2", "")
	add("identity_list_end_user", "", ec, "GET", ids+".json", "")
	admin("identity_show", "GET", identityPath(emma.ID, work, ".json"), "")
	admin("identity_update", "PUT", identityPath(emma.ID, tw, ""), `{"identity":{"value":"emma_at_home","primary":false,"verification_method":"low"}}`)
	admin("identity_verify", "PUT", identityPath(emma.ID, work, "/verify"), "")
	admin("identity_make_primary", "PUT", identityPath(emma.ID, work, "/make_primary"), "")
	admin("identity_request_verification", "PUT", identityPath(emma.ID, primary, "/request_verification"), "")
	admin("identity_delete", "DELETE", identityPath(emma.ID, tw, ""), "")
	add("user_after_make_primary", "end-user", ec, "GET", fmt.Sprintf("/api/v2/users/%d", emma.ID), "")

	add("password_requirements", "", ec, "GET", fmt.Sprintf("/api/v2/users/%d/password/requirements", emma.ID), "")
	add("password_change", "", ec, "PUT", fmt.Sprintf("/api/v2/users/%d/password", emma.ID), `{"previous_password":"emma-secret-1","password":"emma-secret-2"}`)
	ec.pass = "emma-secret-2"
	admin("password_set", "POST", fmt.Sprintf("/api/v2/users/%d/password.json", emma.ID), `{"password":"set-by-admin"}`)
	ec.pass = "set-by-admin"

	// Error bodies.
	ida, _ := v2Member(t, s, "Ida Other", "ida@example.com", domain.EndUser, false)
	idaPrimary := s.identities(owner, ida.ID)[0].ID
	admin("error_404_other_users_identity", "GET", identityPath(emma.ID, idaPrimary, ""), "")
	add("error_404_end_user_hidden_type", "", ec, "GET", identityPath(emma.ID, s.addIdentity(owner, emma.ID, `{"type":"facebook","value":"855769377321"}`), ""), "")
	admin("error_422_identity_control_char", "POST", ids, `{"identity":{"type":"email","value":"emma\u0007@example.com"}}`)
	admin("error_422_identity_zero_width", "POST", ids, `{"identity":{"type":"email","value":"em\u200bma@example.com"}}`)
	admin("error_422_identity_bad_phone", "POST", ids, `{"identity":{"type":"phone_number","value":"call me maybe"}}`)
	admin("error_422_identity_taken", "POST", ids, `{"identity":{"type":"email","value":"IDA@example.com"}}`)
	admin("error_422_identity_unknown_type", "POST", ids, `{"identity":{"type":"carrier_pigeon","value":"coo"}}`)
	admin("error_422_delete_primary_email", "DELETE", identityPath(emma.ID, work, ""), "")
	admin("error_422_delete_last_identity", "DELETE", identityPath(ida.ID, idaPrimary, ""), "")
	admin("error_400_identity_type_filter", "GET", ids+"?type[]=pager", "")
	add("error_403_end_user_creates_identity", "", ec, "POST", ids, `{"identity":{"type":"email","value":"emma.new@example.com"}}`)
	unverified := s.addIdentity(owner, emma.ID, `{"type":"email","value":"emma.old@example.com"}`)
	add("error_422_end_user_primary_unverified", "", ec, "PUT", identityPath(emma.ID, unverified, "/make_primary"), "")
	ownerSecond := s.addIdentity(owner, 1, `{"type":"email","value":"owner.second@example.com"}`)
	admin("error_403_verify_owner_email", "PUT", identityPath(1, ownerSecond, "/verify"), "")
	_, ac := v2Member(t, s, "Adam Admin", "adam@example.com", domain.Admin, true)
	add("error_403_owner_identity_by_admin", "", ac, "PUT", identityPath(1, ownerSecond, "/make_primary"), "")
	admin("error_422_password_too_short", "POST", fmt.Sprintf("/api/v2/users/%d/password", emma.ID), `{"password":"abc"}`)
	add("error_422_previous_password_wrong", "", ec, "PUT", fmt.Sprintf("/api/v2/users/%d/password", emma.ID), `{"previous_password":"guess","password":"emma-secret-3"}`)
	add("error_403_change_other_password", "", ac, "PUT", fmt.Sprintf("/api/v2/users/%d/password", emma.ID), `{"previous_password":"emma-secret-2","password":"emma-secret-3"}`)
	add("error_403_admin_sets_owner_password", "", ac, "POST", "/api/v2/users/1/password", `{"password":"taken-over"}`)

	off := newServer(t, serverOptions{})
	rec.steps = append(rec.steps, v2Step{"error_403_set_password_disabled", "",
		off.do(owner, "POST", "/api/v2/users/1/password", crossJSONType, `{"password":"new-owner-secret"}`)})
	return rec.steps
}

func TestV2IdentityGoldens(t *testing.T) {
	for _, st := range v2IdentityScenario(t) {
		golden(t, "v2identities/"+st.name+".golden", v2dump(st.r))
	}
}

// TestV2IdentityRules checks each identity rule of the seed and the notes.
func TestV2IdentityRules(t *testing.T) {
	s := newServer(t, serverOptions{})
	emma, ec := v2Member(t, s, "Emma End", "emma@example.com", domain.EndUser, true)
	nico, nc := v2Member(t, s, "Nico New", "nico@example.com", domain.EndUser, false)
	agent, gc := v2Member(t, s, "Gil Agent", "gil@example.com", domain.Agent, true)
	other, _ := v2Member(t, s, "Olga Agent", "olga@example.com", domain.Agent, true)
	_, ac := v2Member(t, s, "Adam Admin", "adam@example.com", domain.Admin, true)
	tw := s.addIdentity(owner, emma.ID, `{"type":"twitter","value":"emma_end"}`)
	phone := s.addIdentity(owner, emma.ID, `{"type":"phone_number","value":"+45 12 34 56 78"}`)

	t.Run("end users see only email and phone identities", func(t *testing.T) {
		var types []string
		for _, i := range s.identities(ec, emma.ID) {
			types = append(types, i.Type)
		}
		if !slices.Equal(types, []string{"email", "phone_number"}) {
			t.Errorf("end user sees %v", types)
		}
		v2Want(t, s.do(ec, "GET", identityPath(emma.ID, tw, ""), "", ""), http.StatusNotFound)
		v2Want(t, s.do(ec, "PUT", identityPath(emma.ID, tw, "/make_primary"), "", ""), http.StatusNotFound)
		if n := len(s.identities(owner, emma.ID)); n != 3 {
			t.Errorf("agents see %d identities, want 3", n)
		}
	})
	t.Run("cursor pages walk the whole list", func(t *testing.T) {
		var walked []int64
		next := fmt.Sprintf("/api/v2/users/%d/identities?page[size]=1", emma.ID)
		for next != "" {
			var page struct {
				Identities []v2Identity
				Meta       struct {
					HasMore bool `json:"has_more"`
				}
				Links struct{ Next *string }
			}
			v2Decode(t, s.do(owner, "GET", next, "", ""), &page)
			for _, i := range page.Identities {
				walked = append(walked, i.ID)
			}
			next = ""
			if page.Meta.HasMore {
				next = strings.TrimPrefix(*page.Links.Next, testBaseURL)
			}
		}
		var all []int64
		for _, i := range s.identities(owner, emma.ID) {
			all = append(all, i.ID)
		}
		if !slices.Equal(walked, all) {
			t.Errorf("cursor walk %v, list %v", walked, all)
		}
	})
	t.Run("the end users' paths", func(t *testing.T) {
		r := s.do(ec, "GET", fmt.Sprintf("/api/v2/end_users/%d/identities.json", emma.ID), "", "")
		v2Want(t, r, 200)
		if got := readV2[struct{ Identities []v2Identity }](t, r).Identities; !slices.Equal(got, s.identities(ec, emma.ID)) {
			t.Errorf("end_users list %+v", got)
		}
		first := s.identities(ec, emma.ID)[0].ID
		v2Want(t, s.do(ec, "GET", fmt.Sprintf("/api/v2/end_users/%d/identities/%d", emma.ID, first), "", ""), 200)
		v2Want(t, s.do(ec, "GET", fmt.Sprintf("/api/v2/end_users/%d/identities/%d", emma.ID, tw), "", ""), 404)
		v2Want(t, s.do(ec, "PUT", fmt.Sprintf("/api/v2/end_users/%d/identities/%d/make_primary", emma.ID, first), "", ""), 200)
	})
	t.Run("only verified end users, only their own", func(t *testing.T) {
		v2Want(t, s.do(nc, "GET", fmt.Sprintf("/api/v2/users/%d/identities", nico.ID), "", ""), http.StatusForbidden)
		v2Want(t, s.do(ec, "GET", fmt.Sprintf("/api/v2/users/%d/identities", nico.ID), "", ""), http.StatusForbidden)
		v2Want(t, s.do(ec, "POST", fmt.Sprintf("/api/v2/users/%d/identities", emma.ID), crossJSONType,
			`{"identity":{"type":"email","value":"emma2@example.com"}}`), http.StatusForbidden)
	})
	t.Run("an end user makes only a verified email primary", func(t *testing.T) {
		old := s.addIdentity(owner, emma.ID, `{"type":"email","value":"emma.old@example.com"}`)
		v2Want(t, s.do(ec, "PUT", identityPath(emma.ID, old, "/make_primary"), "", ""), 422)
		v2Want(t, s.do(owner, "PUT", identityPath(emma.ID, old, "/verify"), "", ""), 200)
		r := s.do(ec, "PUT", identityPath(emma.ID, old, "/make_primary"), "", "")
		v2Want(t, r, 200)
		if got := readV2User(t, s.do(owner, "GET", fmt.Sprintf("/api/v2/users/%d", emma.ID), "", "")).Email; got == nil || *got != "emma.old@example.com" {
			t.Errorf("email after make_primary %v", got)
		}
		// The old address still signs in: it is a secondary identity now.
		v2Want(t, s.do(ec, "GET", "/api/v2/users/me", "", ""), 200)
	})
	t.Run("one primary per type", func(t *testing.T) {
		second := s.addIdentity(owner, emma.ID, `{"type":"phone_number","value":"+45 87 65 43 21","primary":true}`)
		primaries := map[string][]int64{}
		for _, i := range s.identities(owner, emma.ID) {
			if i.Primary {
				primaries[i.Type] = append(primaries[i.Type], i.ID)
			}
		}
		if len(primaries["email"]) != 1 || !slices.Equal(primaries["phone_number"], []int64{second}) || len(primaries["twitter"]) != 1 {
			t.Errorf("primaries %v", primaries)
		}
		if p := s.userPhone(emma.ID); p != "+45 87 65 43 21" {
			t.Errorf("phone %q after a new primary phone identity", p)
		}
		r := s.do(owner, "PUT", identityPath(emma.ID, phone, "/make_primary"), "", "")
		v2Want(t, r, 200)
		list := readV2[struct{ Identities []v2Identity }](t, r).Identities
		if len(list) != 5 || s.userPhone(emma.ID) != "+45 12 34 56 78" {
			t.Errorf("make_primary answered %d identities; phone %q", len(list), s.userPhone(emma.ID))
		}
		// Deleting the primary phone hands over to the one left.
		v2Want(t, s.do(owner, "DELETE", identityPath(emma.ID, phone, ""), "", ""), 204)
		if p := s.userPhone(emma.ID); p != "+45 87 65 43 21" {
			t.Errorf("phone %q after its identity was deleted", p)
		}
	})
	t.Run("update never changes primary", func(t *testing.T) {
		r := s.do(owner, "PUT", identityPath(emma.ID, tw, ""), crossJSONType, `{"identity":{"primary":false,"verified":true}}`)
		v2Want(t, r, 200)
		if i := readV2[struct{ Identity v2Identity }](t, r).Identity; !i.Primary || !i.Verified {
			t.Errorf("after update %+v", i)
		}
	})
	t.Run("a new value is unverified", func(t *testing.T) {
		r := s.do(owner, "PUT", identityPath(emma.ID, tw, ""), crossJSONType, `{"identity":{"value":"emma_new"}}`)
		v2Want(t, r, 200)
		if i := readV2[struct{ Identity v2Identity }](t, r).Identity; i.Value != "emma_new" || i.Verified {
			t.Errorf("after value change %+v", i)
		}
	})
	t.Run("an address belongs to one user", func(t *testing.T) {
		for _, v := range []string{"NICO@example.com", "emma@EXAMPLE.com"} {
			r := s.do(owner, "POST", fmt.Sprintf("/api/v2/users/%d/identities", agent.ID), crossJSONType, `{"identity":{"type":"email","value":"`+v+`"}}`)
			v2Want(t, r, 422)
		}
		v2Want(t, s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d", agent.ID), crossJSONType, `{"user":{"phone":"+45 87 65 43 21"}}`), 422)
	})
	t.Run("agents manage end users and themselves", func(t *testing.T) {
		v2Want(t, s.do(gc, "POST", fmt.Sprintf("/api/v2/users/%d/identities", emma.ID), crossJSONType, `{"identity":{"type":"google","value":"emma@gmail.com"}}`), 201)
		v2Want(t, s.do(gc, "POST", fmt.Sprintf("/api/v2/users/%d/identities", agent.ID), crossJSONType, `{"identity":{"type":"twitter","value":"gil"}}`), 201)
		v2Want(t, s.do(gc, "POST", fmt.Sprintf("/api/v2/users/%d/identities", other.ID), crossJSONType, `{"identity":{"type":"twitter","value":"olga"}}`), 403)
		if n := len(s.identities(gc, other.ID)); n != 1 {
			t.Errorf("agent reads %d of another agent's identities", n)
		}
	})
	t.Run("only the owner changes the owner's identities", func(t *testing.T) {
		r := s.do(ac, "POST", "/api/v2/users/1/identities", crossJSONType, `{"identity":{"type":"email","value":"evil@example.com"}}`)
		v2Want(t, r, 403)
		own := s.identities(owner, 1)[0].ID
		for _, tail := range []string{"", "/make_primary", "/verify", "/request_verification"} {
			v2Want(t, s.do(ac, "PUT", identityPath(1, own, tail), crossJSONType, `{"identity":{"value":"evil@example.com"}}`), 403)
		}
		v2Want(t, s.do(ac, "DELETE", identityPath(1, own, ""), "", ""), 403)
		// Nor through a user update, in either API.
		v2Want(t, s.do(ac, "PUT", "/api/v2/users/1", crossJSONType, `{"user":{"email":"evil@example.com"}}`), 403)
		v2Want(t, s.do(ac, "PUT", "/api/v2/users/1", crossJSONType, `{"user":{"phone":"+1 555 666 7777"}}`), 403)
		r = s.do(ac, "PUT", "/users/1.xml", legacyXMLType, `<user><email>evil@example.com</email></user>`)
		legacyWant(t, r, 403)
		golden(t, "legacy/error_403_owner_email_by_admin.golden", r.dump())
		if n := len(s.identities(owner, 1)); n != 1 {
			t.Errorf("the owner has %d identities after refused changes", n)
		}
		second := s.addIdentity(owner, 1, `{"type":"email","value":"owner.two@example.com"}`)
		v2Want(t, s.do(owner, "PUT", identityPath(1, second, "/verify"), "", ""), 403)
		v2Want(t, s.do(owner, "PUT", identityPath(1, second, ""), crossJSONType, `{"identity":{"verified":true}}`), 403)
		v2Want(t, s.do(owner, "PUT", identityPath(1, second, "/make_primary"), "", ""), 200)
		if got := readV2User(t, s.do(owner, "GET", "/api/v2/users/1", "", "")).Email; *got != "owner.two@example.com" {
			t.Errorf("owner email %s", *got)
		}
	})
	t.Run("deletion keeps one identity and the primary email", func(t *testing.T) {
		list := s.identities(owner, nico.ID)
		v2Want(t, s.do(owner, "DELETE", identityPath(nico.ID, list[0].ID, ""), "", ""), 422)
		extra := s.addIdentity(owner, nico.ID, `{"type":"twitter","value":"nico"}`)
		v2Want(t, s.do(owner, "DELETE", identityPath(nico.ID, list[0].ID, ""), "", ""), 422)
		v2Want(t, s.do(owner, "DELETE", identityPath(nico.ID, extra, ""), "", ""), 204)
		v2Want(t, s.do(owner, "DELETE", identityPath(nico.ID, extra, ""), "", ""), 404)
	})
	t.Run("an address signs in while it is an identity", func(t *testing.T) {
		alias := s.addIdentity(owner, nico.ID, `{"type":"email","value":"nico.alias@example.com"}`)
		as := creds{"nico.alias@example.com", nc.pass}
		v2Want(t, s.do(as, "GET", "/api/v2/users/me", "", ""), 200) // now cached
		v2Want(t, s.do(owner, "DELETE", identityPath(nico.ID, alias, ""), "", ""), 204)
		if r := s.do(as, "GET", fmt.Sprintf("/api/v2/users/%d", nico.ID), "", ""); r.status != 401 {
			t.Errorf("a deleted address still signs in: %d", r.status)
		}
	})
	t.Run("only email identities are verified by mail", func(t *testing.T) {
		v2Want(t, s.do(owner, "PUT", identityPath(emma.ID, tw, "/request_verification"), "", ""), 422)
	})
	t.Run("another user's identity id is a 404", func(t *testing.T) {
		foreign := s.identities(owner, nico.ID)[0].ID
		for _, tc := range []struct{ method, tail, body string }{
			{"GET", "", ""}, {"PUT", "", `{"identity":{"value":"x@example.com"}}`}, {"DELETE", "", ""},
			{"PUT", "/make_primary", ""}, {"PUT", "/verify", ""}, {"PUT", "/request_verification", ""},
		} {
			r := s.do(owner, tc.method, identityPath(emma.ID, foreign, tc.tail), crossJSONType, tc.body)
			if r.status != 404 || string(r.body) != `{"error":"RecordNotFound","description":"Not found"}` {
				t.Errorf("%s %s: %d %s", tc.method, tc.tail, r.status, r.body)
			}
		}
		if got := s.identities(owner, nico.ID)[0]; got.Value != "nico@example.com" || got.Verified {
			t.Errorf("foreign identity changed: %+v", got)
		}
	})
	t.Run("hostile values", func(t *testing.T) {
		path := fmt.Sprintf("/api/v2/users/%d/identities", emma.ID)
		before := s.identities(owner, emma.ID)
		for _, body := range []string{
			`{"type":"email","value":"a\u0000b@example.com"}`,
			`{"type":"email","value":"ab\u200d@example.com"}`,
			`{"type":"email","value":"ab@exa\u202emple.com"}`,
			`{"type":"email","value":"Emma <emma3@example.com>"}`,
			`{"type":"google","value":"not-an-address"}`,
			`{"type":"phone_number","value":"+1 555 0100\u200b"}`,
			`{"type":"phone_number","value":"12345"}`,
			`{"type":"phone_number","value":"555+1234567"}`,
			`{"type":"agent_forwarding","value":"1234567890123456"}`,
			`{"type":"twitter","value":"way_too_long_for_twitter"}`,
			`{"type":"facebook","value":"12ab"}`,
			`{"type":"email","value":"   "}`,
			`{"type":"sdk","value":"device"}`,
		} {
			r := s.do(owner, "POST", path, crossJSONType, `{"identity":`+body+`}`)
			if r.status != 422 {
				t.Errorf("%s: %d %s", body, r.status, r.body)
			}
		}
		for _, body := range []string{`{"identity":{"type":7}}`, `{"identity":"email"}`, `{"identity":null}`, `[]`} {
			if r := s.do(owner, "POST", path, crossJSONType, body); r.status != 400 {
				t.Errorf("%s: %d %s", body, r.status, r.body)
			}
		}
		if after := s.identities(owner, emma.ID); len(after) != len(before) {
			t.Errorf("refused creates wrote identities: %d, then %d", len(before), len(after))
		}
	})
}

// userPhone is the phone v2 shows for the user.
func (s *server) userPhone(id int64) string {
	s.t.Helper()
	var body struct{ User struct{ Phone *string } }
	v2Decode(s.t, s.do(owner, "GET", fmt.Sprintf("/api/v2/users/%d", id), "", ""), &body)
	if body.User.Phone == nil {
		return ""
	}
	return *body.User.Phone
}

// TestV2UserPhone: a user's phone is its primary phone identity, except a
// shared number, which is nobody's identity.
func TestV2UserPhone(t *testing.T) {
	s := newServer(t, serverOptions{})
	r := s.do(owner, "POST", "/api/v2/users", crossJSONType, `{"user":{"name":"Pia Phone","phone":"+45 11 22 33 44"}}`)
	v2Want(t, r, 201)
	pia := v2ID(t, r, "user")
	list := s.identities(owner, pia)
	if len(list) != 1 || list[0].Type != "phone_number" || !list[0].Primary || list[0].Value != "+45 11 22 33 44" {
		t.Fatalf("identities of a user created with a phone: %+v", list)
	}
	v2Want(t, s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d", pia), crossJSONType, `{"user":{"phone":"+45 55 66 77 88"}}`), 200)
	if list := s.identities(owner, pia); len(list) != 1 || list[0].Value != "+45 55 66 77 88" || s.userPhone(pia) != "+45 55 66 77 88" {
		t.Errorf("after a phone update: %+v, phone %q", list, s.userPhone(pia))
	}
	v2Want(t, s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d", pia), crossJSONType, `{"user":{"phone":""}}`), 200)
	if list := s.identities(owner, pia); len(list) != 1 || list[0].Primary || s.userPhone(pia) != "" {
		t.Errorf("after clearing the phone: %+v, phone %q", list, s.userPhone(pia))
	}
	v2Want(t, s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d", pia), crossJSONType, `{"user":{"phone":"+1 555"}}`), 422)
	// A shared number: two users, no identity.
	for _, name := range []string{"Sam Shared", "Sue Shared"} {
		r := s.do(owner, "POST", "/api/v2/users", crossJSONType, `{"user":{"name":"`+name+`","phone":"+45 99 99 99 99","shared_phone_number":true}}`)
		v2Want(t, r, 201)
		id := v2ID(t, r, "user")
		if n := len(s.identities(owner, id)); n != 0 || s.userPhone(id) != "+45 99 99 99 99" {
			t.Errorf("%s: %d identities, phone %q", name, n, s.userPhone(id))
		}
	}
}

// TestV2Passwords: the policy, who may set and change passwords, and that a
// change counts from the next request although credentials are cached.
func TestV2Passwords(t *testing.T) {
	s := newServer(t, serverOptions{adminSetPasswords: true})
	emma, ec := v2Member(t, s, "Emma End", "emma@example.com", domain.EndUser, true)
	agent, gc := v2Member(t, s, "Gil Agent", "gil@example.com", domain.Agent, true)
	path := fmt.Sprintf("/api/v2/users/%d/password", emma.ID)
	me := func(c creds) int { return s.do(c, "GET", fmt.Sprintf("/api/v2/users/%d", emma.ID), "", "").status }

	r := s.do(ec, "GET", path+"/requirements", "", "")
	v2Want(t, r, 200)
	reqs := readV2[struct{ Requirements []string }](t, r).Requirements
	for _, tc := range []struct {
		password, rule string
	}{
		{"abcd", "must be at least 5 characters"},
		{strings.Repeat("x", 129), "must be at most 128 characters"},
		{"EMMA@example.com", "must be different from email address"},
	} {
		if !slices.Contains(reqs, tc.rule) {
			t.Errorf("requirements %q lack %q", reqs, tc.rule)
		}
		r := s.do(ec, "PUT", path, crossJSONType, fmt.Sprintf(`{"previous_password":%q,"password":%q}`, ec.pass, tc.password))
		v2Want(t, r, 422)
		if !strings.Contains(string(r.body), "Password: "+tc.rule) {
			t.Errorf("%q: %s", tc.password, r.body)
		}
	}
	if len(reqs) != 3 {
		t.Errorf("requirements %q: every rule is listed, and only those", reqs)
	}

	v2Want(t, s.do(ec, "GET", fmt.Sprintf("/api/v2/users/%d/password/requirements", agent.ID), "", ""), 403)
	v2Want(t, s.do(gc, "GET", path+"/requirements", "", ""), 200)

	// Change one's own: the old password stops working at once, though it was cached.
	for range 2 { // the second sign-in is answered from the credential cache
		if me(ec) != 200 {
			t.Fatal("emma cannot sign in")
		}
	}
	v2Want(t, s.do(gc, "PUT", path, crossJSONType, `{"previous_password":"emma-secret-1","password":"hijacked"}`), 403)
	v2Want(t, s.do(ec, "PUT", path, crossJSONType, `{"previous_password":"emma-secret-1","password":"emma-secret-2"}`), 200)
	if me(ec) != 401 {
		t.Error("the old password still signs in after a change")
	}
	ec.pass = "emma-secret-2"
	if me(ec) != 200 {
		t.Error("the new password does not sign in")
	}

	// Wrong previous passwords count as failed sign-ins: past the limit even
	// the right one waits.
	wrong := 0
	for ; wrong < 20; wrong++ {
		r := s.do(ec, "PUT", path, crossJSONType, `{"previous_password":"guess","password":"emma-secret-9"}`)
		if r.status == http.StatusTooManyRequests {
			break
		}
		v2Want(t, r, 422)
	}
	if wrong == 20 {
		t.Fatal("wrong previous passwords are never limited")
	}
	v2Want(t, s.do(ec, "PUT", path, crossJSONType, `{"previous_password":"emma-secret-2","password":"emma-secret-9"}`), http.StatusTooManyRequests)
	s.clock.Advance(time.Hour)
	v2Want(t, s.do(ec, "GET", fmt.Sprintf("/api/v2/users/%d", emma.ID), "", ""), 200)

	// Set by an admin; an agent may not.
	v2Want(t, s.do(gc, "POST", path, crossJSONType, `{"password":"by-an-agent"}`), 403)
	v2Want(t, s.do(owner, "POST", path, crossJSONType, `{"password":"by-the-owner"}`), 200)
	if me(ec) != 401 || me(creds{ec.user, "by-the-owner"}) != 200 {
		t.Error("a password set by an admin does not replace the old one")
	}
	for _, body := range []string{`{"password":7}`, `"secret"`, `{"password":`} {
		if r := s.do(owner, "POST", path, crossJSONType, body); r.status != 400 {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
	// No password or hash in any answer.
	for _, r := range []response{
		s.do(owner, "GET", fmt.Sprintf("/api/v2/users/%d", emma.ID), "", ""),
		s.do(owner, "POST", path, crossJSONType, `{"password":"x"}`),
	} {
		if b := string(r.body); strings.Contains(b, "argon2") || strings.Contains(b, "by-the-owner") || strings.Contains(b, `"x"`) {
			t.Errorf("a secret in %s", b)
		}
	}
}

// TestV2CreateWithIdentities: a v2 create's identities list (create only).
func TestV2CreateWithIdentities(t *testing.T) {
	s := newServer(t, serverOptions{})
	r := s.do(owner, "POST", "/api/v2/users", crossJSONType, `{"user":{"name":"Iris Many","email":"iris@example.com",
		"identities":[{"type":"email","value":"iris.work@example.com"},{"type":"twitter","value":"iris"},{"type":"phone_number","value":"+45 10 20 30 40"}]}}`)
	v2Want(t, r, 201)
	id := v2ID(t, r, "user")
	var got []string
	for _, i := range s.identities(owner, id) {
		got = append(got, fmt.Sprintf("%s %s %t", i.Type, i.Value, i.Primary))
	}
	want := []string{"email iris@example.com true", "email iris.work@example.com false", "twitter iris true", "phone_number +45 10 20 30 40 true"}
	if !slices.Equal(got, want) {
		t.Errorf("identities %q, want %q", got, want)
	}
	if p := s.userPhone(id); p != "+45 10 20 30 40" {
		t.Errorf("phone %q", p)
	}
	before := len(s.identities(owner, id))
	for _, body := range []string{
		`{"user":{"name":"Twice","email":"twice@example.com","identities":[{"type":"email","value":"TWICE@example.com"}]}}`,
		`{"user":{"name":"Taken","identities":[{"type":"twitter","value":"IRIS"}]}}`,
		`{"user":{"name":"Bad","identities":[{"type":"email","value":"bad\u200b@example.com"}]}}`,
		`{"user":{"name":"Odd","identities":[{"type":"pager","value":"1"}]}}`,
	} {
		if r := s.do(owner, "POST", "/api/v2/users", crossJSONType, body); r.status != 422 || !strings.Contains(string(r.body), `"identities"`) {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
	// An update ignores the list.
	v2Want(t, s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d", id), crossJSONType, `{"user":{"identities":[{"type":"twitter","value":"iris2"}]}}`), 200)
	if n := len(s.identities(owner, id)); n != before {
		t.Errorf("%d identities after an update with identities, want %d", n, before)
	}
}

// TestSideloadedIdentitiesFollowTheirRule: ?include=identities shows what the
// identities endpoints would: an end user's own only once verified.
func TestSideloadedIdentitiesFollowTheirRule(t *testing.T) {
	s := newServer(t, serverOptions{})
	unverified := creds{"una@example.com", "una-secret-1"}
	unaID := s.addUser("Una Unverified", unverified.user, domain.EndUser, unverified.pass)
	verified := creds{"vera@example.com", "vera-secret-1"}
	veraID := v2EndUser(t, s, "Vera Verified", verified.user, verified.pass).ID
	sideloaded := func(c creds, id int64) []string {
		t.Helper()
		r := s.do(c, "GET", fmt.Sprintf("/api/v2/users/%d?include=identities", id), "", "")
		v2Want(t, r, http.StatusOK)
		var body struct{ Identities []struct{ Value string } }
		v2Decode(t, r, &body)
		var values []string
		for _, i := range body.Identities {
			values = append(values, i.Value)
		}
		return values
	}
	v2Want(t, s.do(unverified, "GET", fmt.Sprintf("/api/v2/users/%d/identities", unaID), "", ""), http.StatusForbidden)
	if got := sideloaded(unverified, unaID); len(got) != 0 {
		t.Errorf("an unverified end user's sideload shows %v, which its identities endpoint refuses", got)
	}
	if got := sideloaded(verified, veraID); !slices.Equal(got, []string{verified.user}) {
		t.Errorf("a verified end user's sideload: %v", got)
	}
	if got := sideloaded(owner, unaID); !slices.Equal(got, []string{unverified.user}) {
		t.Errorf("an admin's sideload of the unverified user: %v", got)
	}
}
