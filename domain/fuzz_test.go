package domain

import (
	"net/mail"
	"strings"
	"testing"
)

// Fuzz targets for the parsers the domain owns. Seeds are the project's own
// bad inputs; CI runs each briefly (.ci/run), the README says how to run
// them longer, and crashers found land in testdata/fuzz/.

func FuzzValidEmail(f *testing.F) {
	for _, s := range []string{
		"aljohnson@yourcompany.dk", "roger@example.com", "a@b", "a@b.", "a@b_c.com", "Al <al@example.com>",
		"ann\u200b@example.com", "ann@exa\u202emple.com", "x@y_", "\x00@example.com", " ann@example.com",
		"ann@example.com\n", `"quoted local"@example.com`, "a@b..com", strings.Repeat("a", 250) + "@x.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !validEmail(s) {
			return
		}
		// Accepted: bare, within its cap, no text the rule refuses, and
		// exactly the address the mail parser reads back.
		if problem := textProblem(s, lineText); problem != "" || len(s) > maxEmailLen || strings.TrimSpace(s) != s {
			t.Fatalf("accepted %q: %s", s, problem)
		}
		a, err := mail.ParseAddress(s)
		if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
			t.Fatalf("accepted %q, which reads back as %v, %v", s, a, err)
		}
	})
}

func FuzzResolveZone(f *testing.F) {
	cph, _ := ZoneByName("Copenhagen")
	for _, s := range []string{
		"Copenhagen", "Europe/Copenhagen", "(GMT +01:00) Brussels, Copenhagen, Madrid, Paris", "copenhagen ",
		"(GMT", "(GMT +99:00)", "(gmt)", "Mars/Olympus", "", "\x00", "Eastern Time (US & Canada)", "UTC",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		z, ok := ResolveZone(s, cph)
		if !ok {
			return
		}
		// Accepted: every form the APIs show the zone in reads back as it.
		if back, ok := ResolveZone(z.Name, DefaultZone); !ok || back != z {
			t.Fatalf("%q resolved to %v, whose name reads back as %v", s, z, back)
		}
		if back, ok := ResolveZone(z.LegacyName(year2026), z); !ok || back != z {
			t.Fatalf("%q resolved to %v, whose legacy name reads back as %v", s, z, back)
		}
		if z.Location() == nil {
			t.Fatalf("%q resolved to %v, which has no location", s, z)
		}
	})
}

func FuzzOpenCursor(f *testing.F) {
	s := &Service{cursorKey: []byte("fuzz-cursor-key-0123456789abcdef")}
	const list = "users?|0|||false"
	for _, c := range []string{
		s.sealCursor(list, SortKey{ID: 42}, 'a'), s.sealCursor(list, SortKey{ID: 1, Value: "Ann Smith"}, 'b'),
		s.sealCursor(list, SortKey{ID: 7, Value: int64(1778868477)}, 'a'), s.sealCursor("groups", SortKey{ID: 7}, 'a'),
		"", "%%%", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYw", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	} {
		f.Add(c, byte('a'))
	}
	f.Fuzz(func(t *testing.T, token string, dir byte) {
		k, err := s.openCursor(list, token, dir)
		if err != nil {
			if KindOf(err) != BadRequest {
				t.Fatalf("%q: %v is not a client error", token, err)
			}
			return
		}
		// Accepted: only a cursor this server sealed, which it seals again
		// byte for byte.
		if k.ID < 1 || s.sealCursor(list, *k, dir) != token {
			t.Fatalf("accepted %q as %+v, which seals as %q", token, k, s.sealCursor(list, *k, dir))
		}
	})
}
