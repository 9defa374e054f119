package domain

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// SearchField is what a search term looks at.
type SearchField uint8

const (
	AnyText SearchField = iota // a free word: name, email, notes, phone or external_id
	NameField
	EmailField
	PhoneField
	ExternalIDField
	NotesField
	DetailsField
	TagsField
	RoleField
	OrganizationField
	GroupField
	CreatedField
	UpdatedField
)

// searchFields are the field:value names of the v2 user search (API-NOTES
// §6.10: the fields the Okta and Azuqua search connectors send).
var searchFields = map[string]SearchField{
	"name": NameField, "email": EmailField, "phone": PhoneField, "external_id": ExternalIDField,
	"notes": NotesField, "details": DetailsField, "tags": TagsField, "role": RoleField,
	"organization": OrganizationField, "group": GroupField, "created": CreatedField, "updated": UpdatedField,
}

// SearchTerm is one condition of a user search. Text is matched by Words,
// the letters-and-digits runs of the value, lowercased: the store's
// full-text index holds the same words, so punctuation, quotes and operator
// characters in a query are never more than separators.
type SearchTerm struct {
	Field  SearchField
	Negate bool
	Words  []string
	Prefix bool   // the last word is a prefix: a trailing *, and every free word
	Phrase bool   // the words must follow each other
	Exact  string // an exact value: a full email address, an external id without *
	// Pattern is an organization or group name, * widened to "any text".
	Pattern string
	Role    Role
	Op      byte // created/updated: '<', '>' or ':' (on that day, UTC)
	Time    time.Time
}

const (
	// maxQueryLen bounds a query so that its cost stays bounded; real
	// queries are a few words.
	maxQueryLen = 1000
	maxTerms    = 20
)

func badQuery(format string, args ...any) error {
	return &Error{Kind: BadRequest, Code: "InvalidQuery", Msg: fmt.Sprintf(format, args...)}
}

// ParseSearch reads the v2 search syntax: free words, field:value,
// created/updated with <, > or : and a date, "quoted phrases", -negation
// and a trailing * wildcard. Anything else in the text is data. A query
// with nothing to look for, or only negations, is refused rather than
// answered with everyone.
func ParseSearch(query string) ([]SearchTerm, error) {
	if len(query) > maxQueryLen {
		return nil, badQuery("The query is %d bytes long; at most %d are searched", len(query), maxQueryLen)
	}
	if !utf8.ValidString(query) {
		return nil, badQuery("The query is not valid UTF-8")
	}
	var terms []SearchTerm
	positive := false
	for rest := query; ; {
		raw, r, ok := nextTerm(rest)
		if !ok {
			break
		}
		rest = r
		t, keep, err := raw.term()
		if err != nil {
			return nil, err
		}
		if !keep {
			continue
		}
		terms = append(terms, t)
		positive = positive || !t.Negate
	}
	switch {
	case len(terms) > maxTerms:
		return nil, badQuery("The query has %d terms; at most %d are searched", len(terms), maxTerms)
	case len(terms) == 0:
		return nil, badQuery("The query has no words to search for: give a name, an email or field:value")
	case !positive:
		return nil, badQuery("The query only excludes (-term); add a term that says what to find")
	}
	return terms, nil
}

// rawTerm is a term as written: -field:value, -field<value or a word, with
// the value quoted or not.
type rawTerm struct {
	negate bool
	field  string // "" for a free word
	op     byte
	value  string
	quoted bool
}

// nextTerm cuts the next term off s. An unbalanced quote runs to the end.
func nextTerm(s string) (rawTerm, string, bool) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	if s == "" {
		return rawTerm{}, "", false
	}
	var t rawTerm
	if s[0] == '-' && len(s) > 1 {
		t.negate, s = true, s[1:]
	}
	if i := strings.IndexAny(s, ":<>"); i > 0 {
		if _, ok := searchFields[strings.ToLower(s[:i])]; ok && !strings.ContainsFunc(s[:i], unicode.IsSpace) {
			t.field, t.op, s = strings.ToLower(s[:i]), s[i], s[i+1:]
		}
	}
	if strings.HasPrefix(s, `"`) {
		t.quoted = true
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			t.value, s = s[1:], ""
		} else {
			t.value, s = s[1:1+end], s[2+end:]
		}
		return t, s, true
	}
	end := strings.IndexFunc(s, unicode.IsSpace)
	if end < 0 {
		end = len(s)
	}
	t.value, s = s[:end], s[end:]
	return t, s, true
}

