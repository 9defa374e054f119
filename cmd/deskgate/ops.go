package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/jsonapi"
	"github.com/deskgate/deskgate/observe"
	"github.com/deskgate/deskgate/storage"
	"github.com/prometheus/client_golang/prometheus"
)

// report prints who still calls the legacy API:
// deskgate report legacy [-json] [-since 2026-05-01|7d] [-db deskgate.db].
func report(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "legacy" {
		return errors.New("usage: deskgate report legacy [-json] [-since 2026-05-01|7d] [-db deskgate.db]")
	}
	fs := flag.NewFlagSet("deskgate report legacy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("db", envOr(getenv, "DESKGATE_DB", "deskgate.db"), "SQLite database file (DESKGATE_DB)")
	asJSON := fs.Bool("json", false, "print JSON, the body GET /api/v2/deskgate/legacy_usage answers")
	sinceText := fs.String("since", "", "start of the window: a date (2026-05-01), an RFC 3339 time or days back (7d); default 30d")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if _, err := os.Stat(*path); err != nil {
		return err // opening would create an empty database
	}
	db, err := storage.Open(ctx, *path, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := domain.NewService(ctx, db, domain.Config{})
	if err != nil {
		return err
	}
	since, err := svc.ParseSince(*sinceText)
	if err != nil {
		return err
	}
	u, err := svc.LegacyUsage(domain.Operator(ctx), since)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(jsonapi.LegacyUsage(u))
	}
	printLegacyUsage(stdout, u)
	return nil
}

func printLegacyUsage(w io.Writer, u *domain.LegacyUsage) {
	fmt.Fprintf(w, "Legacy API calls since %s\n\n", u.Since.Format(time.RFC3339))
	if len(u.Clients) == 0 {
		fmt.Fprintln(w, "No legacy requests.")
	}
	// One block per client; a line without tabs ends tabwriter's columns,
	// so each client's operations align among themselves.
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range u.Clients {
		who := c.Email
		if c.UserID == 0 {
			who = "(unauthenticated)"
		} else if who == "" {
			who = "user " + strconv.FormatInt(c.UserID, 10)
		}
		fmt.Fprintf(tw, "%s, %s, %q: %d requests, last %s\n", who, c.Credential, c.UserAgent, c.Requests, c.LastSeen.Format(time.RFC3339))
		for _, op := range c.Operations {
			v2 := op.V2
			if v2 == "" {
				v2 = "(no route matched)"
			}
			fmt.Fprintf(tw, "  %s\t%d\t%s\t→ %s\n", op.Operation, op.Requests, op.LastSeen.Format(time.RFC3339), v2)
		}
	}
	tw.Flush()
	fmt.Fprintln(w, "\nRequests a day (UTC)")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "day\tlegacy\tv2\t")
	for _, d := range u.Days {
		fmt.Fprintf(tw, "%s\t%d\t%d\t\n", d.Day.Format(time.DateOnly), d.Legacy, d.V2)
	}
	tw.Flush()
}

// backup copies a database, also one a server is using:
// deskgate backup -db deskgate.db -to backup.db.
func backup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("deskgate backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("db", envOr(getenv, "DESKGATE_DB", "deskgate.db"), "SQLite database file (DESKGATE_DB)")
	to := fs.String("to", "", "the new backup file; never overwritten")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *to == "" {
		return errors.New("usage: deskgate backup -db deskgate.db -to backup.db")
	}
	size, err := storage.Backup(ctx, *from, *to)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deskgate: backed up %s to %s (%d bytes)\n", *from, *to, size)
	return nil
}

// newMetrics registers what an operator watches besides the requests.
func newMetrics(svc *domain.Service, db *storage.DB, journal *storage.Journal) *observe.Metrics {
	m := observe.NewMetrics()
	seats := func(allowed bool) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			used, limit, err := svc.SeatUsage(ctx)
			if err != nil {
				return -1
			}
			if allowed {
				return float64(limit)
			}
			return float64(used)
		}
	}
	m.GaugeFunc("deskgate_agent_seats_used", "Active agents and admins.", nil, seats(false))
	m.GaugeFunc("deskgate_agent_seats_allowed", "Agent seats the account has; 0 is unlimited.", nil, seats(true))
	m.CounterFunc("deskgate_journal_dropped_total", "Journal records dropped: buffer full or write failed.", nil, func() float64 { return float64(journal.Dropped()) })
	m.CounterFunc("deskgate_journal_written_total", "Journal records written.", nil, func() float64 { return float64(journal.Written()) })
	m.GaugeFunc("deskgate_db_size_bytes", "Size of the database file.", nil, func() float64 { return float64(db.Stats().FileBytes) })
	m.GaugeFunc("deskgate_db_wal_size_bytes", "Size of the write-ahead log.", nil, func() float64 { return float64(db.Stats().WALBytes) })
	for result, count := range map[string]func(storage.Stats) uint64{
		"done":   func(s storage.Stats) uint64 { return s.CheckpointsDone },
		"busy":   func(s storage.Stats) uint64 { return s.CheckpointsBusy },
		"failed": func(s storage.Stats) uint64 { return s.CheckpointsFailed },
	} {
		m.CounterFunc("deskgate_db_checkpoints_total", "WAL checkpoints by result.", prometheus.Labels{"result": result},
			func() float64 { return float64(count(db.Stats())) })
	}
	return m
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
