package deskgate_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/deskgate/deskgate"
	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/observe"
	"github.com/deskgate/deskgate/storage"
)

// discardWriter is the least a ResponseWriter can do, so that what
// BenchmarkHandler measures is deskgate's handler alone, without a network
// or net/http's connection work.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

// BenchmarkHandler measures the CPU and allocations of one cached show in
// deskgate's handler, as cmd/deskgate wires it (request log, journal,
// metrics and the in-flight count on) and without them: the part of a request's cost that is
// deskgate's own, free of the loopback noise the load runs carry.
func BenchmarkHandler(b *testing.B) {
	ctx := context.Background()
	const users = 1000
	db, err := storage.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	svc, err := domain.NewService(ctx, db, domain.Config{RateLimit: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := svc.Bootstrap(ctx, domain.Owner{Email: ownerEmail, Password: ownerPassword, Token: ownerToken}); err != nil {
		b.Fatal(err)
	}
	if err := db.SeedUsers(ctx, users, time.Now()); err != nil {
		b.Fatal(err)
	}
	journal := db.OpenJournal(storage.JournalOptions{Now: svc.Now})
	logOut := observe.BufferLog(io.Discard, 100*time.Millisecond)
	b.Cleanup(func() {
		journal.Close()
		logOut.Close()
	})
	handlers := []struct {
		name string
		h    http.Handler
	}{
		{"plain", deskgate.NewHandler(svc, deskgate.Options{BaseURL: testBaseURL})},
		{"observed", deskgate.NewHandler(svc, deskgate.Options{
			BaseURL: testBaseURL, Log: slog.New(slog.NewTextHandler(logOut, nil)),
			Journal: journal, Metrics: observe.NewMetrics(), ServeMetrics: true, InFlight: new(observe.InFlight),
		})},
	}
	for _, api := range []struct{ name, path string }{{"v2-show", "/api/v2/users/%d"}, {"legacy-show", "/users/%d.xml"}} {
		for _, h := range handlers {
			b.Run(api.name+"/"+h.name, func(b *testing.B) {
				reqs := make([]*http.Request, users)
				for i := range reqs {
					reqs[i] = httptest.NewRequest(http.MethodGet, fmt.Sprintf(api.path, i+2), nil)
					reqs[i].SetBasicAuth(ownerEmail+"/token", ownerToken)
					h.h.ServeHTTP(&discardWriter{header: http.Header{}}, reqs[i]) // fills the render cache
				}
				w := &discardWriter{header: http.Header{}}
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					clear(w.header)
					h.h.ServeHTTP(w, reqs[i%users])
					if w.status != 0 && w.status != http.StatusOK {
						b.Fatalf("%s: %d", reqs[i%users].URL, w.status)
					}
				}
			})
		}
	}
}
