package deskgate_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/deskgate/deskgate/domain"
)

// exportUser is what the export tests read of a user.
type exportUser struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Active    bool   `json:"active"`
	UpdatedAt string `json:"updated_at"`
}

type exportBody struct {
	Users       []exportUser `json:"users"`
	EndOfStream bool         `json:"end_of_stream"`
	AfterURL    *string      `json:"after_url"`
	AfterCursor *string      `json:"after_cursor"`
	BeforeURL   *string      `json:"before_url"`
	NextPage    string       `json:"next_page"`
	EndTime     int64        `json:"end_time"`
	Count       int          `json:"count"`
}

// exportPage fetches one page of an export by its absolute URL.
func exportPage(t *testing.T, s *server, link string) exportBody {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	r := s.do(owner, "GET", u.RequestURI(), "", "")
	v2Want(t, r, 200)
	var body exportBody
	v2Decode(t, r, &body)
	return body
}

// exportWrites keeps writing while an export runs: it renames a user the
// export has passed and one it has not reached, creates one and deletes
// one, then lets the clock pass the export's one-minute lag.
func exportWrites(t *testing.T, s *server, round int, ids []int64) {
	t.Helper()
	ctx := v2AdminCtx()
	for _, id := range []int64{ids[round%len(ids)], ids[len(ids)-1-round%len(ids)]} {
		name := fmt.Sprintf("Renamed %d in round %d", id, round)
		if _, err := s.svc.UpdateUser(ctx, id, domain.UserChanges{Name: &name}); err != nil {
			t.Fatal(err)
		}
	}
	name := fmt.Sprintf("Created in round %d", round)
	if _, err := s.svc.CreateUser(ctx, domain.UserChanges{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.DeleteUser(ctx, ids[1+(round*7+3)%(len(ids)-1)]); err != nil { // never the owner
		t.Fatal(err)
	}
	s.clock.Advance(61 * time.Second)
}

// exportFixture makes 40 users over a few seconds, several in each second,
// and returns their ids once they are older than the export's lag.
func exportFixture(t *testing.T, s *server) []int64 {
	t.Helper()
	ids := []int64{1} // the owner
	for i := range 40 {
		name := fmt.Sprintf("Export User %d", i)
		u, err := s.svc.CreateUser(v2AdminCtx(), domain.UserChanges{Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
		if i%3 == 0 {
			s.clock.Advance(time.Second)
		}
	}
	s.clock.Advance(2 * time.Minute)
	return ids
}

// finalStates is every user's state now, as the export shows it.
func finalStates(t *testing.T, s *server) map[int64]exportUser {
	t.Helper()
	us, err := s.db.Users(t.Context(), domain.UserFilter{IncludeInactive: true}, domain.Window{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]exportUser{}
	for _, u := range us {
		out[u.ID] = exportUser{ID: u.ID, Name: u.Name, Active: u.Active, UpdatedAt: u.UpdatedAt.Format(time.RFC3339)}
	}
	return out
}

// TestV2ExportCursorExactlyOnce follows after_url to the end while writes
// continue: no user state comes twice, every user comes, and the last
// state seen of each is its latest.
func TestV2ExportCursorExactlyOnce(t *testing.T) {
	s := newServer(t, serverOptions{})
	ids := exportFixture(t, s)
	seen := map[exportUser]bool{}
	last := map[int64]exportUser{}
	link := s.URL + "/api/v2/incremental/users/cursor?start_time=0&per_page=7"
	for round := 0; ; round++ {
		page := exportPage(t, s, link)
		for _, u := range page.Users {
			if seen[u] {
				t.Errorf("round %d: %+v again", round, u)
			}
			seen[u] = true
			last[u.ID] = u
		}
		if page.AfterURL == nil {
			t.Fatalf("round %d: no after_url", round)
		}
		link = *page.AfterURL
		if round > 0 && page.BeforeURL == nil {
			t.Errorf("round %d: no before_url", round)
		}
		if page.EndOfStream {
			break
		}
		if round == 50 {
			t.Fatal("no end of stream after 50 pages")
		}
		exportWrites(t, s, round, ids)
	}
	want := finalStates(t, s)
	if len(last) != len(want) {
		t.Errorf("export saw %d users, the directory has %d", len(last), len(want))
	}
	for id, u := range want {
		if last[id] != u {
			t.Errorf("user %d: last exported %+v, now %+v", id, last[id], u)
		}
	}
	// Resuming from the last after_url later finds only what changed since.
	exportWrites(t, s, 99, ids)
	page := exportPage(t, s, link)
	if len(page.Users) != 3 { // round 99 renames two users, deletes one of them and creates one
		t.Errorf("resumed: %d users, want the 3 changed since", len(page.Users))
	}
	for _, u := range page.Users {
		if seen[u] {
			t.Errorf("resumed: %+v again", u)
		}
	}
}

// TestV2ExportTimeBased follows next_page to the end of the stream while
// writes continue; pages may repeat a boundary second, so the consumer
// de-duplicates by id, as clients of the real export do.
func TestV2ExportTimeBased(t *testing.T) {
	s := newServer(t, serverOptions{})
	ids := exportFixture(t, s)
	last := map[int64]exportUser{}
	link := s.URL + "/api/v2/incremental/users?start_time=0&per_page=5"
	for round := 0; ; round++ {
		page := exportPage(t, s, link)
		if page.Count != len(page.Users) {
			t.Errorf("count %d for %d users", page.Count, len(page.Users))
		}
		for _, u := range page.Users {
			last[u.ID] = u
		}
		if page.EndOfStream {
			break
		}
		if round == 80 {
			t.Fatal("no end of stream after 80 pages")
		}
		if !strings.Contains(page.NextPage, fmt.Sprintf("start_time=%d", page.EndTime)) {
			t.Errorf("next_page %s, end_time %d", page.NextPage, page.EndTime)
		}
		link = page.NextPage
		if round%4 == 0 { // each page repeats its boundary second: writes on every page could outrun it
			exportWrites(t, s, round, ids)
		}
	}
	want := finalStates(t, s)
	for id, u := range want {
		if last[id] != u {
			t.Errorf("user %d: last exported %+v, now %+v", id, last[id], u)
		}
	}
}

func TestV2ExportErrors(t *testing.T) {
	s := newServer(t, serverOptions{})
	exportFixture(t, s)
	list := s.do(owner, "GET", "/api/v2/users?page[size]=2", "", "")
	var listBody struct {
		Meta struct {
			AfterCursor string `json:"after_cursor"`
		}
	}
	v2Decode(t, list, &listBody)
	v2EndUser(t, s, "Eve End", "eve@example.com", "eve-secret")
	now := s.svc.Now().Unix()
	const badStart = "InvalidValue: start_time must be a Unix time in seconds, e.g. start_time=1332034771"
	for _, tc := range []struct {
		path   string
		c      creds
		status int
		want   string // error: description of a refusal
	}{
		{"/api/v2/incremental/users", owner, 400, badStart},
		{"/api/v2/incremental/users?start_time=yesterday", owner, 400, badStart},
		{fmt.Sprintf("/api/v2/incremental/users?start_time=%d", now-30), owner, 400, // the newest minute is not exported
			"InvalidValue: Too recent start_time. Use a start_time older than 1 minute"},
		{fmt.Sprintf("/api/v2/incremental/users?start_time=%d", now-61), owner, 200, ""},
		{"/api/v2/incremental/users?start_time=0&per_page=1001", owner, 400, "InvalidPaginationParameter: per_page must be between 1 and 1000"},
		{"/api/v2/incremental/users/cursor", owner, 400, badStart},
		{"/api/v2/incremental/users/cursor?cursor=forged", owner, 400, "InvalidPaginationParameter: The cursor is not one this server issued"},
		{"/api/v2/incremental/users/cursor?cursor=" + listBody.Meta.AfterCursor, owner, 400, // a list's cursor
			"InvalidPaginationParameter: The cursor belongs to another list, sort or direction"},
		{"/api/v2/incremental/users?start_time=0", creds{"eve@example.com", "eve-secret"}, 403,
			"Forbidden: You do not have access to this page. Please contact the account owner of this help desk for further help."},
	} {
		r := s.do(tc.c, "GET", tc.path, "", "")
		if r.status != tc.status {
			t.Errorf("%s: %d, want %d: %s", tc.path, r.status, tc.status, r.body)
			continue
		}
		var body struct {
			Error, Description string
			EndOfStream        bool  `json:"end_of_stream"`
			EndTime            int64 `json:"end_time"`
		}
		v2Decode(t, r, &body)
		if tc.want == "" {
			// Nothing changed in the last minute but the lag: the stream ends where it began.
			if !body.EndOfStream || body.EndTime != now-61 {
				t.Errorf("%s: %s, want the end of the stream at %d", tc.path, r.body, now-61)
			}
		} else if got := body.Error + ": " + body.Description; got != tc.want {
			t.Errorf("%s: %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestV2ExportRateLimit(t *testing.T) {
	s := newServer(t, serverOptions{rateLimit: 700, exportRateLimit: 2})
	exportFixture(t, s)
	// Who may not export is refused without spending the admins' exports.
	agent := creds{"exporter@example.com", "agent-pass-1"}
	s.addUser("Would Export", agent.user, domain.Agent, agent.pass)
	for range 3 {
		v2Want(t, s.do(agent, "GET", "/api/v2/incremental/users/cursor?start_time=0", "", ""), http.StatusForbidden)
	}
	for i, want := range []int{200, 200, 429} {
		r := s.do(owner, "GET", "/api/v2/incremental/users/cursor?start_time=0", "", "")
		if r.status != want {
			t.Fatalf("request %d: %d, want %d: %s", i+1, r.status, want, r.body)
		}
		if want == 429 && r.header.Get("Retry-After") != "30" {
			t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
		}
	}
	s.clock.Advance(30 * time.Second)
	if r := s.do(owner, "GET", "/api/v2/incremental/users?start_time=0", "", ""); r.status != 200 {
		t.Errorf("after 30 s: %d", r.status)
	}
}
