package deskgatetest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/deskgate/deskgate/deskgatetest"
	"github.com/nukosuke/go-zendesk/zendesk"
)

// TestIntegrationAgainstDeskgate is how a team tests its help-desk
// integration: a v2 client (go-zendesk) and a legacy XML request against
// one in-process server, with the clock, snapshots, faults and the request
// record at hand.
func TestIntegrationAgainstDeskgate(t *testing.T) {
	srv := deskgatetest.New(t, deskgatetest.Options{Seats: 5, Fixtures: "../testdata/fixtures/example.json"})
	ctx := context.Background()

	z, err := zendesk.NewClient(srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	z.SetEndpointURL(srv.URL + "/api/v2")
	z.SetCredential(zendesk.NewAPITokenCredential(srv.OwnerEmail, srv.OwnerToken))

	roger, err := z.CreateUser(ctx, zendesk.User{Name: "Roger Wilco", Email: "roger@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if roger.ID != 5 || !roger.CreatedAt.Equal(deskgatetest.DefaultClock) {
		t.Errorf("after the fixture's three users, id %d created at %s", roger.ID, roger.CreatedAt)
	}

	// The legacy API sees the same user.
	req, _ := http.NewRequest("PUT", srv.URL+"/users/5.xml", strings.NewReader(`<user><name>Roger W.</name></user>`))
	req.Header.Set("Content-Type", "application/xml")
	req.SetBasicAuth(srv.OwnerEmail, srv.OwnerPassword)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("legacy update: %d", resp.StatusCode)
	}
	if puts := srv.Requests(deskgatetest.RequestFilter{Method: "PUT", Path: "/users/*.xml"}); len(puts) != 1 || puts[0].Path != "/users/5.xml" {
		t.Errorf("recorded legacy updates: %+v", puts)
	}

	// Time moves when the test says so.
	srv.Advance(36 * time.Hour)
	roger, err = z.UpdateUser(ctx, 5, zendesk.User{Name: "Roger W.", Notes: "called back"}) // go-zendesk always sends the name
	if err != nil || roger.Name != "Roger W." || !roger.UpdatedAt.Equal(deskgatetest.DefaultClock.Add(36*time.Hour)) {
		t.Errorf("update after 36h: %s updated %s, %v", roger.Name, roger.UpdatedAt, err)
	}

	// Snapshots and reset.
	srv.Snapshot("with-roger")
	srv.Reset()
	if _, err := z.GetUser(ctx, 5); status(err) != 404 {
		t.Errorf("after reset: %v", err)
	}
	srv.Restore("with-roger")
	if u, err := z.GetUser(ctx, 5); err != nil || u.Notes != "called back" {
		t.Errorf("after restore: %+v %v", u, err)
	}

	// One injected outage, for the client's retry logic.
	srv.AddFaults(deskgatetest.Fault{Path: "/api/v2/users/5.json", Status: 503, Count: 1})
	if _, err := z.GetUser(ctx, 5); status(err) != 503 {
		t.Errorf("injected 503: %v", err)
	}
	if _, err := z.GetUser(ctx, 5); err != nil {
		t.Errorf("after the fault: %v", err)
	}
}

func status(err error) int {
	var ze zendesk.Error
	if errors.As(err, &ze) {
		return ze.Status()
	}
	return 0
}

// TestBulkJobsRun: a bulk job on a deskgatetest server is worked off, as on
// cmd/deskgate, so an integration can wait for its job status to complete.
func TestBulkJobsRun(t *testing.T) {
	srv := deskgatetest.New(t, deskgatetest.Options{})
	do := func(method, path, body string) string {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.SetBasicAuth(srv.OwnerEmail+"/token", srv.OwnerToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var job struct {
		JobStatus struct{ ID, Status string } `json:"job_status"`
	}
	if err := json.Unmarshal([]byte(do("POST", "/api/v2/users/create_many", `{"users":[{"name":"Ann Bulk","email":"ann@example.com"}]}`)), &job); err != nil {
		t.Fatal(err)
	}
	for range 300 {
		if err := json.Unmarshal([]byte(do("GET", "/api/v2/job_statuses/"+job.JobStatus.ID, "")), &job); err != nil {
			t.Fatal(err)
		}
		if job.JobStatus.Status == "completed" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("the job is still %q after 3 s", job.JobStatus.Status)
}
