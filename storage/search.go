package storage

import (
	"context"
	"strings"

	"github.com/deskgate/deskgate/domain"
)

// The full-text tables (migration 0012) and the columns each search field
// reads; AnyText reads every column of user_words.
var textColumns = map[domain.SearchField]struct{ table, column string }{
	domain.AnyText:         {"user_words", ""},
	domain.NameField:       {"user_words", "name"},
	domain.EmailField:      {"user_words", "email"},
	domain.NotesField:      {"user_words", "notes"},
	domain.PhoneField:      {"user_words", "phone"},
	domain.ExternalIDField: {"user_words", "external_id"},
	domain.DetailsField:    {"user_more_words", "details"},
	domain.TagsField:       {"user_more_words", "tags"},
}

// searchWhere adds the conditions of search terms. The text terms of one
// table and sign become one MATCH, so that SQLite reads each index once;
// the MATCH text is built from the terms' words only (letters and digits,
// lowercased, so never an operator), never from what the client typed.
func searchWhere(terms []domain.SearchTerm, conds []string, args []any) ([]string, []any) {
	type key struct {
		table  string
		negate bool
	}
	var order []key
	matches := map[key][]string{}
	for _, t := range terms {
		if cond, arg, ok := fieldCondition(t); ok {
			if t.Negate {
				cond = "NOT (" + cond + ")"
			}
			conds, args = append(conds, cond), append(args, arg)
			continue
		}
		c := textColumns[t.Field]
		k := key{c.table, t.Negate}
		if _, seen := matches[k]; !seen {
			order = append(order, k)
		}
		matches[k] = append(matches[k], matchExpr(c.column, t))
	}
	for _, k := range order {
		op, join := "IN", " "
		if k.negate {
			op, join = "NOT IN", " OR "
		}
		conds = append(conds, "u.id "+op+" (SELECT docid FROM "+k.table+" WHERE "+k.table+" MATCH ?)")
		args = append(args, strings.Join(matches[k], join))
	}
	return conds, args
}

// fieldCondition is the condition of a term that plain indexes answer.
func fieldCondition(t domain.SearchTerm) (string, any, bool) {
	switch {
	case t.Exact != "" && t.Field == domain.EmailField:
		return "u.id IN (SELECT user_id FROM identities WHERE type = 'email' AND value = ? COLLATE NOCASE)", t.Exact, true
	case t.Exact != "":
		return "u.external_id = ? COLLATE NOCASE", t.Exact, true
	case t.Field == domain.RoleField:
		return "u.role = ?", t.Role, true
	case t.Field == domain.OrganizationField:
		return `u.id IN (SELECT m.user_id FROM organization_memberships m JOIN organizations o ON o.id = m.organization_id
			WHERE o.name LIKE ? ESCAPE '\')`, namePattern(t.Pattern), true
	case t.Field == domain.GroupField:
		return `u.id IN (SELECT m.user_id FROM group_memberships m JOIN groups g ON g.id = m.group_id
			WHERE NOT g.deleted AND g.name LIKE ? ESCAPE '\')`, namePattern(t.Pattern), true
	case t.Field == domain.CreatedField || t.Field == domain.UpdatedField:
		col := "u.created_at"
		if t.Field == domain.UpdatedField {
			col = "u.updated_at"
		}
		day := t.Time.Unix()
		switch t.Op {
		case '<':
			return col + " < ?", day, true
		case '>':
			return col + " > ?", day, true
		}
		return col + " / 86400 = ? / 86400", day, true // on that UTC day
	}
	return "", nil, false
}

// namePattern is a LIKE pattern matching a name exactly (case-insensitive),
// with a trailing * as "anything".
func namePattern(p string) string {
	prefix, wild := strings.CutSuffix(p, "*")
	pattern := likeEscaper.Replace(prefix)
	if wild {
		pattern += "%"
	}
	return pattern
}

// matchExpr is one term in FTS4's query syntax: its words, each limited to
// the column, and for several words the phrase as well.
func matchExpr(column string, t domain.SearchTerm) string {
	words := make([]string, len(t.Words))
	copy(words, t.Words)
	if t.Prefix {
		words[len(words)-1] += "*"
	}
	phrase := ""
	if t.Phrase {
		phrase = `"` + strings.Join(words, " ") + `"`
	}
	if column == "" {
		if phrase != "" {
			return phrase
		}
		return words[0]
	}
	for i, w := range words {
		words[i] = column + ":" + w
	}
	if phrase != "" {
		words = append(words, phrase)
	}
	return "(" + strings.Join(words, " ") + ")"
}

func (r reader) OrganizationsOfUsers(ctx context.Context, userIDs []int64) ([]*domain.Organization, error) {
	return queryAll(ctx, r.q, `SELECT `+orgColumns+` FROM organizations o WHERE o.id IN
		(SELECT organization_id FROM organization_memberships WHERE user_id IN (SELECT value FROM json_each(?))) ORDER BY o.id`,
		[]any{idsJSON(userIDs)}, scanOrganization)
}

// rarestTrigram picks, of the trigrams of a legacy name search (text
// lowercased as SQLite's lower() does, ASCII only), the one fewest names
// hold, counting each up to trigramProbe. It returns "", and the search
// scans the names in id order instead, for text shorter than three
// characters and when every trigram is that common: matches are then
// usually dense, and the scan stops at the page's end.
func (r reader) rarestTrigram(ctx context.Context, text string) (string, error) {
	runes := []rune(asciiLower(text))
	best, bestN := "", trigramProbe+1
	seen := map[string]bool{}
	for i := 0; i+3 <= len(runes) && len(seen) < maxTrigrams; i++ {
		t := string(runes[i : i+3])
		if seen[t] {
			continue
		}
		seen[t] = true
		var n int
		err := r.q.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM user_name_trigrams WHERE trigram = ? LIMIT ?)", t, trigramProbe).Scan(&n)
		if err != nil {
			return "", err
		}
		if n < bestN && n < trigramProbe {
			best, bestN = t, n
		}
	}
	return best, nil
}

const (
	trigramProbe = 2000 // past this many names a trigram is common enough
	maxTrigrams  = 12   // trigrams probed of one text
)

// asciiLower is SQLite's lower() without ICU: A-Z only.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}
