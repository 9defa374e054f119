package xmlapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/observe"
)

// status is the only place the legacy API picks a status for an error.
var status = map[domain.Kind]int{
	domain.Invalid:         http.StatusUnprocessableEntity,
	domain.Conflict:        http.StatusUnprocessableEntity,
	domain.TooMany:         http.StatusUnprocessableEntity,
	domain.NotFound:        http.StatusNotFound,
	domain.Unauthenticated: http.StatusUnauthorized,
	domain.Forbidden:       http.StatusForbidden,
	domain.SeatLimit:       http.StatusInsufficientStorage,
	domain.BadRequest:      http.StatusBadRequest,
	domain.TooManyRequests: http.StatusTooManyRequests,
	domain.Gone:            http.StatusGone,
}

// writeError answers with <errors><error>…</error></errors>: one <error> per
// invalid field, in Rails' full-message style, or the error's message.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	var media *mediaTypeError
	switch {
	case errors.As(err, &tooBig):
		writeErrors(w, http.StatusRequestEntityTooLarge, "The body is larger than 1 MiB.")
		return
	case errors.As(err, &media):
		writeErrors(w, http.StatusUnsupportedMediaType, "Send the body as XML with Content-Type: application/xml (got "+media.got+").")
		return
	}
	e := domain.AsError(err)
	code, ok := status[e.Kind]
	if !ok {
		route, _ := observe.CurrentRoute(r).GetPathTemplate() // the template: no ids in the log
		h.log.ErrorContext(r.Context(), "legacy request failed", "method", r.Method, "route", route, "err", err)
		writeErrors(w, http.StatusInternalServerError, "Something went wrong on our side; the request may be retried.")
		return
	}
	switch e.Kind {
	case domain.Unauthenticated:
		w.Header().Set("WWW-Authenticate", `Basic realm="deskgate"`)
	case domain.TooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if len(e.Fields) == 0 {
		writeErrors(w, code, e.Msg)
		return
	}
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Message
	}
	writeErrors(w, code, msgs...)
}

func writeErrors(w http.ResponseWriter, code int, msgs ...string) {
	var b xmlWriter
	b.start()
	b.open("errors")
	for _, m := range msgs {
		b.elem("error", m)
	}
	b.close("errors")
	b.send(w, code)
}

// NotFound answers a path no legacy route serves (malformed ids included:
// routes admit digits only).
func (h *Handler) NotFound(w http.ResponseWriter, _ *http.Request) {
	writeErrors(w, http.StatusNotFound, "No such page. The legacy API serves /users.xml and /users/{id}.xml.")
}

// MethodNotAllowed answers a method the path does not take; the router has
// set the Allow header to the methods it does.
func (h *Handler) MethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeErrors(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on this path; it takes "+w.Header().Get("Allow")+".")
}
