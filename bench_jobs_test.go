package deskgate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
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
// at the job limit (target > 3,000 users/s), and v2 show and list requests
// while such an import runs, against idle and against a bare handler
// (target: as fast as idle). It runs twice: with the worker yielding to
// requests down to its default least share of a core (-job-duty 0.03), and
// never yielding (-job-duty 1). Run it alone:
//
//	go test -run '^$' -bench Jobs -benchtime 3s -v .
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
			j.importUsers(b, 100_000, nil, nil)
		}
		b.ReportMetric(100_000*float64(b.N)/b.Elapsed().Seconds(), "users/s")
	})

	// Each read idle, while an import runs, and a bare handler answering a
	// body of its size: a user shown, and the first page of 100 of the
	// directory, which the import grows at its end. Idle and import runs
	// alternate for readRounds rounds, as this machine's speed drifts by
	// more than the difference measured; the median of the rounds' ratios
	// is the figure.
	const readRounds = 5
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
		var ratios []float64
		var idle float64
		for range readRounds {
			var during float64
			b.Run(read.name+"-idle", func(b *testing.B) { idle = measure(b, j.client, 200, req) })
			b.Run(read.name+"-during-import", func(b *testing.B) {
				// Measured once the job queue is full: from then on the
				// import runs, and its client only adds a job as one ends.
				// Filling the queue is 30 create_many requests at once, a
				// burst of writes of its own.
				stop, full := make(chan struct{}), make(chan struct{})
				var importer sync.WaitGroup
				importer.Go(func() { j.importUsers(b, 1<<30, stop, full) })
				<-full
				before := j.imported(b)
				during = measure(b, j.client, 200, req)
				b.ReportMetric(float64(j.imported(b)-before)/b.Elapsed().Seconds(), "imported/s")
				close(stop)
				importer.Wait()
			})
			if idle > 0 && during > 0 {
				ratios = append(ratios, idle/during)
			}
		}
		var bareNs float64
		b.Run("bare-"+read.name, func(b *testing.B) { bareNs = measure(b, keepAliveClient(), 200, bare) })
		if len(ratios) == readRounds {
			b.Logf("%s req/s during import / idle, by round: %.2f; median %.2f", read.name, ratios, median(ratios))
			b.Logf("%s req/s / bare, idle (last round): %.2f", read.name, bareNs/idle)
		}
	}
}

// imported counts the users in the directory.
func (j *jobBench) imported(b *testing.B) int {
	n, err := j.db.CountUsersTotal(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// median is the middle of xs.
func median(xs []float64) float64 {
	sorted := slices.Sorted(slices.Values(xs))
	return sorted[len(sorted)/2]
}

// importUsers queues create_many jobs of 100 users until n users are
// imported or stop closes, keeping the queue at the job limit, and waits
// for the jobs it queued. It closes full, unless nil, when the queue
// first reaches the limit (its own jobs or the server's 429). At the limit it polls the oldest job every
// pollEvery, as a client that knows the limit would: a client that retried
// its 100-user body every millisecond would cost the server more than
// the import does. Ten polls a second are about what the account's rate
// limit (700 requests a minute) leaves a client, and the queue holds a
// second of work at full speed, so it never runs dry between them. Polled
// every 10 ms, each poll reading and encoding up to 100 results, the
// client's own polls cost a v2 list served meanwhile about a tenth of its
// speed (README, "Bulk jobs").
func (j *jobBench) importUsers(b *testing.B, n int, stop, full chan struct{}) {
	const pollEvery = 100 * time.Millisecond
	var queued []string
	filled := func() {
		if full != nil {
			close(full)
			full = nil
		}
	}
	for sent := 0; sent < n; {
		select {
		case <-stop:
			n = 0
			continue
		default:
		}
		if len(queued) == domain.MaxUnfinishedJobs {
			filled()
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
		filled()
		time.Sleep(pollEvery) // a job of an earlier run is still queued
	}
	for _, id := range queued {
		j.wait(b, id)
	}
}
