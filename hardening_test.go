package deskgate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/deskgate/deskgate/domain"
	"github.com/google/go-cmp/cmp"
)

// Regression tests for issue 7's input defects, each through the real
// handler, each with a table of hostile values rather than one example.

// legacyNames lists the user names of a legacy list response.
func legacyNames(t *testing.T, r response) []string {
	t.Helper()
	legacyWant(t, r, http.StatusOK)
	var out []string
	for _, m := range regexp.MustCompile(`<user>\s*(?:<[^n][^>]*>[^<]*</[^>]*>\s*)*<name>([^<]*)</name>`).FindAllSubmatch(r.body, -1) {
		var s string
		if err := xml.Unmarshal([]byte("<n>"+string(m[1])+"</n>"), &s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestSearchMatchesLiterally: a legacy query is text, never a pattern. A
// NUL byte once cut the pattern short and listed every user; %, _ and \
// are LIKE wildcards and escapes. Every query here must find exactly the
// users whose name holds it, ASCII case folded.
func TestSearchMatchesLiterally(t *testing.T) {
	s := newServer(t, serverOptions{})
	for _, name := range []string{"100% Sure", "snake_case Sam", `Back\slash Bo`, "O'Brien", "Plain Person", "Zoë Ünal"} {
		s.addUser(name, "", domain.EndUser, "")
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"\x00", nil},
		{"%00", nil}, // the three characters, not a NUL
		{"a\x00", nil},
		{"\x00%", nil},
		{"%", []string{"100% Sure"}},
		{"%%", nil},
		{"_", []string{"snake_case Sam"}},
		{"e_c", []string{"snake_case Sam"}},
		{"s_m", nil},
		{`\`, []string{`Back\slash Bo`}},
		{`\%`, nil},
		{`k\s`, []string{`Back\slash Bo`}},
		{"'", []string{"O'Brien"}},
		{"' OR 1=1 --", nil},
		{"\x01", nil},
		{"n\tS", nil},
		{"\u200b", nil},
		{"*", nil},
		{"[a-z]", nil},
		{"PLAIN", []string{"Plain Person"}},
		{"zoë", []string{"Zoë Ünal"}},
		{"on", []string{"Plain Person"}},
	} {
		t.Run(fmt.Sprintf("%q", tc.query), func(t *testing.T) {
			got := legacyNames(t, s.do(owner, "GET", "/users.xml?query="+url.QueryEscape(tc.query), "", ""))
			if !slices.Equal(got, tc.want) {
				t.Errorf("query %q found %q, want %q", tc.query, got, tc.want)
			}
		})
	}
}

// hostileText are values the one text rule refuses in every field: control
// characters and invisible formatting characters.
var hostileText = []struct{ name, value string }{
	{"zero-width space", "Ann\u200bSmith"},
	{"zero-width joiner at the end", "Ann Smith\u200d"},
	{"right-to-left override", "Ann\u202eSmith"},
	{"left-to-right isolate", "Ann\u2066Smith\u2069"},
	{"byte-order mark", "\ufeffAnn"},
	{"word joiner", "Ann\u2060Smith"},
	{"soft hyphen", "Ann\u00adSmith"},
	{"Arabic letter mark", "Ann\u061cSmith"},
	{"tag character", "Ann\U000E0041"},
	{"line separator", "Ann\u2028Smith"},
	{"next line (C1 control)", "Ann\u0085Smith"},
	{"private use", "Ann\ue000Smith"},
	{"Hangul filler", "Ann\u3164Smith"},
	{"replacement character", "Ann\ufffdSmith"},
	{"unassigned", "Ann\U000E0080"},
	{"noncharacter", "Ann\ufdd0"},
}

// hostileLine are refused in one-line fields but not in notes.
var hostileLine = []struct{ name, value string }{
	{"newline", "Ann\nSmith"},
	{"tab", "Ann\tSmith"},
}

// jsonString is s as a JSON string literal.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// xmlText is s escaped for XML character data.
func xmlText(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// TestTextRule: one rule in the domain decides what text may be stored, for
// every text field of users, groups and organizations, on both protocols.
func TestTextRule(t *testing.T) {
	s := newServer(t, serverOptions{})
	user := s.addUser("Target User", "target@example.com", domain.Agent, "")
	group := s.addGroups("Target Group")[0]
	org, err := s.svc.CreateOrganization(v2AdminCtx(), domain.OrganizationChanges{Name: ptr("Target Org")})
	if err != nil {
		t.Fatal(err)
	}
	s.do(owner, "GET", "/users/1.xml", "", "") // the owner's first sign-in, recorded before any snapshot
	type field struct {
		name     string
		multi    bool // a multi-line field: newlines and tabs allowed
		list     bool // a tag list: any white space separates tags, as the real service splits them
		protocol string
		method   string
		path     string
		body     func(v string) string
	}
	v2User := func(key string) func(string) string {
		return func(v string) string { return `{"user":{"name":"X","` + key + `":` + jsonString(v) + `}}` }
	}
	fields := []field{
		{"legacy create name", false, false, "legacy", "POST", "/users.xml", func(v string) string { return "<user><name>" + xmlText(v) + "</name></user>" }},
		{"legacy update name", false, false, "legacy", "PUT", fmt.Sprintf("/users/%d.xml", user), func(v string) string { return "<user><name>" + xmlText(v) + "</name></user>" }},
		{"legacy email", false, false, "legacy", "POST", "/users.xml", func(v string) string {
			return "<user><name>X</name><email>" + xmlText(strings.ReplaceAll(v, "Ann", "ann@")+".example.com") + "</email></user>"
		}},
		{"v2 user name", false, false, "v2", "POST", "/api/v2/users", func(v string) string { return `{"user":{"name":` + jsonString(v) + `}}` }},
		{"v2 user email", false, false, "v2", "POST", "/api/v2/users", func(v string) string {
			return `{"user":{"name":"X","email":` + jsonString(strings.ReplaceAll(v, "Ann", "ann@")+".example.com") + `}}`
		}},
		{"v2 user alias", false, false, "v2", "PUT", fmt.Sprintf("/api/v2/users/%d", user), v2User("alias")},
		{"v2 user phone", false, false, "v2", "PUT", fmt.Sprintf("/api/v2/users/%d", user), v2User("phone")},
		{"v2 user external_id", false, false, "v2", "PUT", fmt.Sprintf("/api/v2/users/%d", user), v2User("external_id")},
		{"v2 user notes", true, false, "v2", "PUT", fmt.Sprintf("/api/v2/users/%d", user), v2User("notes")},
		{"v2 user details", true, false, "v2", "PUT", fmt.Sprintf("/api/v2/users/%d", user), v2User("details")},
		{"v2 user signature", true, false, "v2", "PUT", fmt.Sprintf("/api/v2/users/%d", user), v2User("signature")},
		{"v2 user tags", false, true, "v2", "PUT", fmt.Sprintf("/api/v2/users/%d", user), func(v string) string { return `{"user":{"tags":[` + jsonString(v) + `]}}` }},
		{"v2 user field value", true, false, "v2", "PUT", fmt.Sprintf("/api/v2/users/%d", user), func(v string) string { return `{"user":{"user_fields":{"f":` + jsonString(v) + `}}}` }},
		{"v2 user field in a list", true, false, "v2", "PUT", fmt.Sprintf("/api/v2/users/%d", user), func(v string) string { return `{"user":{"user_fields":{"f":["ok",` + jsonString(v) + `]}}}` }},
		{"v2 user field key", false, false, "v2", "PUT", fmt.Sprintf("/api/v2/users/%d", user), func(v string) string { return `{"user":{"user_fields":{` + jsonString(v) + `:"x"}}}` }},
		{"v2 group name", false, false, "v2", "PUT", fmt.Sprintf("/api/v2/groups/%d", group), func(v string) string { return `{"group":{"name":` + jsonString(v) + `}}` }},
		{"v2 group description", true, false, "v2", "POST", "/api/v2/groups", func(v string) string { return `{"group":{"name":"G","description":` + jsonString(v) + `}}` }},
		{"v2 organization name", false, false, "v2", "POST", "/api/v2/organizations", func(v string) string { return `{"organization":{"name":` + jsonString(v) + `}}` }},
		{"v2 organization details", true, false, "v2", "PUT", fmt.Sprintf("/api/v2/organizations/%d", org.ID), func(v string) string { return `{"organization":{"details":` + jsonString(v) + `}}` }},
		{"v2 organization domain", false, true, "v2", "PUT", fmt.Sprintf("/api/v2/organizations/%d", org.ID), func(v string) string { return `{"organization":{"domain_names":[` + jsonString(v) + `]}}` }},
	}
	named := func(name string) field {
		i := slices.IndexFunc(fields, func(f field) bool { return f.name == name })
		return fields[i]
	}
	refused := func(t *testing.T, f field, value string) response {
		t.Helper()
		ct := "application/json"
		if f.protocol == "legacy" {
			ct = legacyXMLType
		}
		before := s.v2Snapshot()
		r := s.do(owner, f.method, f.path, ct, f.body(value))
		ok := f.protocol == "v2" && isV2Error(r.body) || f.protocol == "legacy" && bytes.Contains(r.body, []byte("<errors>"))
		if r.status != http.StatusUnprocessableEntity && r.status != http.StatusBadRequest || !ok {
			t.Errorf("%q: %d %s", value, r.status, r.body)
		}
		if after := s.v2Snapshot(); after != before {
			t.Errorf("%q was written:\n%s", value, cmp.Diff(before, after))
		}
		return r
	}
	for _, f := range fields {
		t.Run(f.name, func(t *testing.T) {
			for _, h := range hostileText {
				if !f.list || !strings.ContainsFunc(h.value, unicode.IsSpace) {
					refused(t, f, h.value)
				}
			}
			for _, h := range hostileLine {
				if !f.multi && !f.list {
					refused(t, f, h.value)
				}
			}
		})
	}
	golden(t, "legacy/error_422_invisible_character.golden", refused(t, named("legacy create name"), "Ann\u202eSmith").dump())
	golden(t, "v2/error_422_invisible_character.golden", v2dump(refused(t, named("v2 user email"), "Ann\u200bSmith")))

	t.Run("length caps", func(t *testing.T) {
		long := strings.Repeat("é", 256) // 256 characters, 512 bytes
		refused(t, named("legacy create name"), long)
		refused(t, named("v2 user name"), long)
		refused(t, named("v2 group name"), long)
		refused(t, named("v2 organization name"), long)
		refused(t, named("v2 user external_id"), long)
		refused(t, named("v2 user notes"), strings.Repeat("n", 64<<10+1))
		refused(t, named("v2 user email"), strings.Repeat("a", 250)+"Ann") // an email of 254+ bytes
		v2Want(t, s.do(owner, "POST", "/api/v2/users", "application/json", `{"user":{"name":"`+long[2:]+`"}}`), http.StatusCreated)
	})

	t.Run("what people write is kept", func(t *testing.T) {
		for _, name := range []string{
			"محمد\u200cرضا",                  // Persian: a zero-width non-joiner between two letters
			"Ana \U0001F469\u200d\U0001F4BB", // an emoji sequence joined by a zero-width joiner
			"Zoë Ünal-李小龍",
			"Åsa\u00a0Öberg", // a no-break space
		} {
			r := s.do(owner, "POST", "/users.xml", legacyXMLType, "<user><name>"+xmlText(name)+"</name></user>")
			legacyWant(t, r, http.StatusCreated)
			if got := readLegacy(t, r).Name; got != name {
				t.Errorf("legacy kept %q as %q", name, got)
			}
			r = s.do(owner, "POST", "/api/v2/users", "application/json", `{"user":{"name":`+jsonString(name)+`,"notes":"line one\n\tline two"}}`)
			v2Want(t, r, http.StatusCreated)
			var got struct{ User struct{ Name, Notes string } }
			v2Decode(t, r, &got)
			if got.User.Name != name || got.User.Notes != "line one\n\tline two" {
				t.Errorf("v2 kept %q as %q, notes %q", name, got.User.Name, got.User.Notes)
			}
		}
	})
}

// TestOwnerProtection: nobody but the owner changes the owner's password,
// email or identities; nobody, the owner included, deletes, deactivates,
// suspends or re-roles the owner; on both protocols, and nothing is written.
// refusedUnwritten sends a request of either API that must be refused with
// a 403 and write nothing, and compares the answer with goldenFile unless
// that is "".
func (s *server) refusedUnwritten(t *testing.T, c creds, method, path, body, goldenFile string) response {
	t.Helper()
	ct := legacyXMLType
	if strings.HasPrefix(path, "/api/v2/") {
		ct = "application/json"
	}
	before := s.v2Snapshot()
	r := s.do(c, method, path, ct, body)
	if r.status != http.StatusForbidden {
		t.Errorf("%s %s: %d %s", method, path, r.status, r.body)
	}
	if after := s.v2Snapshot(); after != before {
		t.Errorf("written:\n%s", cmp.Diff(before, after))
	}
	switch {
	case goldenFile == "":
	case ct == legacyXMLType:
		golden(t, goldenFile, r.dump())
	default:
		golden(t, goldenFile, v2dump(r))
	}
	return r
}

func TestOwnerProtection(t *testing.T) {
	s := newServer(t, serverOptions{})
	ada := creds{"ada@example.com", "ada-admin-pass"}
	s.addUser("Ada Admin", ada.user, domain.Admin, ada.pass)
	s.do(owner, "GET", "/users/1.xml", "", "") // first sign-ins, recorded before any snapshot
	s.do(ada, "GET", "/users/1.xml", "", "")
	const legacyOwner, v2Owner = "/users/1.xml", "/api/v2/users/1"
	for _, tc := range []struct {
		name         string
		actor        creds
		method, path string
		body         string
		golden       string // one per message and protocol
	}{
		{"admin sets the owner's password (legacy)", ada, "PUT", legacyOwner, `<user><password>taken-over-1</password></user>`, "legacy/error_403_owner_credentials.golden"},
		{"admin sets the owner's email (legacy)", ada, "PUT", legacyOwner, `<user><email>attacker@example.com</email></user>`, ""},
		{"admin adds an email to the owner (v2)", ada, "PUT", v2Owner, `{"user":{"email":"attacker@example.com"}}`, "v2/error_403_owner_credentials.golden"},
		{"admin demotes the owner (legacy)", ada, "PUT", legacyOwner, `<user><roles>4</roles></user>`, "legacy/error_403_owner_role.golden"},
		{"admin makes the owner an end user (v2)", ada, "PUT", v2Owner, `{"user":{"role":"end-user"}}`, ""},
		{"admin gives the owner a custom role (v2)", ada, "PUT", v2Owner, `{"user":{"custom_role_id":7}}`, ""},
		{"admin deactivates the owner (legacy)", ada, "PUT", legacyOwner, `<user><is-active>false</is-active></user>`, ""},
		{"admin suspends the owner (v2)", ada, "PUT", v2Owner, `{"user":{"suspended":true}}`, "v2/error_403_owner_suspended.golden"},
		{"admin deletes the owner (legacy)", ada, "DELETE", legacyOwner, ``, ""},
		{"admin deletes the owner (v2)", ada, "DELETE", v2Owner, ``, ""},
		{"owner suspends itself (v2)", owner, "PUT", v2Owner, `{"user":{"suspended":true}}`, ""},
		{"owner demotes itself (legacy)", owner, "PUT", legacyOwner, `<user><roles>0</roles></user>`, ""},
		{"owner demotes itself (v2)", owner, "PUT", v2Owner, `{"user":{"role":"agent"}}`, ""},
		{"owner deactivates itself (legacy)", owner, "PUT", legacyOwner, `<user><is-active>false</is-active></user>`, ""},
		{"owner deletes itself (legacy)", owner, "DELETE", legacyOwner, ``, ""},
		{"owner deletes itself (v2)", owner, "DELETE", v2Owner, ``, "v2/error_403_owner_deleted.golden"},
		{"owner verifies a new email of its own (legacy)", owner, "PUT", legacyOwner, `<user><email>attacker@example.com</email><is-verified>true</is-verified></user>`, "legacy/error_403_owner_email_verified.golden"},
		{"owner verifies a new email of its own (v2)", owner, "PUT", v2Owner, `{"user":{"email":"attacker@example.com","verified":true}}`, "v2/error_403_owner_email_verified.golden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := s.refusedUnwritten(t, tc.actor, tc.method, tc.path, tc.body, tc.golden); !strings.Contains(string(r.body), "account owner") {
				t.Errorf("the refusal does not name the account owner: %s", r.body)
			}
		})
	}
	// The owner's password still works: the refusal wrote nothing.
	legacyWant(t, s.do(creds{ownerEmail, ownerPassword}, "GET", "/users/1.xml", "", ""), http.StatusOK)

	t.Run("what stays allowed", func(t *testing.T) {
		legacyWant(t, s.do(ada, "PUT", legacyOwner, legacyXMLType, `<user><name>Olive Owner</name></user>`), http.StatusOK)
		v2Want(t, s.do(ada, "PUT", v2Owner, "application/json", `{"user":{"suspended":false,"role":"admin","notes":"the boss"}}`), http.StatusOK)
		v2Want(t, s.do(owner, "PUT", v2Owner, "application/json", `{"user":{"verified":true}}`), http.StatusOK) // verified already
		legacyWant(t, s.do(creds{ownerEmail, ownerPassword}, "PUT", legacyOwner, legacyXMLType, `<user><password>owner-secret-2</password><email>olive@example.com</email></user>`), http.StatusOK)
		legacyWant(t, s.do(creds{"olive@example.com", "owner-secret-2"}, "GET", "/users/1.xml", "", ""), http.StatusOK)
	})
}

// TestEndUserEditsOwnProfile: an end user changes its own name, locale,
// time zone and password, and nothing the staff keeps: notes, tags, the
// external id, the organization, user fields, and the email and phone,
// which are identities end users do not manage. A refusal writes nothing.
func TestEndUserEditsOwnProfile(t *testing.T) {
	s := newServer(t, serverOptions{})
	org := v2ID(t, s.do(owner, "POST", "/api/v2/organizations", "application/json", `{"organization":{"name":"Acme"}}`), "organization")
	eve := creds{"eve@example.com", "eve-secret-1"}
	id := v2EndUser(t, s, "Eve End", eve.user, eve.pass).ID
	s.do(eve, "GET", "/api/v2/users/me", "", "") // the first sign-in, recorded before any snapshot
	v2Path, legacyPath := fmt.Sprintf("/api/v2/users/%d", id), fmt.Sprintf("/users/%d.xml", id)
	for _, tc := range []struct {
		name, path, body string
		golden           string
	}{
		{"organization", v2Path, fmt.Sprintf(`{"user":{"organization_id":%d}}`, org), "v2/error_403_end_user_own_fields.golden"},
		{"notes", v2Path, `{"user":{"notes":"trusted"}}`, ""},
		{"tags", v2Path, `{"user":{"tags":["vip"]}}`, ""},
		{"external id", v2Path, `{"user":{"external_id":"crm-1"}}`, ""},
		{"details", v2Path, `{"user":{"details":"x"}}`, ""},
		{"user fields", v2Path, `{"user":{"user_fields":{"tier":"gold"}}}`, ""},
		{"email", v2Path, `{"user":{"email":"claimed@example.com"}}`, ""},
		{"phone", v2Path, `{"user":{"phone":"+15551234567"}}`, ""},
		{"name and notes", v2Path, `{"user":{"name":"Eve E","notes":"trusted"}}`, ""},
		{"email (legacy)", legacyPath, `<user><email>claimed@example.com</email></user>`, "legacy/error_403_end_user_own_fields.golden"},
	} {
		t.Run(tc.name, func(t *testing.T) { s.refusedUnwritten(t, eve, "PUT", tc.path, tc.body, tc.golden) })
	}
	v2Want(t, s.do(eve, "PUT", v2Path, "application/json", `{"user":{"name":"Eve Evans","locale":"en-US","time_zone":"Berlin"}}`), http.StatusOK)
	legacyWant(t, s.do(eve, "PUT", legacyPath, legacyXMLType, `<user><name>Eve E. Evans</name><password>eve-secret-2</password></user>`), http.StatusOK)
	u, err := s.svc.User(legacyOwnerCtx(), id)
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "Eve E. Evans" || u.Locale != "en-US" || u.TimeZone.Name != "Berlin" {
		t.Errorf("after its own edits: name %q, locale %q, time zone %q", u.Name, u.Locale, u.TimeZone.Name)
	}
	legacyWant(t, s.do(creds{eve.user, "eve-secret-2"}, "GET", legacyPath, "", ""), http.StatusOK)
}

// TestSuspendedUserCannotAuthenticate: suspension refuses every credential
// on both protocols from the next request on, though the credentials were
// just checked and remembered.
func TestSuspendedUserCannotAuthenticate(t *testing.T) {
	s := newServer(t, serverOptions{})
	sue := creds{"sue@example.com", "sue-agent-pass"}
	id := s.addUser("Sue Agent", sue.user, domain.Agent, sue.pass)
	const token = "sue-api-token-0123456789"
	if err := s.db.InTx(context.Background(), func(tx domain.Tx) error {
		return tx.AddToken(context.Background(), id, domain.HashToken(token), s.clock.Now())
	}); err != nil {
		t.Fatal(err)
	}
	sueToken := creds{sue.user + "/token", token}
	requests := []struct {
		name string
		c    creds
		path string
	}{
		{"legacy password", sue, "/users.xml"},
		{"legacy token", sueToken, "/users.xml"},
		{"v2 password", sue, "/api/v2/users/me"},
		{"v2 token", sueToken, fmt.Sprintf("/api/v2/users/%d", id)},
	}
	want := func(status int) {
		t.Helper()
		for _, rq := range requests {
			r := s.do(rq.c, "GET", rq.path, "", "")
			switch {
			case status == http.StatusOK && (r.status != http.StatusOK || !bytes.Contains(r.body, []byte(sue.user))):
				t.Errorf("%s: %d %s, want 200 with Sue", rq.name, r.status, r.body)
			case status == http.StatusUnauthorized && rq.path == "/api/v2/users/me":
				// /users/me answers anonymous callers 200 with a placeholder.
				if r.status != http.StatusOK || !bytes.Contains(r.body, []byte("Anonymous user")) || bytes.Contains(r.body, []byte(sue.user)) {
					t.Errorf("%s: %d %s, want the anonymous placeholder", rq.name, r.status, r.body)
				}
			case status == http.StatusUnauthorized && r.status != http.StatusUnauthorized:
				t.Errorf("%s: %d %s, want 401", rq.name, r.status, r.body)
			}
		}
	}
	want(http.StatusOK) // and now remembered
	v2Want(t, s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d", id), "application/json", `{"user":{"suspended":true}}`), http.StatusOK)
	want(http.StatusUnauthorized)
	golden(t, "legacy/auth_suspended_user.golden", s.do(sue, "GET", "/users.xml", "", "").dump())
	golden(t, "v2/error_401_suspended_user.golden", v2dump(s.do(sueToken, "GET", "/api/v2/users/1", "", "")))
	v2Want(t, s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d", id), "application/json", `{"user":{"suspended":false}}`), http.StatusOK)
	want(http.StatusOK)
}

// TestRouterAnswersInTheProtocol: what the router answers itself (an
// unknown path, a malformed id, a wrong method) is in the format of the API
// the path belongs to, and a 405 names the methods the path takes.
func TestRouterAnswersInTheProtocol(t *testing.T) {
	s := newServer(t, serverOptions{})
	for _, tc := range []struct {
		method, path string
		want         int
		allow        string
	}{
		{"GET", "/api/v2/users/abc.json", 404, ""},
		{"GET", "/api/v2/users/abc", 404, ""},
		{"GET", "/api/v2/users/-1.json", 404, ""},
		{"GET", "/api/v2/users/-1", 404, ""},
		{"GET", "/api/v2/users/1.5.json", 404, ""},
		{"GET", "/api/v2/users/1.5", 404, ""},
		{"GET", "/api/v2/users/1e3", 404, ""},
		{"GET", "/api/v2/users/0x10", 404, ""},
		{"GET", "/api/v2/users/%20", 404, ""},
		{"GET", "/api/v2/users/%00", 404, ""},
		{"PUT", "/api/v2/users/abc.json", 404, ""},
		{"DELETE", "/api/v2/groups/-1", 404, ""},
		{"GET", "/api/v2/users/1/group_memberships/x", 404, ""},
		{"GET", "/api/v2/tickets.json", 404, ""},
		{"GET", "/api/v2/users/1/nothing", 404, ""},
		{"GET", "/api/v2", 404, ""},
		{"GET", "/api/v2/", 404, ""},
		{"PATCH", "/api/v2/users/1.json", 405, "GET, PUT, DELETE"},
		{"POST", "/api/v2/users/1", 405, "GET, PUT, DELETE"},
		{"DELETE", "/api/v2/users", 405, "GET, POST"},
		{"PUT", "/api/v2/users/count.json", 405, "GET"},
		{"POST", "/api/v2/users/1/group_memberships/2/make_default", 405, "PUT"},
		{"GET", "/users/abc.xml", 404, ""},
		{"GET", "/users/-1.xml", 404, ""},
		{"GET", "/users/1.5.xml", 404, ""},
		{"DELETE", "/users/x.xml", 404, ""},
		{"GET", "/users/1.json", 404, ""},
		{"GET", "/users.json", 404, ""},
		{"GET", "/users", 404, ""},
		{"GET", "/users/", 404, ""},
		{"PATCH", "/users.xml", 405, "GET, POST"},
		{"DELETE", "/users.xml", 405, "GET, POST"},
		{"POST", "/users/1.xml", 405, "GET, PUT, DELETE"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			for _, c := range []creds{owner, {}} {
				r := s.do(c, tc.method, tc.path, "", "")
				v2 := strings.HasPrefix(tc.path, "/api/v2")
				if r.status != tc.want || r.header.Get("Allow") != tc.allow {
					t.Errorf("%d Allow %q, want %d Allow %q: %s", r.status, r.header.Get("Allow"), tc.want, tc.allow, r.body)
				}
				if v2 && (!isV2Error(r.body) || r.header.Get("Content-Type") != "application/json; charset=utf-8") ||
					!v2 && (!bytes.Contains(r.body, []byte("<errors>")) || r.header.Get("Content-Type") != "application/xml; charset=utf-8") {
					t.Errorf("not in the protocol's format: %s %s", r.header.Get("Content-Type"), r.body)
				}
			}
		})
	}
	golden(t, "v2/error_404_unknown_endpoint.golden", v2dump(s.do(owner, "GET", "/api/v2/users/abc.json", "", "")))
	golden(t, "v2/error_405_method_not_allowed.golden", v2dump(s.do(owner, "PATCH", "/api/v2/users/1.json", "", "")))
	golden(t, "legacy/error_404_unknown_path.golden", s.do(owner, "GET", "/users/abc.xml", "", "").dump())
	golden(t, "legacy/error_405_method_not_allowed.golden", s.do(owner, "PATCH", "/users.xml", "", "").dump())
	// Outside both APIs the answers stay plain, the 405 with its Allow too.
	if r := s.do(owner, "POST", "/healthz", "", ""); r.status != 405 || r.header.Get("Allow") != "GET" {
		t.Errorf("POST /healthz: %d Allow %q", r.status, r.header.Get("Allow"))
	}
	if r := s.do(owner, "GET", "/nothing", "", ""); r.status != 404 {
		t.Errorf("GET /nothing: %d", r.status)
	}
	for _, path := range []string{"/healthz", "/readyz"} { // probes that ask with HEAD
		if r := s.do(creds{}, "HEAD", path, "", ""); r.status != 200 || len(r.body) != 0 {
			t.Errorf("HEAD %s: %d %q", path, r.status, r.body)
		}
	}
}

// TestContentTypes: a v2 body must be declared JSON; a legacy body XML or
// undeclared. Form types, which a cross-site HTML form can send with a
// browser's cached credentials, are refused by both, and nothing is written.
func TestContentTypes(t *testing.T) {
	s := newServer(t, serverOptions{})
	s.do(owner, "GET", "/users/1.xml", "", "") // the owner's first sign-in, recorded before any snapshot
	forms := []string{"text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "TEXT/PLAIN"}
	for _, tc := range []struct {
		api, method, path, body string
		refused, accepted       []string
	}{
		{"v2", "POST", "/api/v2/users", `{"user":{"name":"Eve"}}`,
			append([]string{"", "application/xml", "text/json", "application/json-patch+json", "application/jsonx", "application/json;;", "json"}, forms...),
			[]string{"application/json", "application/json; charset=utf-8", "Application/JSON"}},
		{"v2", "PUT", "/api/v2/users/1", `{"user":{"notes":"changed"}}`, append([]string{""}, forms...), nil},
		{"v2", "POST", "/api/v2/groups", `{"group":{"name":"Eve's"}}`, forms, nil},
		{"legacy", "POST", "/users.xml", `<user><name>Eve</name></user>`,
			append([]string{"application/json", "text/html", "application/xml;;"}, forms...),
			[]string{"", "application/xml", "text/xml", "text/xml; charset=utf-8", "application/xml; charset=ISO-8859-1"}},
		{"legacy", "PUT", "/users/1.xml", `<user><name>Eve</name></user>`, forms, nil},
	} {
		t.Run(tc.api+" "+tc.method+" "+tc.path, func(t *testing.T) {
			for _, ct := range tc.refused {
				before := s.v2Snapshot()
				r := s.do(owner, tc.method, tc.path, ct, tc.body)
				ok := tc.api == "v2" && isV2Error(r.body) || tc.api == "legacy" && bytes.Contains(r.body, []byte("<errors>"))
				if r.status != http.StatusUnsupportedMediaType || !ok {
					t.Errorf("Content-Type %q: %d %s", ct, r.status, r.body)
				}
				if s.v2Snapshot() != before {
					t.Errorf("Content-Type %q: written", ct)
				}
			}
			for _, ct := range tc.accepted {
				if r := s.do(owner, tc.method, tc.path, ct, tc.body); r.status != http.StatusCreated {
					t.Errorf("Content-Type %q: %d %s", ct, r.status, r.body)
				}
			}
		})
	}
	t.Run("an undeclared legacy body from a browser", func(t *testing.T) {
		before := s.v2Snapshot()
		req, err := http.NewRequest("POST", s.URL+"/users.xml", strings.NewReader(`<user><name>Eve</name></user>`))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(owner.user, owner.pass)
		req.Header.Set("Origin", "https://attacker.example")
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType || s.v2Snapshot() != before {
			t.Errorf("%d, or written", resp.StatusCode)
		}
	})
	golden(t, "v2/error_415_text_plain.golden", v2dump(s.do(owner, "POST", "/api/v2/users", "text/plain", `{"user":{"name":"Eve"}}`)))
	golden(t, "legacy/error_415_form.golden", s.do(owner, "POST", "/users.xml", "application/x-www-form-urlencoded", `<user><name>Eve</name></user>`).dump())
}

// TestStrictJSON: what encoding/json would let through silently is a 400 or
// 422 in the v2 shape, and nothing is written.
func TestStrictJSON(t *testing.T) {
	s := newServer(t, serverOptions{})
	s.do(owner, "GET", "/users/1.xml", "", "") // the owner's first sign-in, recorded before any snapshot
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	for _, tc := range []struct{ name, body string }{
		{"duplicate key", `{"user":{"name":"a","name":"b"}}`},
		{"duplicate key, other case", `{"user":{"name":"a","NAME":"b"}}`},
		{"duplicate key, long s", `{"user":{"name":"a","suspended":false,"\u017fuspended":true}}`},
		{"duplicate key, Kelvin sign", `{"user":{"name":"a","ticket_restriction":null,"tic\u212aet_restriction":"groups"}}`},
		{"duplicate role smuggles admin", `{"user":{"name":"a","role":"end-user","role":"admin"}}`},
		{"duplicate wrapper", `{"user":{"name":"a"},"user":{"role":"admin"}}`},
		{"duplicate custom field", `{"user":{"name":"a","user_fields":{"k":1,"k":2}}}`},
		{"trailing word", `{"user":{"name":"a"}} x`},
		{"trailing document", `{"user":{"name":"a"}}{"user":{"name":"b"}}`},
		{"trailing bracket", `{"user":{"name":"a"}}]`},
		{"number for a string", `{"user":{"name":5}}`},
		{"number for an email", `{"user":{"name":"a","email":1}}`},
		{"string for a number", `{"user":{"name":"a","organization_id":"1"}}`},
		{"string for a bool", `{"user":{"name":"a","verified":"true"}}`},
		{"object for a string", `{"user":{"name":{"first":"a"}}}`},
		{"array for a string", `{"user":{"name":["a"]}}`},
		{"nested past the bound", `{"user":{"name":"a","user_fields":{"k":[[[[[[[1]]]]]]]}}}`},
		{"nested ten thousand deep", `{"user":{"name":"a","user_fields":{"k":` + deep + `}}}`},
		{"name over its cap", `{"user":{"name":"` + strings.Repeat("a", 256) + `"}}`},
		{"email over its cap", `{"user":{"name":"a","email":"` + strings.Repeat("a", 250) + `@example.com"}}`},
		{"notes over their cap", `{"user":{"name":"a","notes":"` + strings.Repeat("a", 64<<10+1) + `"}}`},
		{"NUL in a name", `{"user":{"name":"a\u0000b"}}`},
		{"lone surrogate", `{"user":{"name":"a\ud800b"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.v2Snapshot()
			r := s.do(owner, "POST", "/api/v2/users", "application/json", tc.body)
			if r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity || !isV2Error(r.body) {
				t.Errorf("%d %s", r.status, r.body)
			}
			if s.v2Snapshot() != before {
				t.Error("written")
			}
		})
	}
	golden(t, "v2/error_400_duplicate_key.golden", v2dump(s.do(owner, "POST", "/api/v2/users", "application/json", `{"user":{"name":"a","role":"end-user","role":"admin"}}`)))
	golden(t, "v2/error_400_nested_too_deep.golden", v2dump(s.do(owner, "POST", "/api/v2/users", "application/json", `{"user":{"name":"a","user_fields":{"k":`+deep+`}}}`)))
	// Within the bound, custom fields nest as deep as clients send them.
	v2Want(t, s.do(owner, "POST", "/api/v2/users", "application/json", `{"user":{"name":"a","user_fields":{"k":[[1]]}}}`), http.StatusCreated)
}

// TestCursorHasOneSpelling: the base64 decoder skips newlines and ignores
// the last character's unused bits, so one cursor had other spellings that
// FuzzOpenCursor found; only the one the server wrote is accepted.
func TestCursorHasOneSpelling(t *testing.T) {
	s := newServer(t, serverOptions{})
	s.addUser("Second User", "", domain.EndUser, "")
	var page struct {
		Meta struct {
			AfterCursor string `json:"after_cursor"`
		}
	}
	v2Decode(t, s.do(owner, "GET", "/api/v2/users?page[size]=1", "", ""), &page)
	c := page.Meta.AfterCursor
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(c)%4 == 0 {
		t.Fatalf("cursor %q has no unused bits to vary", c)
	}
	last := strings.IndexByte(alphabet, c[len(c)-1])
	for _, spelling := range []string{
		c[:10] + "\n" + c[10:],
		c[:10] + "\r" + c[10:],
		c + "\n",
		c[:len(c)-1] + string(alphabet[last^1]),
	} {
		r := s.do(owner, "GET", "/api/v2/users?page[size]=1&page[after]="+url.QueryEscape(spelling), "", "")
		if r.status != http.StatusBadRequest || !isV2Error(r.body) {
			t.Errorf("%q: %d %s", spelling, r.status, r.body)
		}
	}
	v2Want(t, s.do(owner, "GET", "/api/v2/users?page[size]=1&page[after]="+url.QueryEscape(c), "", ""), http.StatusOK)
}
