package domain

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// LegacyOperation is one operation of the legacy API and the v2 operation
// that replaces it. The table below is the one place that pairs them: the
// Link header of every legacy response and the legacy-usage report read it.
type LegacyOperation struct {
	Method string
	Route  string // the router's template, "/users/{id}.xml"
	Search bool   // the list called with ?query=
	V2     string // the replacing v2 operation, "GET /api/v2/users/{id}.json"
	name   string // Name, spelled once: every legacy request's journal record names it
}

var legacyOperations = named([]LegacyOperation{
	{Method: "GET", Route: "/users.xml", V2: "GET /api/v2/users.json"},
	{Method: "GET", Route: "/users.xml", Search: true, V2: "GET /api/v2/users/search.json?query="},
	{Method: "POST", Route: "/users.xml", V2: "POST /api/v2/users.json"},
	{Method: "GET", Route: "/users/{id}.xml", V2: "GET /api/v2/users/{id}.json"},
	{Method: "PUT", Route: "/users/{id}.xml", V2: "PUT /api/v2/users/{id}.json"},
	{Method: "DELETE", Route: "/users/{id}.xml", V2: "DELETE /api/v2/users/{id}.json"},
})

func named(ops []LegacyOperation) []LegacyOperation {
	for i, op := range ops {
		ops[i].name = op.Method + " " + op.Route
		if op.Search {
			ops[i].name += "?query="
		}
	}
	return ops
}

// LegacyOperationOf finds the legacy operation a request called from its
// method, route template and query: a list with a query text is a search.
func LegacyOperationOf(method, route string, query url.Values) (LegacyOperation, bool) {
	search := method == "GET" && route == "/users.xml" && strings.TrimSpace(query.Get("query")) != ""
	i := slices.IndexFunc(legacyOperations, func(op LegacyOperation) bool {
		return op.Method == method && op.Route == route && op.Search == search
	})
	if i < 0 {
		return LegacyOperation{}, false
	}
	return legacyOperations[i], true
}

// Name is how journals and reports name the operation.
func (op LegacyOperation) Name() string { return op.name }

// AppendSuccessorPath appends the v2 path that does what one legacy request
// did: id is the request's user id, query its search text (its outer spaces
// aside). An append, since every legacy response names it in its Link.
func (op LegacyOperation) AppendSuccessorPath(dst []byte, id, query string) []byte {
	_, p, _ := strings.Cut(op.V2, " ")
	before, after, hasID := strings.Cut(p, "{id}")
	dst = append(dst, before...)
	if hasID {
		dst = append(append(dst, id...), after...)
	}
	if op.Search {
		dst = append(dst, url.QueryEscape(strings.TrimSpace(query))...)
	}
	return dst
}

// LegacyPolicy is what deskgate tells legacy clients about the API's end.
type LegacyPolicy struct {
	DeprecatedAt      time.Time // default: the day the database was created
	Sunset            time.Time // zero: none announced
	RefuseAfterSunset bool      // answer Gone from the sunset on, instead of serving
}

// LegacyPolicy returns the deprecation and sunset dates legacy responses announce.
func (s *Service) LegacyPolicy() LegacyPolicy { return s.legacy }

// CheckLegacy returns Gone, naming the v2 replacement given (method "GET",
// successor "https://…/api/v2/users/7.json"), once the sunset has passed
// and the policy refuses legacy calls; nil otherwise.
func (s *Service) CheckLegacy(method, successor string) error {
	p := s.legacy
	if !p.RefuseAfterSunset || p.Sunset.IsZero() || s.Now().Before(p.Sunset) {
		return nil
	}
	return &Error{Kind: Gone, Msg: "The legacy XML API was retired on " + p.Sunset.UTC().Format(time.DateOnly) + ". Use the v2 JSON API instead: " + method + " " + successor}
}

// LegacyUsage answers the migration question: who still calls the legacy
// API, how often, with which operations, and what replaces each.
type LegacyUsage struct {
	Since   time.Time
	Clients []LegacyClient // most legacy requests first
	Days    []DayRequests  // oldest first; days without requests are left out
}

