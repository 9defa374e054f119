package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// jobState is the part of a job status these tests read.
type jobState struct {
	ID       string           `json:"id"`
	Status   string           `json:"status"`
	Total    int              `json:"total"`
	Progress int              `json:"progress"`
	Results  []map[string]any `json:"results"`
}

// send sends a JSON request as the owner and returns its status and body.
func (p *process) send(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+p.addr+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(testOwner+"/token", testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (p *process) job(t *testing.T, id string) jobState {
	t.Helper()
	code, b := p.send(t, "GET", "/api/v2/job_statuses/"+id, "")
	var body struct {
		JobStatus jobState `json:"job_status"`
	}
	if err := json.Unmarshal(b, &body); code != 200 || err != nil {
		t.Fatalf("job %s: %d %v %s", id, code, err, b)
	}
	return body.JobStatus
}

// pendingItems counts the job items with and without a result, read from
// the file of a stopped server.
func pendingItems(t *testing.T, db string) (done, pending int) {
	t.Helper()
	sdb, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	if err := sdb.QueryRow("SELECT count(result), count(*) - count(result) FROM job_items").Scan(&done, &pending); err != nil {
		t.Fatal(err)
	}
	return done, pending
}

// TestJobsSurviveShutdownAndSIGKILL queues create_many jobs, stops the real
// binary gracefully in the middle of them, then kills it with SIGKILL in the
// middle of them, and checks after the last restart that every job completed
// with every item created exactly once: an item applied twice would show as
// a DuplicateValue failure, one lost as a missing user.
func TestJobsSurviveShutdownAndSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	const jobs, perJob = 30, 100
	// The test polls job statuses as fast as the server answers; the
	// account's rate limit is not what it tests.
	unlimited := []string{"-rate-limit", "0"}
	bin := buildBinary(t)
	db := t.TempDir() + "/deskgate.db"
	p := start(t, bin, db, unlimited...)

	var ids []string
	for j := range jobs {
		var users []string
		for i := range perJob {
			users = append(users, fmt.Sprintf(`{"name":"User %d-%d","email":"u%d-%d@example.com"}`, j, i, j, i))
		}
		code, b := p.send(t, "POST", "/api/v2/users/create_many", `{"users":[`+strings.Join(users, ",")+`]}`)
		var body struct {
			JobStatus jobState `json:"job_status"`
		}
		if err := json.Unmarshal(b, &body); code != 200 || err != nil {
			t.Fatalf("create_many %d: %d %v %s", j, code, err, b)
		}
		ids = append(ids, body.JobStatus.ID)
	}

	// stopMidJob waits until the server has applied more than doneBefore
	// items and is part way through a job, then signals.
	stopMidJob := func(sig syscall.Signal, doneBefore int) {
		t.Helper()
		for n, id := range ids {
			for {
				j := p.job(t, id)
				if j.Status == "completed" {
					break
				}
				if j.Progress > 0 && n*perJob+j.Progress > doneBefore {
					if err := p.cmd.Process.Signal(sig); err != nil {
						t.Fatal(err)
					}
					p.cmd.Wait()
					return
				}
				time.Sleep(time.Millisecond)
			}
		}
		t.Fatal("every job completed before the server could be stopped")
	}

	stopMidJob(syscall.SIGTERM, 0)
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("graceful stop exited %d\n%s", code, p.output)
	}
	done, pending := pendingItems(t, db)
	if pending == 0 || done == 0 {
		t.Fatalf("after SIGTERM: %d items done, %d pending; want some left queued", done, pending)
	}
	t.Logf("SIGTERM left %d of %d items queued", pending, done+pending)

	p = start(t, bin, db, unlimited...)
	stopMidJob(syscall.SIGKILL, done)
	doneBefore := done
	done, pending = pendingItems(t, db)
	if pending == 0 || done <= doneBefore {
		t.Fatalf("after SIGKILL: %d items done (%d before), %d pending; want progress and some left", done, doneBefore, pending)
	}
	t.Logf("SIGKILL left %d of %d items to do", pending, done+pending)

	p = start(t, bin, db, unlimited...)
	for j, id := range ids {
		var st jobState
		for st = p.job(t, id); st.Status != "completed" && st.Status != "failed"; st = p.job(t, id) {
			time.Sleep(10 * time.Millisecond)
		}
		if st.Status != "completed" || st.Progress != perJob || len(st.Results) != perJob {
			t.Fatalf("job %d: %s, %d done, %d results", j, st.Status, st.Progress, len(st.Results))
		}
		for i, r := range st.Results {
			if r["index"] != float64(i) || r["id"] == nil || r["error"] != nil {
				t.Fatalf("job %d item %d: %v", j, i, r)
			}
		}
	}
	code, b := p.send(t, "GET", "/api/v2/users/count", "")
	var count struct{ Count struct{ Value int } }
	if err := json.Unmarshal(b, &count); code != 200 || err != nil || count.Count.Value != 1+jobs*perJob {
		t.Fatalf("users after the restarts: %d %s, want %d", code, b, 1+jobs*perJob)
	}
}
