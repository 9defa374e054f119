// Package testmode is deskgate's test double mode: a control API under
// /__deskgate/ that loads fixtures, resets and snapshots the directory,
// moves the clock, injects faults and lists the requests the server saw.
// It is mounted only when asked for (-test-mode); every control operation
// needs the account owner's credentials.
package testmode

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/observe"
)

// Prefix is the control API's path prefix; without test mode every path
// under it is a 404.
const Prefix = "/__deskgate/"

// Snapshotter is what test mode needs from the store (storage.DB has it).
type Snapshotter interface {
	Snapshot(ctx context.Context, name string) error
	// Restore reports false when there is no snapshot of that name.
	Restore(ctx context.Context, name string) (bool, error)
	Snapshots() []string
	// Reset empties the directory but for the account owner.
	Reset(ctx context.Context) error
}

// Controller holds test mode's state and runs its operations. Its methods
// trust their caller, which holds the server; the control API checks the
// owner's credentials before it calls them.
type Controller struct {
	svc   *domain.Service
	store Snapshotter
	clock *Clock
	log   *slog.Logger

	// gate lets API requests run together (read lock) and a restore or a
	// reset alone (write lock): it waits for requests in flight to finish
	// and holds new ones back until the new contents are in place, so no
	// request reads part of the old directory and part of the new.
	gate     sync.RWMutex
	faults   faults
	requests ring
}

// New returns test mode over svc, whose clock must be clock.Now. log (nil
// discards) hears about control requests that failed on the server's side.
func New(svc *domain.Service, store Snapshotter, clock *Clock, log *slog.Logger) *Controller {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Controller{svc: svc, store: store, clock: clock, log: log}
}

// Clock is the service's clock.
func (c *Controller) Clock() *Clock { return c.clock }

// Wrap puts test mode around the API handler: it injects faults and holds
// requests back during a restore. Control API requests go straight through,
// so a restore can never wait for itself.
func (c *Controller) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The Date header follows the service's clock: with a frozen clock,
		// responses repeat byte for byte.
		w.Header().Set("Date", c.clock.Now().Format(http.TimeFormat))
		if strings.HasPrefix(r.URL.Path, Prefix) {
			next.ServeHTTP(w, r)
			return
		}
		if rule := c.faults.pick(r); rule != nil {
			var done bool
			if r, done = inject(w, r, rule); done {
				return
			}
		}
		c.gate.RLock()
		defer c.gate.RUnlock()
		next.ServeHTTP(w, r)
	})
}

// LoadFixture loads a JSON fixture through the service: every rule applies,
// and a fixture with one bad item is refused whole. ctx must act for the
// owner (domain.Service.AsOwner gives one at start-up).
func (c *Controller) LoadFixture(ctx context.Context, data []byte) (*domain.Loaded, error) {
	f, err := decodeFixture(data)
	if err != nil {
		return nil, err
	}
	return c.svc.LoadFixture(ctx, f)
}

// OwnerContext returns ctx acting for the account owner, for in-process
// callers of LoadFixture.
func (c *Controller) OwnerContext(ctx context.Context) (context.Context, error) {
	return c.svc.AsOwner(ctx)
}

// Reset makes the directory a new account's: the owner and the default
// group; ids start again after them.
func (c *Controller) Reset(ctx context.Context) error {
	return c.replace(ctx, c.store.Reset)
}

// Snapshot saves the directory under name.
func (c *Controller) Snapshot(ctx context.Context, name string) error {
	return c.store.Snapshot(ctx, name)
}

// Restore puts back the directory saved under name.
func (c *Controller) Restore(ctx context.Context, name string) error {
	return c.replace(ctx, func(ctx context.Context) error {
		found, err := c.store.Restore(ctx, name)
		if err == nil && !found {
			err = domain.Errorf(domain.NotFound, "There is no snapshot named %q", name)
		}
		return err
	})
}

// replace swaps the store's contents while no API request runs, then tells
// the service, whose remembered credentials are now stale and which gives an
// emptied directory its default group again.
func (c *Controller) replace(ctx context.Context, swap func(context.Context) error) error {
	defer c.svc.HoldAgentStreams()() // an open agent event stream would hold the gate for ever
	c.gate.Lock()
	defer c.gate.Unlock()
	err := swap(ctx)
	// Even after a failure: the store may have changed.
	return errors.Join(err, c.svc.StoreReplaced(ctx))
}

// Record keeps r in the list Requests shows; it is the observe.Sink the
// handler records API requests to, as their answers go out.
func (c *Controller) Record(r observe.Request) {
	c.requests.add(Request{Time: r.At, Method: r.Method, Path: r.Path, Query: r.Query, Status: r.Status})
}

// Requests lists the recorded API requests matching f, oldest first.
func (c *Controller) Requests(f RequestFilter) []Request { return c.requests.find(f) }

// AddFaults checks rules and appends them all, or none if one is bad; it
// returns the whole list.
func (c *Controller) AddFaults(rules []Rule) ([]Rule, error) { return c.faults.add(rules) }

// Faults lists the fault rules with their counts.
func (c *Controller) Faults() []Rule { return c.faults.list() }

// ClearFaults removes every fault rule.
func (c *Controller) ClearFaults() { c.faults.clear() }