// LegacyClient is one credential (user and credential kind) with one user agent.
type LegacyClient struct {
	UserID     int64
	Email      string // "" for requests without a valid user
	Credential Credential
	UserAgent  string
	Requests   int
	LastSeen   time.Time
	Operations []LegacyOperationUse // most requests first
}

// LegacyOperationUse is how often a client called one legacy operation.
type LegacyOperationUse struct {
	Operation string // "GET /users/{id}.xml"
	V2        string // the replacing v2 operation; "" for a request no route matched
	Requests  int
	LastSeen  time.Time
}

// LegacyCalls is the store's count of one client's calls of one operation.
type LegacyCalls struct {
	UserID     int64
	Credential Credential
	UserAgent  string
	Operation  string
	Requests   int
	LastSeen   time.Time
}

// DayRequests counts one UTC day's requests by protocol.
type DayRequests struct {
	Day    time.Time
	Legacy int
	V2     int
}

// UsageWindow is how far back a legacy-usage report looks by default: the
// journal's default retention.
const UsageWindow = 30 * 24 * time.Hour

// ParseSince reads the start of a report window: a date ("2026-05-01", UTC),
// an RFC 3339 time, a number of days back ("7d"), or "" for UsageWindow.
func (s *Service) ParseSince(text string) (time.Time, error) {
	if text == "" {
		return s.Now().Add(-UsageWindow), nil
	}
	if days, ok := strings.CutSuffix(text, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return s.Now().AddDate(0, 0, -n), nil
		}
	}
	if t, ok := ParseTime(text); ok {
		return t, nil
	}
	return time.Time{}, &Error{Kind: BadRequest, Code: "InvalidParameter", Msg: `since must be a date (2026-05-01), an RFC 3339 time or a number of days back (7d), not "` + text + `"`}
}

// ParseTime reads a date ("2026-05-01", midnight UTC) or an RFC 3339 time.
func ParseTime(text string) (time.Time, bool) {
	for _, layout := range []string{time.DateOnly, time.RFC3339} {
		if t, err := time.Parse(layout, text); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// LegacyUsage reports legacy traffic since the given time. Admins only.
func (s *Service) LegacyUsage(ctx context.Context, since time.Time) (*LegacyUsage, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	calls, err := s.store.LegacyCalls(ctx, since)
	if err != nil {
		return nil, err
	}
	days, err := s.store.DailyRequests(ctx, since)
	if err != nil {
		return nil, err
	}
	report := &LegacyUsage{Since: since, Days: days, Clients: []LegacyClient{}}
	successors := map[string]string{}
	for _, op := range legacyOperations {
		successors[op.Name()] = op.V2
	}
	type clientKey struct {
		user       int64
		credential Credential
		agent      string
	}
	index := map[clientKey]int{}
	var ids []int64
	for _, c := range calls {
		k := clientKey{c.UserID, c.Credential, c.UserAgent}
		i, ok := index[k]
		if !ok {
			i = len(report.Clients)
			index[k] = i
			report.Clients = append(report.Clients, LegacyClient{UserID: c.UserID, Credential: c.Credential, UserAgent: c.UserAgent})
			if c.UserID != 0 {
				ids = append(ids, c.UserID)
			}
		}
		cl := &report.Clients[i]
		cl.Requests += c.Requests
		if c.LastSeen.After(cl.LastSeen) {
			cl.LastSeen = c.LastSeen
		}
		cl.Operations = append(cl.Operations, LegacyOperationUse{Operation: c.Operation, V2: successors[c.Operation], Requests: c.Requests, LastSeen: c.LastSeen})
	}
	users, err := s.store.UsersByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	emails := map[int64]string{}
	for _, u := range users {
		emails[u.ID] = u.Email
	}
	for i := range report.Clients {
		cl := &report.Clients[i]
		cl.Email = emails[cl.UserID]
		slices.SortStableFunc(cl.Operations, func(a, b LegacyOperationUse) int { return b.Requests - a.Requests })
	}
	slices.SortStableFunc(report.Clients, func(a, b LegacyClient) int { return b.Requests - a.Requests })
	return report, nil
}
