package domain

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

var year2026 = time.Date(2026, 5, 15, 0, 0, 0, 0, time.UTC)

// Every city list the legacy API shows must name zones of one offset, or a
// legacy client would read a wrong offset for some of them.
func TestLegacyGroupsShareOneOffset(t *testing.T) {
	for _, g := range legacyGroups {
		first, ok := ZoneByName(g[0])
		if !ok {
			t.Fatalf("group %v names unknown zone %q", g, g[0])
		}
		for _, name := range g[1:] {
			z, ok := ZoneByName(name)
			if !ok {
				t.Fatalf("group %v names unknown zone %q", g, name)
			}
			if z.StandardOffset(year2026) != first.StandardOffset(year2026) {
				t.Errorf("%s (%v) and %s (%v) share a legacy label but not an offset",
					name, z.StandardOffset(year2026), first.Name, first.StandardOffset(year2026))
			}
		}
	}
}

func TestZoneForms(t *testing.T) {
	cph, _ := ZoneByName("Copenhagen")
	for _, tc := range []struct {
		in      string
		current Zone
		want    string
		ok      bool
	}{
		{"Copenhagen", DefaultZone, "Copenhagen", true},
		{"copenhagen", DefaultZone, "Copenhagen", true},
		{"Europe/Copenhagen", DefaultZone, "Copenhagen", true},
		{"(GMT +01:00) Brussels, Copenhagen, Madrid, Paris", DefaultZone, "Brussels", true},
		{"(GMT +01:00) Brussels, Copenhagen, Madrid, Paris", cph, "Copenhagen", true}, // echoing what was read keeps the zone
		{"(GMT+01:00) Brussels, Copenhagen, Madrid, Paris", DefaultZone, "Brussels", true},
		{"(GMT -05:00) Eastern Time (US & Canada)", DefaultZone, "Eastern Time (US & Canada)", true},
		{"Europe/Atlantis", DefaultZone, "", false},
		{"", DefaultZone, "", false},
	} {
		z, ok := ResolveZone(tc.in, tc.current)
		if ok != tc.ok || z.Name != tc.want {
			t.Errorf("ResolveZone(%q) = %q, %v; want %q, %v", tc.in, z.Name, ok, tc.want, tc.ok)
		}
	}
	if got, want := cph.LegacyName(year2026), "(GMT +01:00) Brussels, Copenhagen, Madrid, Paris"; got != want {
		t.Errorf("LegacyName = %q, want %q", got, want)
	}
	syd, _ := ZoneByName("Sydney") // southern hemisphere: January is summer time
	if got, want := syd.LegacyName(year2026), "(GMT +10:00) Canberra, Melbourne, Sydney"; got != want {
		t.Errorf("LegacyName = %q, want %q", got, want)
	}
	ny, _ := ZoneByName("Eastern Time (US & Canada)")
	if got, want := ny.LegacyName(year2026), "(GMT -05:00) Eastern Time (US & Canada)"; got != want {
		t.Errorf("LegacyName = %q, want %q", got, want)
	}
}

func TestRestrictionApplicability(t *testing.T) {
	want := map[Role]string{EndUser: "00101", Agent: "11110", Admin: "10000"} // restriction ids 0..4
	for role, mask := range want {
		var got strings.Builder
		for x := RestrictAll; x <= RestrictRequested; x++ {
			if x.AppliesTo(role) {
				got.WriteByte('1')
			} else {
				got.WriteByte('0')
			}
		}
		if got.String() != mask {
			t.Errorf("%s: applicable restrictions %s, want %s", role, got.String(), mask)
		}
		if !DefaultRestriction(role).AppliesTo(role) {
			t.Errorf("%s: default restriction does not apply", role)
		}
	}
}

func TestRestrictionOnRoleChange(t *testing.T) {
	agent, admin, endUser := Agent, Admin, EndUser
	groups, assigned := RestrictGroups, RestrictAssigned
	for _, tc := range []struct {
		name    string
		from    User
		c       UserChanges
		want    Restriction
		invalid bool
	}{
		{"end user promoted gets all tickets", User{Role: EndUser, Restriction: RestrictRequested}, UserChanges{Role: &agent}, RestrictAll, false},
		{"agent demoted keeps organization", User{Role: Agent, Restriction: RestrictOrganization}, UserChanges{Role: &endUser}, RestrictOrganization, false},
		{"agent demoted from groups gets requested", User{Role: Agent, Restriction: RestrictGroups}, UserChanges{Role: &endUser}, RestrictRequested, false},
		{"agent made admin loses restriction", User{Role: Agent, Restriction: RestrictAssigned}, UserChanges{Role: &admin}, RestrictAll, false},
		{"legacy: end user with groups is invalid", User{Role: EndUser, Restriction: RestrictRequested}, UserChanges{Restriction: &groups}, RestrictRequested, true},
		{"v2: end user with assigned becomes requested", User{Role: EndUser, Restriction: RestrictOrganization}, UserChanges{Restriction: &assigned, EndUserRestrictionFallback: true}, RestrictRequested, false},
		{"v2: admin with assigned is invalid", User{Role: Admin}, UserChanges{Restriction: &assigned, EndUserRestrictionFallback: true}, RestrictAll, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.from
			u.Name = "x"
			var v invalid
			tc.c.apply(&u, &v)
			if (len(v) > 0) != tc.invalid || u.Restriction != tc.want {
				t.Errorf("restriction %v, errors %v; want %v, invalid %v", u.Restriction, v, tc.want, tc.invalid)
			}
		})
	}
}

