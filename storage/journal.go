package storage

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deskgate/deskgate/domain"
)

// Journal writes request records to the database in the background. Record
// never blocks: records wait in a bounded buffer and are written in batches,
// one transaction each; when the buffer is full they are dropped and counted.
type Journal struct {
	db        *DB
	records   chan domain.RequestRecord
	batchDue  chan struct{} // a full batch waits: the writer need not wait for its tick
	syncs     chan chan struct{}
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	retention time.Duration
	maxRows   int64
	now       func() time.Time
	ids       journalIDs // the writer's
	namedKept int        // kinds and clients the last pruneUnnamed kept
	idsOf     uint64     // the db.replaced the ids are of

	written, dropped atomic.Uint64
}

// JournalOptions bound the journal; the zero value takes the defaults.
type JournalOptions struct {
	Retention time.Duration    // rows older than this are pruned; default 30 days
	MaxRows   int64            // the newest rows kept at most; default 1,000,000
	Buffer    int              // records waiting to be written at most; default 2048
	Now       func() time.Time // the clock retention is measured by; default time.Now
}

const (
	journalBatch      = 512         // records per write transaction at most
	journalFlushEvery = time.Second // how long a record waits for a full batch at most
	journalPruneEvery = time.Minute
)

// OpenJournal starts the journal's writer; Close stops it.
func (db *DB) OpenJournal(opts JournalOptions) *Journal {
	if opts.Retention <= 0 {
		opts.Retention = 30 * 24 * time.Hour
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = 1_000_000
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 2048
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	j := &Journal{
		db:        db,
		records:   make(chan domain.RequestRecord, opts.Buffer),
		batchDue:  make(chan struct{}, 1),
		syncs:     make(chan chan struct{}),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		retention: opts.Retention,
		maxRows:   opts.MaxRows,
		now:       opts.Now,
	}
	go j.run()
	return j
}

// Record queues rec for writing, or drops it when the buffer is full. It
// wakes the writer only once a batch is due, not for every record: waking a
// parked goroutine on every request cost more than writing its row.
func (j *Journal) Record(rec domain.RequestRecord) {
	select {
	case j.records <- rec:
		if len(j.records) >= min(journalBatch, cap(j.records)/2) {
			select {
			case j.batchDue <- struct{}{}:
			default: // already signalled
			}
		}
	default:
		j.dropped.Add(1)
	}
}

// Dropped counts the records lost to a full buffer or a failed write.
func (j *Journal) Dropped() uint64 { return j.dropped.Load() }

// Written counts the records stored.
func (j *Journal) Written() uint64 { return j.written.Load() }

// Sync writes every record queued before the call and prunes old rows.
func (j *Journal) Sync(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case j.syncs <- done:
	case <-j.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued and stops the writer. Close it before the DB.
func (j *Journal) Close() {
	j.closeOnce.Do(func() { close(j.stop) })
	<-j.done
}

func (j *Journal) run() {
	defer close(j.done)
	flush := time.NewTicker(journalFlushEvery)
	defer flush.Stop()
	prune := time.NewTicker(journalPruneEvery)
	defer prune.Stop()
	j.prune()
	batch := make([]domain.RequestRecord, 0, journalBatch)
	drain := func() { // what is queued now; what comes meanwhile waits for the next signal or tick
		for range len(j.records) {
			if batch = append(batch, <-j.records); len(batch) == journalBatch {
				j.write(batch)
				batch = batch[:0]
			}
		}
		if len(batch) > 0 {
			j.write(batch)
			batch = batch[:0]
		}
	}
	for {
		select {
		case <-j.batchDue:
			drain()
		case <-flush.C:
			drain()
		case <-prune.C:
			drain()
			j.prune()
		case done := <-j.syncs:
			drain()
			j.prune()
			close(done)
		case <-j.stop:
			drain()
			return
		}
	}
}

// journalColumns are the columns one record fills; rowsPerInsert records
// go in one INSERT, as a call into SQLite costs more than the row it writes.
const (
	journalColumns = "(at, kind_id, client_id, status, duration_us, user_id, request_id)"
	rowsPerInsert  = 64
)

func (j *Journal) write(batch []domain.RequestRecord) {
	ctx := context.Background()
	err := j.db.inTx(ctx, func(tx *sql.Tx) error {
		if seen := j.db.replaced.Load(); seen != j.idsOf {
			j.ids.forget() // a reset or a restore replaced the kinds and clients
			j.idsOf = seen
		}
		args := make([]any, 0, 7*rowsPerInsert)
		for rows := range slices.Chunk(batch, rowsPerInsert) {
			args = args[:0]
			for _, r := range rows {
				kind, client, err := j.ids.of(ctx, tx, r)
				if err != nil {
					return err
				}
				var user any // NULL for no user
				if r.UserID != 0 {
					user = r.UserID
				}
				args = append(args, r.At.Unix(), kind, client, int64(r.Status), r.Duration.Microseconds(), user, r.RequestID)
			}
			values := strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?),", len(rows)), ",")
			if _, err := tx.Exec("INSERT INTO request_log "+journalColumns+" VALUES "+values, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		j.ids.forget() // ids this transaction stored are gone with it
		j.dropped.Add(uint64(len(batch)))
		j.db.log.Warn("request journal write", "records", len(batch), "err", err)
		return
	}
	j.written.Add(uint64(len(batch)))
}

// journalIDs are the writer's memory of the request kinds and clients
// stored (migration 0018), each id boxed as Exec takes it. Each map holds
// maxJournalIDs at most and starts again when full, so that clients sending
// a new user agent every request cannot grow it without bound.
type journalIDs struct {
	kinds   map[requestKind]any
	clients map[requestClient]any
}

type requestKind struct{ protocol, method, route, operation, credential string }

type requestClient struct{ userAgent, addr string }

const maxJournalIDs = 4096

// of returns the ids of r's kind and client, storing either when new.
func (ids *journalIDs) of(ctx context.Context, tx *sql.Tx, r domain.RequestRecord) (kind, client any, err error) {
	k := requestKind{string(r.Protocol), r.Method, r.Route, r.Operation, r.Credential.String()}
	kind, err = remembered(&ids.kinds, k, func() (int64, error) {
		return storedID(ctx, tx, `INSERT INTO request_kinds (protocol, method, route, operation, credential) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT DO UPDATE SET protocol = excluded.protocol RETURNING id`, k.protocol, k.method, k.route, k.operation, k.credential)
	})
	if err != nil {
		return nil, nil, err
	}
	c := requestClient{r.UserAgent, r.ClientAddr}
	client, err = remembered(&ids.clients, c, func() (int64, error) {
		return storedID(ctx, tx, `INSERT INTO request_clients (user_agent, client_addr) VALUES (?, ?)
			ON CONFLICT DO UPDATE SET user_agent = excluded.user_agent RETURNING id`, c.userAgent, c.addr)
	})
	return kind, client, err
}

// forget drops every id remembered: after a rollback, or once pruning has
// deleted kinds or clients.
func (ids *journalIDs) forget() { *ids = journalIDs{} }

func remembered[K comparable](m *map[K]any, key K, store func() (int64, error)) (any, error) {
	if id, ok := (*m)[key]; ok {
		return id, nil
	}
	id, err := store()
	if err != nil {
		return nil, err
	}
	if *m == nil || len(*m) >= maxJournalIDs {
		*m = make(map[K]any)
	}
	boxed := any(id)
	(*m)[key] = boxed
	return boxed, nil
}

// storedID runs an upsert that returns the id of the row it found or made:
// the no-op update makes a conflicting row return its id too.
func storedID(ctx context.Context, tx *sql.Tx, upsert string, args ...any) (id int64, err error) {
	err = tx.QueryRowContext(ctx, upsert, args...).Scan(&id)
	return id, err
}

// pruneChunk is how many rows one prune transaction deletes at most: a
// minute of heavy traffic can be far more rows than the one writer should
// be held for at once, and API writes get their turn between chunks.
const pruneChunk = 5000

// prune deletes rows past the retention and beyond the row cap; ids only
// grow, so the cap keeps the newest rows.
func (j *Journal) prune() {
	for _, step := range []struct {
		query string
		arg   int64
	}{
		{"DELETE FROM request_log WHERE id IN (SELECT id FROM request_log WHERE at < ? ORDER BY at LIMIT ?)",
			j.now().Add(-j.retention).Unix()},
		{"DELETE FROM request_log WHERE id IN (SELECT id FROM request_log WHERE id <= (SELECT max(id) FROM request_log) - ? ORDER BY id LIMIT ?)",
			j.maxRows},
	} {
		for {
			var deleted int64
			err := j.db.inTx(context.Background(), func(tx *sql.Tx) error {
				res, err := tx.Exec(step.query, step.arg, pruneChunk)
				if err != nil {
					return err
				}
				deleted, err = res.RowsAffected()
				return err
			})
			if err != nil {
				j.db.log.Warn("request journal prune", "err", err)
				return
			}
			if deleted < pruneChunk {
				break
			}
		}
	}
	j.pruneUnnamed()
}

// pruneUnnamed deletes the request kinds and clients no row names once
// there are more than maxJournalIDs of them and more than twice as many as
// the last such pruning kept: it reads the ids of every row, so the more
// there are to keep, the rarer it runs.
func (j *Journal) pruneUnnamed() {
	const count = "SELECT (SELECT count(*) FROM request_kinds) + (SELECT count(*) FROM request_clients)"
	pruned := false
	err := j.db.inTx(context.Background(), func(tx *sql.Tx) error {
		var named int
		if err := tx.QueryRow(count).Scan(&named); err != nil || named <= max(maxJournalIDs, 2*j.namedKept) {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM request_kinds WHERE id NOT IN (SELECT kind_id FROM request_log);
			DELETE FROM request_clients WHERE id NOT IN (SELECT client_id FROM request_log)`); err != nil {
			return err
		}
		pruned = true
		return tx.QueryRow(count).Scan(&j.namedKept)
	})
	if err != nil {
		j.db.log.Warn("request journal prune", "err", err)
		return
	}
	if pruned {
		j.ids.forget()
	}
}

func (r reader) LegacyCalls(ctx context.Context, since time.Time) ([]domain.LegacyCalls, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT coalesce(user_id, 0), credential, user_agent, operation, count(*), max(at)
		FROM request_journal WHERE protocol = 'legacy' AND at >= ?
		GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`, since.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.LegacyCalls
	for rows.Next() {
		var c domain.LegacyCalls
		var credential string
		var last int64
		if err := rows.Scan(&c.UserID, &credential, &c.UserAgent, &c.Operation, &c.Requests, &last); err != nil {
			return nil, err
		}
		c.Credential = domain.ParseCredential(credential)
		c.LastSeen = time.Unix(last, 0).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

func (r reader) DailyRequests(ctx context.Context, since time.Time) ([]domain.DayRequests, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT at / 86400, count(*) FILTER (WHERE protocol = 'legacy'), count(*) FILTER (WHERE protocol = 'v2')
		FROM request_journal WHERE at >= ? GROUP BY 1 ORDER BY 1`, since.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.DayRequests
	for rows.Next() {
		var d domain.DayRequests
		var day int64
		if err := rows.Scan(&day, &d.Legacy, &d.V2); err != nil {
			return nil, err
		}
		d.Day = time.Unix(day*86400, 0).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}