// term turns a raw term into a condition; keep is false for a free word
// with nothing searchable in it (only punctuation), which is skipped.
func (r rawTerm) term() (SearchTerm, bool, error) {
	t := SearchTerm{Field: searchFields[r.field], Negate: r.negate, Phrase: r.quoted}
	value := r.value
	switch t.Field {
	case RoleField:
		role, ok := ParseRole(strings.ToLower(value))
		if !ok {
			return t, false, badQuery("role: must be end-user, agent or admin")
		}
		t.Role = role
		return t, true, nil
	case CreatedField, UpdatedField:
		at, err := searchDate(value)
		if err != nil {
			return t, false, err
		}
		t.Op, t.Time = r.op, at
		return t, true, nil
	}
	if r.op != ':' && r.field != "" {
		return t, false, badQuery("%s takes field:value; < and > are for created and updated", r.field)
	}
	if strings.Contains(strings.TrimSuffix(value, "*"), "*") {
		return t, false, badQuery("* is a wildcard at the end of a word, as in jo*")
	}
	t.Prefix = strings.HasSuffix(value, "*")
	value = strings.TrimSuffix(value, "*")
	switch t.Field {
	case OrganizationField, GroupField:
		if strings.TrimSpace(value) == "" {
			return t, false, badQuery("%s: needs a name", r.field)
		}
		t.Pattern = value
		if t.Prefix {
			t.Pattern += "*"
		}
		return t, true, nil
	case EmailField, AnyText:
		if !t.Prefix && validEmail(value) {
			t.Exact = value // a whole address: the identity index, not its words
			t.Field = EmailField
			return t, true, nil
		}
	case ExternalIDField:
		if !t.Prefix && value != "" {
			t.Exact = value
			return t, true, nil
		}
	}
	t.Words = searchWords(value)
	if len(t.Words) == 0 {
		if r.field != "" || t.Prefix {
			return t, false, badQuery("%q has no letters or digits to search for", r.value)
		}
		return t, false, nil
	}
	t.Prefix = t.Prefix || t.Field == AnyText && !t.Phrase
	t.Phrase = t.Phrase || len(t.Words) > 1
	return t, true, nil
}

// searchWords splits text into lowercased runs of letters and digits, as
// the store's full-text tokenizer does.
func searchWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// searchDate reads a date term's value: 2026-05-15 or an RFC 3339 time.
func searchDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, badQuery("created and updated take a date such as 2026-05-15 or 2026-05-15T18:00:00Z")
}

// SearchUsers answers the v2 search: ?query= in the search syntax, or an
// exact ?external_id= without syntax (externalID set). Active users only,
// offset paging only, and at most MaxOffsetRecords results, which is also
// where the count stops. Agents only.
func (s *Service) SearchUsers(ctx context.Context, query, externalID string, p PageRequest) ([]*User, PageInfo, error) {
	if _, err := agent(ctx); err != nil {
		return nil, PageInfo{}, err
	}
	if p.Cursor {
		return nil, PageInfo{}, badPage("Search pages by offset only: use page and per_page")
	}
	var f UserFilter
	if externalID != "" {
		f.ExternalID = externalID
	} else {
		terms, err := ParseSearch(query)
		if err != nil {
			return nil, PageInfo{}, err
		}
		f.Search = terms
	}
	return s.searchPage(ctx, "users/search?", f, p)
}

// searchPage reads a page of a search or autocomplete and its count, at
// most MaxOffsetRecords, within the search budget.
func (s *Service) searchPage(ctx context.Context, list string, f UserFilter, p PageRequest) ([]*User, PageInfo, error) {
	var us []*User
	var info PageInfo
	err := s.withinSearchBudget(ctx, func(budget context.Context) (err error) {
		us, info, err = s.offsetOnly(paginate(s, list+f.key(), p, userSorting,
			func(w Window) ([]*User, error) { return s.store.Users(budget, f, w) },
			func() (int, error) { return s.store.CountUsersUpTo(budget, f, MaxOffsetRecords) }))
		return err
	})
	if err != nil {
		return nil, PageInfo{}, err
	}
	return us, info, nil
}

// withinSearchBudget runs read with a context that ends after the search
// budget, and tells a read the budget stopped as errSearchTooBroad.
func (s *Service) withinSearchBudget(ctx context.Context, read func(budget context.Context) error) error {
	budget, stop := context.WithTimeout(ctx, s.searchFor)
	defer stop()
	err := read(budget)
	if err != nil && budget.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		return errSearchTooBroad
	}
	return err
}

// DefaultSearchBudget is how long one search (or autocomplete, whose phone=
// is a prefix search too, or legacy ?query=) may read before it is stopped.
// Every free word is a prefix, and one that a million email addresses share
// ("user", "u") makes FTS4 merge a million terms' lists: about 1.9 s of a
// reader connection at 1,000,000 users, which an agent could take again and
// again. The broadest search that answered within it there, a word every
// user's address holds ("example"), took 65 ms.
const DefaultSearchBudget = time.Second

var errSearchTooBroad = badQuery("The search is too broad to answer in time: make its words longer or add terms")

// AutocompleteUsers lists active users whose name starts with name
// (case-insensitive), or whose phone number starts with phone, by name;
// counted as a search is. Agents only.
func (s *Service) AutocompleteUsers(ctx context.Context, name, phone string, p PageRequest) ([]*User, PageInfo, error) {
	if _, err := agent(ctx); err != nil {
		return nil, PageInfo{}, err
	}
	if p.Cursor {
		return nil, PageInfo{}, badPage("Autocomplete pages by offset only: use page and per_page")
	}
	var f UserFilter
	switch {
	case strings.TrimSpace(name) != "":
		f.NamePrefix = strings.TrimSpace(name)
	case len(searchWords(phone)) > 0:
		f.Search = []SearchTerm{{Field: PhoneField, Words: searchWords(phone), Prefix: true, Phrase: true}}
	default:
		return nil, PageInfo{}, &Error{Kind: BadRequest, Code: "Bad Request", Msg: "Pass name= (the start of a name) or phone= (the start of a phone number)"}
	}
	if p.Sort == (Sort{}) {
		p.Sort = Sort{Field: "name"}
	}
	return s.searchPage(ctx, "users/autocomplete?", f, p)
}

// offsetOnly ends a search's offset paging where the result limit does: no
// next page that would be refused.
func (s *Service) offsetOnly(us []*User, info PageInfo, err error) ([]*User, PageInfo, error) {
	if info.Number*info.Size >= MaxOffsetRecords {
		info.HasNext = false
	}
	return us, info, err
}