func TestCursorIsTamperEvident(t *testing.T) {
	s := &Service{cursorKey: []byte("0123456789abcdef0123456789abcdef")}
	for _, k := range []SortKey{{ID: 42}, {ID: 42, Value: "Émile Zola"}, {ID: 42, Value: int64(1747332477)}} {
		c := s.sealCursor("users?agent", k, 'a')
		if got, err := s.openCursor("users?agent", c, 'a'); err != nil || *got != k {
			t.Fatalf("open %+v = %+v, %v", k, got, err)
		}
	}
	c := s.sealCursor("users?agent", SortKey{ID: 42, Value: "Zola"}, 'a')
	flipped := []byte(c)
	flipped[5] ^= 1
	for name, tc := range map[string]struct{ list, token string }{
		"other list":      {"users?admin", c},
		"flipped byte":    {"users?agent", string(flipped)},
		"not base64":      {"users?agent", "!!!"},
		"empty":           {"users?agent", "x"},
		"truncated":       {"users?agent", c[:len(c)-4]},
		"other direction": {"users?agent", s.sealCursor("users?agent", SortKey{ID: 42}, 'b')},
	} {
		if _, err := s.openCursor(tc.list, tc.token, 'a'); KindOf(err) != BadRequest {
			t.Errorf("%s: err = %v, want BadRequest", name, err)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	ctx := context.Background()
	s := &Service{random: strings.NewReader(strings.Repeat("s", 64)), hashSlots: make(chan struct{}, 1)}
	h, err := s.hashPassword(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not an OWASP argon2id PHC string", h)
	}
	if s.checkPassword(ctx, h, "correct horse") != nil || s.checkPassword(ctx, h, "correct horsf") == nil || s.checkPassword(ctx, "garbage", "x") == nil {
		t.Error("checkPassword accepts or refuses the wrong password")
	}
	if n := s.PasswordHashes(); n != 3 {
		t.Errorf("%d argon2id computations counted, want 3 (the garbage hash costs none)", n)
	}
}

// TestPasswordCheckWaitsForASlot fills every hashing slot and checks that a
// check waiting for one gives up when its context ends, without hashing.
func TestPasswordCheckWaitsForASlot(t *testing.T) {
	s := &Service{random: strings.NewReader(strings.Repeat("s", 64)), hashSlots: make(chan struct{}, 1)}
	h, err := s.hashPassword(context.Background(), "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	s.hashSlots <- struct{}{} // a check in progress holds the only slot
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.checkPassword(ctx, h, "correct horse"); KindOf(err) != TooManyRequests || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want TooManyRequests for the cancelled context", err)
	}
	if n := s.PasswordHashes(); n != 1 {
		t.Errorf("%d argon2id computations, want only the first", n)
	}
}

// The text rule's deliberate exceptions: line breaks in multi-line fields,
// joiners between two visible characters in text people read.
func TestTextProblem(t *testing.T) {
	for _, tc := range []struct {
		s    string
		kind textKind
		ok   bool
	}{
		{"Ann Smith", nameText, true},
		{"line one\n\tline two\r\n", proseText, true},
		{"line one\nline two", nameText, false},
		{"محمد\u200cرضا", nameText, true},
		{"محمد\u200cرضا", lineText, false},
		{"\U0001F469\u200d\U0001F4BB", proseText, true},
		{"\u200dAnn", nameText, false},
		{"Ann\u200d", nameText, false},
		{"Ann\u200d Smith", nameText, false},
		{"Ann\u200d\u200dSmith", nameText, false},
		{"Ann\u200bSmith", proseText, false},
		{"Ann\u202eSmith", proseText, false},
		{"Ann\x7fSmith", proseText, false},
		{"Ann\xffSmith", proseText, false},
		{strings.Repeat("é", maxNameLen), nameText, true},
		{strings.Repeat("é", maxNameLen+1), nameText, false},
		{strings.Repeat("a", maxProseLen), proseText, true},
	} {
		if got := textProblem(tc.s, tc.kind) == ""; got != tc.ok {
			t.Errorf("textProblem(%q, %d) accepts: %t, want %t", tc.s, tc.kind, got, tc.ok)
		}
	}
}
