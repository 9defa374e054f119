package storage

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/deskgate/deskgate/domain"
	"github.com/google/go-cmp/cmp"
)

func openTestDB(tb testing.TB) *DB {
	tb.Helper()
	db, err := Open(context.Background(), filepath.Join(tb.TempDir(), "deskgate.db"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func (db *DB) journalCount(t *testing.T) (n int, oldest, newest int64) {
	t.Helper()
	err := db.read.QueryRow("SELECT count(*), coalesce(min(at), 0), coalesce(max(at), 0) FROM request_journal").Scan(&n, &oldest, &newest)
	if err != nil {
		t.Fatal(err)
	}
	return n, oldest, newest
}

// TestJournalDropsInsteadOfBlocking holds the one write connection, so the
// writer cannot write, and records far more than the buffer holds: Record
// returns at once every time, the surplus is counted as dropped, and the
// rest is written once the connection is free.
func TestJournalDropsInsteadOfBlocking(t *testing.T) {
	db := openTestDB(t)
	j := db.OpenJournal(JournalOptions{Buffer: 16})
	defer j.Close()
	release, held := make(chan struct{}), make(chan struct{})
	go db.InTx(context.Background(), func(domain.Tx) error {
		close(held)
		<-release
		return nil
	})
	<-held
	const sent = 2000
	at := time.Now()
	for range sent {
		j.Record(domain.RequestRecord{At: at, Protocol: domain.ProtocolLegacy, Method: "GET", Route: "/users/{id}.xml"})
	}
	dropped := j.Dropped()
	if dropped == 0 || dropped >= sent {
		t.Fatalf("%d of %d dropped while the writer was held", dropped, sent)
	}
	close(release)
	if err := j.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, _, _ := db.journalCount(t)
	if uint64(n) != sent-dropped || j.Written() != uint64(n) {
		t.Errorf("%d rows, %d written, %d dropped of %d", n, j.Written(), dropped, sent)
	}
}

// TestJournalPrunes keeps neither rows past the retention nor more than
// the row cap, newest first.
func TestJournalPrunes(t *testing.T) {
	db := openTestDB(t)
	now := time.Date(2026, 5, 15, 12, 0, 0, 0, time.UTC)
	j := db.OpenJournal(JournalOptions{Retention: 48 * time.Hour, MaxRows: 5, Now: func() time.Time { return now }})
	defer j.Close()
	for day := range 4 { // 3, 2, 1 and 0 days old
		j.Record(domain.RequestRecord{At: now.AddDate(0, 0, day-3), Protocol: domain.ProtocolV2})
	}
	if err := j.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, oldest, _ := db.journalCount(t); n != 3 || oldest != now.AddDate(0, 0, -2).Unix() {
		t.Errorf("after the retention prune: %d rows, oldest %v", n, time.Unix(oldest, 0).UTC())
	}
	for i := range 10 {
		j.Record(domain.RequestRecord{At: now.Add(time.Duration(i) * time.Second), Protocol: domain.ProtocolV2})
	}
	if err := j.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, oldest, newest := db.journalCount(t); n != 5 || oldest != now.Add(5*time.Second).Unix() || newest != now.Add(9*time.Second).Unix() {
		t.Errorf("after the row cap: %d rows from %v to %v", n, time.Unix(oldest, 0).UTC(), time.Unix(newest, 0).UTC())
	}
}

// TestJournalPrunesInChunks deletes more rows than one prune transaction
// takes.
func TestJournalPrunesInChunks(t *testing.T) {
	db := openTestDB(t)
	now := time.Date(2026, 5, 15, 12, 0, 0, 0, time.UTC)
	j := db.OpenJournal(JournalOptions{Retention: time.Hour, Buffer: 3 * pruneChunk, Now: func() time.Time { return now }})
	defer j.Close()
	for range 2*pruneChunk + 10 {
		j.Record(domain.RequestRecord{At: now.Add(-2 * time.Hour), Protocol: domain.ProtocolV2})
	}
	j.Record(domain.RequestRecord{At: now, Protocol: domain.ProtocolV2})
	if err := j.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, oldest, _ := db.journalCount(t); n != 1 || oldest != now.Unix() || j.Dropped() != 0 {
		t.Errorf("%d rows left, oldest %v, %d dropped; want the one recent row", n, time.Unix(oldest, 0).UTC(), j.Dropped())
	}
}

// BenchmarkJournal measures what a journaled request costs the writer: one
// op is one record queued, batched and inserted.
//
//	go test -run '^$' -bench Journal ./storage
func BenchmarkJournal(b *testing.B) {
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "deskgate.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	j := db.OpenJournal(JournalOptions{Buffer: 1 << 16})
	defer j.Close()
	rec := domain.RequestRecord{At: time.Now(), RequestID: "k3v9x0q2mz-123456", Protocol: domain.ProtocolV2, Method: "GET",
		Route: "/api/v2/users/{user_id}{json}", Operation: "GET /api/v2/users/{user_id}{json}", Status: 200,
		Duration: time.Millisecond, UserID: 1, Credential: domain.CredentialToken, UserAgent: "Go-http-client/1.1", ClientAddr: "127.0.0.1"}
	b.ResetTimer()
	for i := range b.N {
		j.Record(rec)
		if i%(1<<15) == 0 { // stay within the buffer: a benchmark of drops would measure nothing
			j.Sync(context.Background())
		}
	}
	if err := j.Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
	if j.Dropped() > 0 {
		b.Fatalf("%d of %d records dropped", j.Dropped(), b.N)
	}
}

// TestJournalNamesOnce: what records share is stored once, and the journal
// reads back every record as it came, before and after pruning deletes the
// kinds and clients no row names any more.
func TestJournalNamesOnce(t *testing.T) {
	db := openTestDB(t)
	const kept = 10
	j := db.OpenJournal(JournalOptions{Buffer: 2 * maxJournalIDs, MaxRows: kept})
	defer j.Close()
	rec := func(i int, agent string) domain.RequestRecord {
		return domain.RequestRecord{At: time.Unix(int64(1_800_000_000+i), 0), RequestID: "r-" + strconv.Itoa(i),
			Protocol: domain.ProtocolLegacy, Method: "GET", Route: "/users/{id}.xml", Operation: "GET /users/{id}.xml",
			Status: 200 + i%2, Duration: time.Duration(i) * time.Microsecond, UserID: int64(i % 3), Credential: domain.CredentialToken,
			UserAgent: agent, ClientAddr: "192.0.2.1"}
	}
	type row struct {
		At, Status, DurationUS      int64
		UserID                      sql.NullInt64
		Protocol, Method, Route, Op string
		Credential, Agent, Addr, ID string
	}
	rows := func() []row {
		t.Helper()
		rs, err := db.read.Query(`SELECT at, status, duration_us, user_id, protocol, method, route, operation, credential,
			user_agent, client_addr, request_id FROM request_journal ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var out []row
		for rs.Next() {
			var r row
			if err := rs.Scan(&r.At, &r.Status, &r.DurationUS, &r.UserID, &r.Protocol, &r.Method, &r.Route, &r.Op,
				&r.Credential, &r.Agent, &r.Addr, &r.ID); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	want := func(recs ...domain.RequestRecord) []row {
		var out []row
		for _, r := range recs {
			out = append(out, row{r.At.Unix(), int64(r.Status), r.Duration.Microseconds(), sql.NullInt64{Int64: r.UserID, Valid: r.UserID != 0},
				string(r.Protocol), r.Method, r.Route, r.Operation, r.Credential.String(), r.UserAgent, r.ClientAddr, r.RequestID})
		}
		return out
	}
	named := func() (kinds, clients int) {
		t.Helper()
		if err := db.read.QueryRow("SELECT (SELECT count(*) FROM request_kinds), (SELECT count(*) FROM request_clients)").Scan(&kinds, &clients); err != nil {
			t.Fatal(err)
		}
		return kinds, clients
	}

	// Two clients, one kind: stored once each.
	first := []domain.RequestRecord{rec(0, "OldSync/1.0"), rec(1, "OldSync/1.0"), rec(2, "Other/2"), rec(3, "OldSync/1.0")}
	for _, r := range first {
		j.Record(r)
	}
	if err := j.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want(first...), rows()); diff != "" {
		t.Fatalf("rows (-want +got):\n%s", diff)
	}
	if kinds, clients := named(); kinds != 1 || clients != 2 {
		t.Errorf("%d kinds, %d clients stored, want 1 and 2", kinds, clients)
	}

	// A client with a new user agent every request: once they outnumber
	// maxJournalIDs, the clients only pruned rows named go.
	var last []domain.RequestRecord
	for i := range maxJournalIDs + kept {
		r := rec(4+i, "agent/"+strconv.Itoa(i))
		j.Record(r)
		last = append(last, r)
	}
	if err := j.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	last = last[len(last)-kept:]
	if diff := cmp.Diff(want(last...), rows()); diff != "" {
		t.Fatalf("rows after pruning (-want +got):\n%s", diff)
	}
	if kinds, clients := named(); kinds != 1 || clients != kept {
		t.Errorf("after pruning %d kinds, %d clients stored, want 1 and %d", kinds, clients, kept)
	}
	// The writer forgot the ids pruning deleted: a client seen before comes back.
	again := rec(1_000_000, "OldSync/1.0")
	j.Record(again)
	if err := j.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := rows(); len(got) != kept || got[kept-1] != want(again)[0] {
		t.Errorf("the newest row after pruning: %+v", got[len(got)-1])
	}
}

// TestJournalAfterReplace: a test-mode reset or snapshot restore replaces the
// kinds and clients the writer remembers ids of, and what it writes after
// either still reads back as it came.
func TestJournalAfterReplace(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	j := db.OpenJournal(JournalOptions{})
	defer j.Close()
	write := func(agent string) {
		t.Helper()
		j.Record(domain.RequestRecord{At: time.Unix(1_800_000_000, 0), RequestID: agent, Protocol: domain.ProtocolV2, Method: "GET",
			Route: "/api/v2/users/{user_id}{json}", Operation: "GET /api/v2/users/{user_id}{json}", Status: 200,
			Credential: domain.CredentialPassword, UserAgent: agent, ClientAddr: "192.0.2.7"})
		if err := j.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	agents := func() (out []string) {
		t.Helper()
		rows, err := db.read.Query("SELECT user_agent FROM request_journal ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var a string
			if err := rows.Scan(&a); err != nil {
				t.Fatal(err)
			}
			out = append(out, a)
		}
		return out
	}
	write("before-snapshot")
	if err := db.Snapshot(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	write("after-snapshot")
	if err := db.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	write("after-snapshot") // its client was stored before the reset emptied the table
	if got, want := agents(), []string{"after-snapshot"}; !slices.Equal(got, want) {
		t.Errorf("after the reset: %q, want %q", got, want)
	}
	write("after-reset")
	if ok, err := db.Restore(ctx, "s"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	write("after-reset") // stored after the snapshot: gone with the restore
	if got, want := agents(), []string{"before-snapshot", "after-reset"}; !slices.Equal(got, want) {
		t.Errorf("after the restore: %q, want %q", got, want)
	}
}
