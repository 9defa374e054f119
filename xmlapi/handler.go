// Package xmlapi serves the retired legacy XML Users API (/users.xml).
package xmlapi

import (
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/observe"
	"github.com/gorilla/mux"
)

// Handler serves the legacy API from the domain service.
type Handler struct {
	svc  *domain.Service
	base func(*http.Request) string // the origin for Location headers
	log  *slog.Logger
	// The Deprecation and Sunset values every legacy response carries,
	// spelled once: the policy is the service's from its start.
	announced func() announcement
}

type announcement struct{ deprecated, sunset []string } // sunset nil: none

// New returns the legacy API's handler. base gives the origin
// ("http://host:port") absolute URLs start with.
func New(svc *domain.Service, base func(*http.Request) string, log *slog.Logger) *Handler {
	return &Handler{svc: svc, base: base, log: log, announced: sync.OnceValue(func() announcement {
		p := svc.LegacyPolicy()
		a := announcement{deprecated: []string{"@" + strconv.FormatInt(p.DeprecatedAt.Unix(), 10)}}
		if !p.Sunset.IsZero() {
			a.sunset = []string{p.Sunset.UTC().Format(http.TimeFormat)}
		}
		return a
	})}
}

// Routes mounts every legacy route on r, a user's show first: gorilla/mux
// tries routes in order.
func (h *Handler) Routes(r *mux.Router) {
	r.Handle("/users/{id:[0-9]+}.xml", h.adapt(h.showUser)).Methods(http.MethodGet)
	r.Handle("/users/{id:[0-9]+}.xml", h.adapt(h.updateUser)).Methods(http.MethodPut)
	r.Handle("/users/{id:[0-9]+}.xml", h.adapt(h.deleteUser)).Methods(http.MethodDelete)
	r.Handle("/users.xml", h.adapt(h.listUsers)).Methods(http.MethodGet)
	r.Handle("/users.xml", h.adapt(h.createUser)).Methods(http.MethodPost)
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// adapt announces the API's deprecation on every response (refusing the
// call once the sunset has passed, if so configured), counts the request
// against its rate limit, then writes any error the handler returns in the
// legacy format.
func (h *Handler) adapt(f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h.deprecation(w, r)
		if err == nil {
			_, err = h.svc.Admit(r.Context(), domain.Requests)
		}
		if err == nil {
			err = f(w, r)
		}
		if err != nil {
			h.writeError(w, r, err)
		}
	})
}

// deprecation sets Deprecation (RFC 9745), Sunset (RFC 8594) and a Link to
// the v2 resource that replaces the request's, and returns Gone when the
// legacy API no longer serves.
func (h *Handler) deprecation(w http.ResponseWriter, r *http.Request) error {
	hd, a := w.Header(), h.announced()
	hd["Deprecation"] = a.deprecated
	if a.sunset != nil {
		hd["Sunset"] = a.sunset
	}
	q := observe.Query(r)
	op, ok := domain.LegacyOperationOf(r.Method, observe.Template(r), q)
	if !ok {
		return nil
	}
	var spelled [160]byte // on the stack: a link this long costs one allocation, its string
	link := append(spelled[:0], '<')
	link = append(link, h.base(r)...)
	link = op.AppendSuccessorPath(link, observe.Vars(r)["id"], q.Get("query"))
	link = append(link, successorRel...)
	value := string(link)
	hd["Link"] = []string{value}
	return h.svc.CheckLegacy(op.Method, value[1:len(value)-len(successorRel)])
}

const successorRel = `>; rel="successor-version"`

// pathID reads the {id} of the route; the route admits digits only.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(observe.Vars(r)["id"], 10, 64)
	if err != nil || id < 1 {
		return 0, domain.ErrNotFound // too large to be any user's id
	}
	return id, nil
}

func (h *Handler) showUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	// The body depends on the year besides the user: a zone shows the
	// standard offset of the current year.
	now := h.svc.Now()
	body, err := h.svc.RenderedUser(r.Context(), id, domain.RenderVariant{API: "legacy", Year: now.Year()}, func(u *domain.User) ([]byte, error) {
		return renderUser(u, now), nil
	})
	if err != nil {
		return err
	}
	writeXML(w, http.StatusOK, body)
	return nil
}

// listUsers serves both the full list and the search (?query=John&role=2).
func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page := 1
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return badRequest("page must be a whole number from 1 up, e.g. ?page=2")
		}
		page = n
	}
	var role *domain.Role
	if s := q.Get("role"); s != "" {
		code, err := strconv.Atoi(s)
		rl, ok := domain.RoleFromLegacy(code)
		if err != nil || !ok {
			return badRequest("role must be 0 (end user), 2 (administrator) or 4 (agent)")
		}
		role = &rl
	}
	query := q.Get("query")
	us, err := h.svc.LegacyUsers(r.Context(), query, role, page)
	if err != nil {
		return err
	}
	roleTag := rolesElement
	if domain.LegacySearch(query, role) {
		roleTag = searchRolesElement
	}
	h.writeUsers(w, us, roleTag)
	return nil
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) error {
	c, err := h.readChanges(r)
	if err != nil {
		return err
	}
	u, err := h.svc.CreateUser(r.Context(), c)
	if err != nil {
		return err
	}
	w.Header().Set("Location", h.base(r)+"/users/"+strconv.FormatInt(u.ID, 10)+".xml")
	h.writeUser(w, http.StatusCreated, u)
	return nil
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := h.readChanges(r)
	if err != nil {
		return err
	}
	u, err := h.svc.UpdateUser(r.Context(), id, c)
	if err != nil {
		return err
	}
	h.writeUser(w, http.StatusOK, u)
	return nil
}

// deleteUser deactivates the user: legacy "destroy" is a soft delete.
func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u, err := h.svc.DeleteUser(r.Context(), id)
	if err != nil {
		return err
	}
	h.writeUser(w, http.StatusOK, u)
	return nil
}

// readChanges reads a user document; an unauthenticated caller's body is
// never parsed, nor one declared as anything but XML.
func (h *Handler) readChanges(r *http.Request) (domain.UserChanges, error) {
	if err := domain.Authenticated(r.Context()); err != nil {
		return domain.UserChanges{}, err
	}
	if err := checkMediaType(r); err != nil {
		return domain.UserChanges{}, err
	}
	d, err := readDocument(r)
	if err != nil {
		return domain.UserChanges{}, err
	}
	return d.changes()
}
