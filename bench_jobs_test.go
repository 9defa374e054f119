package deskgate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskgate/deskgate"
	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/observe"
	"github.com/deskgate/deskgate/storage"
)

// jobBench is a server with its job worker, over a fresh SQLite file.
type jobBench struct {
	*benchFixture
	batch atomic.Int64 // numbers the users of create_many bodies
}

func newJobBench(b *testing.B, duty float64) *jobBench {
	b.Helper()
	ctx, stop := context.WithCancel(context.Background())
	db, err := storage.Open(ctx, filepath.Join(b.TempDir(), "jobs.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	inFlight := new(observe.InFlight) // wired as cmd/deskgate wires it
	svc, err := domain.NewService(ctx, db, domain.Config{JobDuty: duty, Interactive: inFlight.Busy})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := svc.Bootstrap(ctx, domain.Owner{Email: ownerEmail, Password: ownerPassword, Token: ownerToken}); err != nil {
		b.Fatal(err)
	}
	var worker sync.WaitGroup
	worker.Go(func() { svc.RunJobs(ctx) })
	f := &benchFixture{srv: httptest.NewServer(deskgate.NewHandler(svc, deskgate.Options{BaseURL: testBaseURL, InFlight: inFlight})), db: db, client: keepAliveClient()}
	b.Cleanup(func() {
		f.srv.Close()
		stop()
		worker.Wait()
		db.Close()
	})
	return &jobBench{benchFixture: f}
}

// enqueue sends a create_many of 100 new users and returns the job id, or
// "" when the job limit answered 429.
func (j *jobBench) enqueue(b *testing.B) string {
	n := j.batch.Add(1)
	users := make([]string, 100)
	for i := range users {
		users[i] = fmt.Sprintf(`{"name":"Import %d-%d","email":"import-%d-%d@example.com"}`, n, i, n, i)
	}
	req, _ := http.NewRequest(http.MethodPost, j.srv.URL+"/api/v2/users/create_many", strings.NewReader(`{"users":[`+strings.Join(users, ",")+`]}`))
	req.SetBasicAuth(owner.user, owner.pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		JobStatus struct{ ID string } `json:"job_status"`
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return ""
	case resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil:
		b.Fatalf("create_many: %d", resp.StatusCode)
	}
	return body.JobStatus.ID
}

// ended reports whether the job has completed; a failed job stops the benchmark.
func (j *jobBench) ended(b *testing.B, id string) bool {
	status, body := j.get(b, owner, "/api/v2/job_statuses/"+id)
	var st struct {
		JobStatus struct{ Status string } `json:"job_status"`
	}
	if err := json.Unmarshal(body, &st); status != 200 || err != nil || st.JobStatus.Status == "failed" {
		b.Fatalf("job %s: %d %.300s", id, status, body)
	}
	return st.JobStatus.Status == "completed"
}

func (j *jobBench) wait(b *testing.B, id string) {
	for !j.ended(b, id) {
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkJobs measures bulk imports through the real router, worker and
// SQLite file: the time from a 100-item create_many's 200 to its completion
// (target < 2 s), an import of 100,000 users through create_many jobs kept
// at the job limit (target > 3,000 users/s), and v2 show requests while such
// an import runs, against idle and against a bare handler (target: as fast
// as idle). It runs twice: with the worker yielding to requests down to its
// default least share of a core (-job-duty 0.1), and never yielding
// (-job-duty 1). Run it alone:
//
//	go test -run '^$' -bench Jobs -benchtime 2s .
func BenchmarkJobs(b *testing.B) {
	for _, duty := range []float64{domain.DefaultJobDuty, 1} {
		b.Run(fmt.Sprintf("duty-%.2f", duty), func(b *testing.B) { benchJobs(b, duty) })
	}
}

func benchJobs(b *testing.B, duty float64) {
	j := newJobBench(b, duty)
	b.Run("create-many-100", func(b *testing.B) {
		for b.Loop() {
			j.wait(b, j.enqueue(b))
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/job")
	})
	b.Run("import-100k", func(b *testing.B) {
		for b.Loop() {
			j.importUsers(b, 100_000, nil)
		}
		b.ReportMetric(100_000*float64(b.N)/b.Elapsed().Seconds(), "users/s")
	})

	// Each read idle, while an import runs, and a bare handler answering a
	// body of its size: a user shown, and the first page of 100 of the
	// directory, which the import grows at its end.
	base := j.srv.URL
	reads := []struct {
		name string
		path func(i int64) string
	}{
		{"v2-show", func(i int64) string { return fmt.Sprintf("/api/v2/users/%d", 2+i%50_000) }},
		{"v2-list", func(int64) string { return "/api/v2/users?page%5Bsize%5D=100" }},
	}
	for _, read := range reads {
		req := func(i int64) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, base+read.path(i), nil)
			r.SetBasicAuth(owner.user, owner.pass)
			return r
		}
		_, body := j.get(b, owner, read.path(0))
		bare := bareRequest(b, len(body))
		ns := map[string]float64{}
		b.Run(read.name+"-idle", func(b *testing.B) { ns["idle"] = measure(b, j.client, 200, req) })
		b.Run(read.name+"-during-import", func(b *testing.B) {
			stop := make(chan struct{})
			var importer sync.WaitGroup
			importer.Go(func() { j.importUsers(b, 1<<30, stop) })
			ns["import"] = measure(b, j.client, 200, req)
			close(stop)
			importer.Wait()
		})
		b.Run("bare-"+read.name, func(b *testing.B) { ns["bare"] = measure(b, keepAliveClient(), 200, bare) })
		if ns["idle"] > 0 && ns["import"] > 0 && ns["bare"] > 0 {
			b.Logf("%s req/s / bare, idle:          %6.2f", read.name, ns["bare"]/ns["idle"])
			b.Logf("%s req/s / bare, during import: %6.2f", read.name, ns["bare"]/ns["import"])
			b.Logf("%s req/s during import / idle:  %6.2f", read.name, ns["idle"]/ns["import"])
		}
	}
}

// importUsers queues create_many jobs of 100 users until n users are
// imported or stop closes, keeping the queue at the job limit, and waits
// for the jobs it queued. At the limit it polls the oldest job every
// pollEvery, as a client that knows the limit would: a client that retried
// its 100-user body every millisecond would cost the server more than
// the import does.
func (j *jobBench) importUsers(b *testing.B, n int, stop chan struct{}) {
	const pollEvery = 10 * time.Millisecond // the queue holds about a second of work
	var queued []string
	for sent := 0; sent < n; {
		select {
		case <-stop:
			n = 0
			continue
		default:
		}
		if len(queued) == domain.MaxUnfinishedJobs {
			for !j.ended(b, queued[0]) {
				time.Sleep(pollEvery)
			}
			queued = queued[1:]
			continue
		}
		if id := j.enqueue(b); id != "" {
			queued = append(queued, id)
			sent += 100
			continue
		}
		time.Sleep(pollEvery) // a job of an earlier run is still queued
	}
	for _, id := range queued {
		j.wait(b, id)
	}
}
