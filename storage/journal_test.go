package storage

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/deskgate/deskgate/domain"
)

func openTestDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "deskgate.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
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

// TestBoxedTextsBounded: the writer's boxed texts answer each text as
// itself, and a client sending a new user agent every request cannot grow
// them past maxBoxedTexts.
func TestBoxedTextsBounded(t *testing.T) {
	var b boxedTexts
	for i := range 3 * maxBoxedTexts {
		agent := "agent/" + strconv.Itoa(i)
		if got := b.box(agent); got != agent {
			t.Fatalf("box(%q) = %v", agent, got)
		}
		if len(b) > maxBoxedTexts {
			t.Fatalf("%d texts held after %d boxed, want at most %d", len(b), i+1, maxBoxedTexts)
		}
	}
	if got := b.box("v2"); got != "v2" || b.box("v2") != got {
		t.Errorf("a repeated text: %v", got)
	}
}
