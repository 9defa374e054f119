package deskgate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/storage"
	"github.com/deskgate/deskgate/testmode"
)

// fullDump renders every byte of a response that a client sees, every header
// included (test mode stamps Date from the frozen clock).
func (r response) fullDump() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP %d\n", r.status)
	keys := make([]string, 0, len(r.header))
	for k := range r.header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(r.header[k], ", "))
	}
	b.WriteString("\n")
	b.Write(r.body)
	return b.Bytes()
}

// scriptedSession drives a fresh test-mode server through both APIs and
// returns every response in full.
func scriptedSession(t *testing.T) [][]byte {
	s := newServer(t, serverOptions{testMode: true, seed: 7})
	var out [][]byte
	do := func(method, path, contentType, body string) response {
		r := s.do(owner, method, path, contentType, body)
		out = append(out, r.fullDump())
		return r
	}
	do("POST", "/__deskgate/fixtures", jsonType, testFixture(t))
	for i := range 4 {
		do("POST", "/api/v2/users", jsonType, fmt.Sprintf(`{"user": {"name": "V2 User %d", "email": "v2-%d@example.com", "role": "end-user"}}`, i, i))
		do("POST", "/users.xml", "application/xml", fmt.Sprintf(`<user><email>legacy-%d@example.com</email><name>Legacy %d</name><roles>0</roles></user>`, i, i))
	}
	do("POST", "/__deskgate/clock", jsonType, `{"advance": "36h"}`)
	do("PUT", "/users/2.xml", "application/xml", `<user><name>Albert Agent</name></user><groups>2</groups>`)
	do("PUT", "/api/v2/users/3", jsonType, `{"user": {"notes": "moved", "time_zone": "Europe/Paris"}}`)
	do("POST", "/api/v2/groups", jsonType, `{"group": {"name": "Escalations"}}`)
	do("POST", "/api/v2/users/4/group_memberships", jsonType, `{"group_membership": {"group_id": 3}}`)
	do("POST", "/api/v2/users", jsonType, `{"user": {"name": "Dup", "email": "al@example.com"}}`)
	do("POST", "/users.xml", "application/xml", `<user><name></name></user>`)
	do("GET", "/api/v2/users/me", "", "")
	do("GET", "/users.xml", "", "")
	do("GET", "/users/2.xml", "", "")
	do("GET", "/api/v2/users?per_page=5&page=2", "", "")
	do("GET", "/api/v2/users/show_many?ids=1,2,3", "", "")
	// Walk a cursor list: the signed cursors must repeat too.
	next := "/api/v2/users?page[size]=3"
	for next != "" {
		r := do("GET", next, "", "")
		var page struct {
			Links struct{ Next *string }
		}
		if err := json.Unmarshal(r.body, &page); err != nil {
			t.Fatalf("%s: %v", next, err)
		}
		next = ""
		if page.Links.Next != nil {
			next = strings.TrimPrefix(*page.Links.Next, testBaseURL)
		}
	}
	do("DELETE", "/users/5.xml", "", "")
	do("GET", "/api/v2/users/count", "", "")
	return out
}

func TestDeterministicSessions(t *testing.T) {
	first, second := scriptedSession(t), scriptedSession(t)
	if len(first) != len(second) {
		t.Fatalf("%d responses, then %d", len(first), len(second))
	}
	for i := range first {
		if !bytes.Equal(first[i], second[i]) {
			t.Errorf("response %d differs:\n%s\n---\n%s", i, first[i], second[i])
		}
	}
	all := string(bytes.Join(first, nil))
	for _, want := range []string{"after_cursor", "<users>", `"authenticity_token"`, "Date: Sun, 17 May 2026 06:07:57 GMT"} {
		if !strings.Contains(all, want) {
			t.Errorf("the script never produced %q, so it proves less than it should", want)
		}
	}
}

// TestSeededPasswords: the owner password generated on an empty database
// repeats with the seed, and changes with it.
func TestSeededPasswords(t *testing.T) {
	generate := func(seed uint64) string {
		db, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "seeded.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		random, key := testmode.Seeded(seed)
		svc, err := domain.NewService(context.Background(), db, domain.Config{Random: random, CursorKey: key})
		if err != nil {
			t.Fatal(err)
		}
		pw, _, err := svc.Bootstrap(context.Background(), domain.Owner{Email: ownerEmail})
		if err != nil || pw == "" {
			t.Fatalf("bootstrap: %q %v", pw, err)
		}
		return pw
	}
	if a, b, c := generate(7), generate(7), generate(8); a != b || a == c {
		t.Errorf("generated passwords: seed 7 gave %q and %q, seed 8 %q", a, b, c)
	}
}

// TestRestoreUnderConcurrentReads: readers that list users while snapshots
// are restored over and over always see one whole snapshot. An offset page
// counts the users and reads the page in two statements, so a reader let in
// halfway through a restore would see a count from one and a page from the
// other.
func TestRestoreUnderConcurrentReads(t *testing.T) {
	s := newServer(t, serverOptions{testMode: true})
	ctx := context.Background()
	if err := s.db.SeedUsers(ctx, 20, s.clock.Now()); err != nil {
		t.Fatal(err)
	}
	s.do(owner, "POST", "/__deskgate/snapshots/small", "", "")
	if err := s.db.SeedUsers(ctx, 40, s.clock.Now()); err != nil {
		t.Fatal(err)
	}
	s.do(owner, "POST", "/__deskgate/snapshots/big", "", "")
	sizes := map[int]bool{21: true, 61: true}

	done := make(chan struct{})
	errs := make(chan error, 100)
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if err := readWholePage(s, sizes); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range 30 {
		name := []string{"small", "big"}[i%2]
		if r := s.do(owner, "POST", "/__deskgate/snapshots/"+name+"/restore", "", ""); r.status != 204 {
			t.Fatalf("restore %s: %s", name, r.dump())
		}
	}
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func readWholePage(s *server, sizes map[int]bool) error {
	req, err := http.NewRequest("GET", s.URL+"/api/v2/users?per_page=100", nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(owner.user, owner.pass)
	resp, err := s.Client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var page struct {
		Users []struct{ ID int64 }
		Count int
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != 200 {
		return fmt.Errorf("list: %d %v", resp.StatusCode, err)
	}
	if len(page.Users) != page.Count || !sizes[page.Count] {
		return fmt.Errorf("a half-restored directory: count %d, %d users listed", page.Count, len(page.Users))
	}
	return nil
}
