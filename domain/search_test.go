package domain

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzSearchQuery: any query parses to terms or a BadRequest, and what
// reaches the store's full-text index is only words of letters and digits,
// lowercased, so no text of a query can become an FTS operator.
func FuzzSearchQuery(f *testing.F) {
	for _, q := range []string{"alice", `name:"alice smith" -role:agent`, "created>2026-05-15", "smi*", "%", "\x00",
		`"unbalanced`, "NEAR(a b)", "a OR b", "^*", "-x", "email:a@b.example", "organization:ac*", "tags:\"\""} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		terms, err := ParseSearch(q)
		if err != nil {
			if KindOf(err) != BadRequest {
				t.Fatalf("%q: %v is not a BadRequest", q, err)
			}
			return
		}
		if len(terms) == 0 || len(terms) > maxTerms {
			t.Fatalf("%q: %d terms", q, len(terms))
		}
		positive := false
		for _, term := range terms {
			positive = positive || !term.Negate
			for _, w := range term.Words {
				if w == "" || w != strings.ToLower(w) || strings.ContainsFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
					t.Fatalf("%q: word %q", q, w)
				}
			}
			if term.Words == nil && term.Exact == "" && term.Pattern == "" && term.Field < RoleField {
				t.Fatalf("%q: a text term with nothing to match: %+v", q, term)
			}
		}
		if !positive {
			t.Fatalf("%q: only negations", q)
		}
	})
}
