package storage

import (
	"cmp"
	"context"
	"math"
	"slices"
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

// textMatch is one full-text condition of a search: the text terms of one
// table and sign, as one MATCH query, or a field's phrase, matched against
// that column alone (FTS4 limits column:word to the column but not a
// quoted phrase).
type textMatch struct {
	table  string
	column string // "" for the whole table
	negate bool
	query  string
}

// target is what the match's MATCH applies to, in the FTS table w or t.
func (m textMatch) target(alias string) string {
	if m.column != "" {
		return alias + "." + m.column
	}
	return alias + "." + m.table
}

// textMatches groups a search's text terms into one MATCH per table and
// sign, so that SQLite reads each index once. The MATCH text is built from
// the terms' words only (letters and digits, lowercased, so never an
// operator), never from what the client typed.
func textMatches(terms []domain.SearchTerm) []textMatch {
	var matches []textMatch
	for _, t := range terms {
		c, ok := textColumns[t.Field]
		if !ok || t.Exact != "" {
			continue // a fieldCondition
		}
		if t.Phrase && c.column != "" { // the phrase in the column holds its words there too
			matches = append(matches, textMatch{table: c.table, column: c.column, negate: t.Negate, query: phraseOf(t)})
			continue
		}
		i := slices.IndexFunc(matches, func(m textMatch) bool { return m.table == c.table && m.negate == t.Negate })
		if i < 0 {
			matches = append(matches, textMatch{table: c.table, negate: t.Negate})
			i = len(matches) - 1
		}
		join := " "
		if t.Negate {
			join = " OR "
		}
		if matches[i].query != "" {
			matches[i].query += join
		}
		matches[i].query += matchExpr(c.column, t)
	}
	return matches
}

// drivingMatch is the index in matches of the full-text match a search
// reads its users from, or -1 when it has none or an exact term (an email
// or external id) looks the user up faster.
func drivingMatch(terms []domain.SearchTerm, matches []textMatch) int {
	if slices.ContainsFunc(terms, func(t domain.SearchTerm) bool { return t.Exact != "" && !t.Negate }) {
		return -1
	}
	return slices.IndexFunc(matches, func(m textMatch) bool { return !m.negate })
}

// matchJoin reads a search's users from the docids of a full-text match, in
// docid order. FTS4 yields them in that order, one at a time for a word
// without *, so that a page of a word everyone holds (the domain of every
// email) stops reading once it is full; as a list (u.id IN (…)) SQLite
// would first build every match. CROSS JOIN keeps the index the outer loop.
func matchJoin(m textMatch) (from, id string, conds []string, args []any) {
	return m.table + " w CROSS JOIN users u", "w.docid", []string{m.target("w") + " MATCH ?", "u.id = w.docid"}, []any{m.query}
}

// matchConds adds the conditions of full-text matches as lists of docids.
func matchConds(matches []textMatch, conds []string, args []any) ([]string, []any) {
	for _, m := range matches {
		op := "IN"
		if m.negate {
			op = "NOT IN"
		}
		conds = append(conds, "u.id "+op+" (SELECT docid FROM "+m.table+" t WHERE "+m.target("t")+" MATCH ?)")
		args = append(args, m.query)
	}
	return conds, args
}

// fieldConds adds the conditions of a search's terms that plain indexes
// answer.
func fieldConds(terms []domain.SearchTerm, conds []string, args []any) ([]string, []any) {
	for _, t := range terms {
		if cond, arg, ok := fieldCondition(t); ok {
			if t.Negate {
				cond = "NOT (" + cond + ")"
			}
			conds, args = append(conds, cond), append(args, arg)
		}
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
// the column, or a free phrase. A field's phrase is a textMatch of its own.
func matchExpr(column string, t domain.SearchTerm) string {
	if t.Phrase {
		return phraseOf(t)
	}
	words := termWords(t)
	if column == "" {
		return words[0]
	}
	for i, w := range words {
		words[i] = column + ":" + w
	}
	return "(" + strings.Join(words, " ") + ")"
}

// termWords are a term's words as FTS4 reads them, the last a prefix if the
// term ends in *.
func termWords(t domain.SearchTerm) []string {
	words := slices.Clone(t.Words)
	if t.Prefix {
		words[len(words)-1] += "*"
	}
	return words
}

// phraseOf is a term's words as one quoted FTS4 phrase.
func phraseOf(t domain.SearchTerm) string { return `"` + strings.Join(termWords(t), " ") + `"` }

func (r reader) OrganizationsOfUsers(ctx context.Context, userIDs []int64) ([]*domain.Organization, error) {
	return queryAll(ctx, r.q, `SELECT `+orgColumns+` FROM organizations o WHERE o.id IN
		(SELECT organization_id FROM organization_memberships WHERE user_id IN (SELECT value FROM json_each(?))) ORDER BY o.id`,
		[]any{idsJSON(userIDs)}, scanOrganization)
}

// rarestTrigrams picks, of the trigrams of a legacy name search (text
// lowercased as SQLite's lower() does, ASCII only), the few rarest among
// the first names in id order, where a page reads: the candidates to read
// the page from, rarest first. It returns none, and the search scans the
// names in id order instead, for text shorter than three characters, and
// when even the rarest trigram is so dense among the first names that the
// scan reads fewer rows than the join would probe.
func (r reader) rarestTrigrams(ctx context.Context, text string) ([]string, error) {
	trigrams := nameTrigrams(text)
	if len(trigrams) == 0 {
		return nil, nil
	}
	var first int64
	if err := r.q.QueryRowContext(ctx, "SELECT coalesce(min(id), 0) FROM users").Scan(&first); err != nil {
		return nil, err
	}
	probes := make([]trigramProbe, len(trigrams))
	for i, t := range trigrams {
		p := trigramProbe{trigram: t}
		err := r.q.QueryRowContext(ctx, `SELECT count(*), coalesce(max(user_id), 0) FROM
			(SELECT user_id FROM user_name_trigrams WHERE trigram = ? ORDER BY user_id LIMIT ?)`, t, trigramProbeNames).Scan(&p.names, &p.reach)
		if err != nil {
			return nil, err
		}
		if p.names < trigramProbeNames {
			p.reach = math.MaxInt64 // no further names hold it
		}
		probes[i] = p
	}
	slices.SortStableFunc(probes, func(a, b trigramProbe) int {
		return cmp.Or(cmp.Compare(b.reach, a.reach), cmp.Compare(a.names, b.names))
	})
	if probes[0].reach-first < trigramJoinCost*trigramProbeNames {
		return nil, nil
	}
	var rarest []string
	for _, p := range probes[:min(len(probes), trigramsJoined)] {
		rarest = append(rarest, p.trigram)
	}
	return rarest, nil
}

// trigramProbe is what rarestTrigrams learns of one trigram: how many
// names hold it, up to trigramProbeNames, and the user id by which that
// many have come.
type trigramProbe struct {
	trigram string
	names   int
	reach   int64
}

const (
	trigramProbeNames = 500 // names a trigram is counted up to
	maxTrigrams       = 12  // trigrams probed of one text
	trigramsJoined    = 3   // trigrams a candidate must hold; instr checks the rest
	// trigramJoinCost is what a candidate costs the join (an index entry and
	// its probes), in rows the scan reads in that time (measured: 2.6 µs
	// against 1 µs).
	trigramJoinCost = 3
)

// nameTrigrams is the distinct trigrams of a legacy search text, at most
// maxTrigrams of them.
func nameTrigrams(text string) []string {
	runes := []rune(asciiLower(text))
	var trigrams []string
	for i := 0; i+3 <= len(runes) && len(trigrams) < maxTrigrams; i++ {
		if t := string(runes[i : i+3]); !slices.Contains(trigrams, t) {
			trigrams = append(trigrams, t)
		}
	}
	return trigrams
}

// trigramJoin reads a legacy name search's candidates from its trigrams:
// the users holding the first (the rarest), in id order, that hold the
// others too. CROSS JOIN keeps the trigrams as the outer loop, so that a
// page stops reading candidates once it is full, and no candidate list is
// built whole; the list follows t.user_id, the outer loop's order.
func trigramJoin(trigrams []string) (from, id string, conds []string, args []any) {
	conds = []string{"t.trigram = ?", "u.id = t.user_id"}
	args = []any{trigrams[0]}
	for _, t := range trigrams[1:] {
		conds = append(conds, "EXISTS (SELECT 1 FROM user_name_trigrams WHERE trigram = ? AND user_id = t.user_id)")
		args = append(args, t)
	}
	return "user_name_trigrams t CROSS JOIN users u", "t.user_id", conds, args
}

// asciiLower is SQLite's lower() without ICU: A-Z only.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}
