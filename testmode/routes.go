package testmode

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/observe"
	"github.com/gorilla/mux"
)

// Routes mounts the control API on r, whose middleware authenticates.
func (c *Controller) Routes(r *mux.Router) {
	s := r.PathPrefix(Prefix).Subrouter()
	s.Handle("/fixtures", c.adapt(c.handleFixtures)).Methods(http.MethodPost)
	s.Handle("/reset", c.adapt(c.handleReset)).Methods(http.MethodPost)
	s.Handle("/snapshots", c.adapt(c.handleSnapshots)).Methods(http.MethodGet)
	s.Handle("/snapshots/{name}", c.adapt(c.handleSnapshot)).Methods(http.MethodPost)
	s.Handle("/snapshots/{name}/restore", c.adapt(c.handleRestore)).Methods(http.MethodPost)
	s.Handle("/clock", c.adapt(c.handleClock)).Methods(http.MethodGet, http.MethodPost)
	s.Handle("/faults", c.adapt(c.handleFaults)).Methods(http.MethodGet, http.MethodPost, http.MethodDelete)
	s.Handle("/requests", c.adapt(c.handleRequests)).Methods(http.MethodGet)
	s.PathPrefix("/").Handler(c.adapt(func(http.ResponseWriter, *http.Request) error {
		return domain.Errorf(domain.NotFound, "No such control operation; see the README's test mode section")
	}))
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// adapt checks that the owner is asking (every control operation is the
// owner's) and writes any error in the control API's format.
func (c *Controller) adapt(f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := c.svc.CheckOwner(r.Context())
		if err == nil {
			err = f(w, r)
		}
		if err != nil {
			writeError(w, r, c.log, err)
		}
	})
}

// decode reads a JSON body into v; an empty body leaves v as it is.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && err != io.EOF {
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			return err
		}
		return &domain.Error{Kind: domain.BadRequest, Code: "InvalidJSON", Msg: "The body is not valid JSON for this operation: " + err.Error()}
	}
	return nil
}

type loadedJSON struct {
	OrganizationIDs []int64 `json:"organization_ids"`
	GroupIDs        []int64 `json:"group_ids"`
	UserIDs         []int64 `json:"user_ids"`
}

func (c *Controller) handleFixtures(w http.ResponseWriter, r *http.Request) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	l, err := c.LoadFixture(r.Context(), data)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, loadedJSON{
		OrganizationIDs: orEmpty(l.OrganizationIDs), GroupIDs: orEmpty(l.GroupIDs), UserIDs: orEmpty(l.UserIDs),
	})
	return nil
}

func orEmpty(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

func (c *Controller) handleReset(w http.ResponseWriter, r *http.Request) error {
	if err := c.Reset(r.Context()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type snapshotsJSON struct {
	Snapshots []string `json:"snapshots"`
}

func (c *Controller) handleSnapshots(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, snapshotsJSON{c.store.Snapshots()})
	return nil
}

func (c *Controller) handleSnapshot(w http.ResponseWriter, r *http.Request) error {
	if err := c.Snapshot(r.Context(), observe.Vars(r)["name"]); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, snapshotsJSON{c.store.Snapshots()})
	return nil
}

func (c *Controller) handleRestore(w http.ResponseWriter, r *http.Request) error {
	if err := c.Restore(r.Context(), observe.Vars(r)["name"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type clockJSON struct {
	Now     string `json:"now"`
	Frozen  bool   `json:"frozen"`
	Advance string `json:"advance,omitempty"` // only in requests
}

// handleClock shows the clock (GET) or sets it: {"now": RFC 3339} freezes it
// there, {"advance": "36h"} moves it forward.
func (c *Controller) handleClock(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodPost {
		var in clockJSON
		if err := decode(r, &in); err != nil {
			return err
		}
		if err := c.setClock(in); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, clockJSON{Now: c.clock.Now().Format(time.RFC3339Nano), Frozen: c.clock.Frozen()})
	return nil
}

func (c *Controller) setClock(in clockJSON) error {
	switch {
	case (in.Now == "") == (in.Advance == ""):
		return clockInvalid("now", `give either "now" (an RFC 3339 time) or "advance" (a duration such as 36h)`)
	case in.Now != "":
		t, err := time.Parse(time.RFC3339Nano, in.Now)
		if err != nil {
			return clockInvalid("now", "must be an RFC 3339 time such as 2024-01-01T00:00:00Z")
		}
		c.clock.Set(t)
	default:
		d, err := time.ParseDuration(in.Advance)
		if err != nil || d < 0 {
			return clockInvalid("advance", "must be a duration from 0 up, such as 90s or 36h")
		}
		c.clock.Advance(d)
	}
	return nil
}

func clockInvalid(field, why string) error {
	return &domain.Error{Kind: domain.Invalid, Msg: "Invalid clock change", Fields: []domain.FieldError{domain.FieldInvalid(field, why)}}
}

type faultsJSON struct {
	Faults []Rule `json:"faults"`
}

// handleFaults lists (GET), adds (POST {"faults": [rule…]}) or clears
// (DELETE) the fault rules.
func (c *Controller) handleFaults(w http.ResponseWriter, r *http.Request) error {
	switch r.Method {
	case http.MethodDelete:
		c.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
		return nil
	case http.MethodPost:
		var in faultsJSON
		if err := decode(r, &in); err != nil {
			return err
		}
		rules, err := c.AddFaults(in.Faults)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, faultsJSON{rules})
		return nil
	}
	writeJSON(w, http.StatusOK, faultsJSON{c.Faults()})
	return nil
}

type requestsJSON struct {
	Requests []Request `json:"requests"`
}

// handleRequests lists recorded requests: ?method=PUT&path=/users/*.xml&since=RFC3339.
func (c *Controller) handleRequests(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := RequestFilter{Method: q.Get("method"), Path: q.Get("path")}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return &domain.Error{Kind: domain.BadRequest, Code: "InvalidParameter", Msg: "since must be an RFC 3339 time such as 2024-01-01T00:00:00Z"}
		}
		f.Since = t
	}
	writeJSON(w, http.StatusOK, requestsJSON{c.Requests(f)})
	return nil
}
