package jsonapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/observe"
)

// status is the only place the v2 API picks a status for an error.
var status = map[domain.Kind]int{
	domain.Invalid:         http.StatusUnprocessableEntity,
	domain.SeatLimit:       http.StatusUnprocessableEntity, // v2 has no 507: MaxAgentExceeded in a RecordInvalid body
	domain.Conflict:        http.StatusUnprocessableEntity,
	domain.NotFound:        http.StatusNotFound,
	domain.Unauthenticated: http.StatusUnauthorized,
	domain.Forbidden:       http.StatusForbidden,
	domain.BadRequest:      http.StatusBadRequest,
	domain.TooMany:         http.StatusBadRequest,
	domain.TooManyRequests: http.StatusTooManyRequests,
}

// attributeError is a request value of the wrong JSON type; the real service
// answers it with an error object instead of a string.
type attributeError struct{ attribute, want string }

func (e *attributeError) Error() string { return "invalid attribute " + e.attribute }

type detail struct {
	Description string `json:"description"`
	Error       string `json:"error"`
}

// errorBody is the v2 error envelope clients parse: they branch on error and
// show description and details.
type errorBody struct {
	Error       any                 `json:"error"`
	Description string              `json:"description,omitempty"`
	Details     map[string][]detail `json:"details,omitempty"`
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	var attr *attributeError
	var media *mediaTypeError
	switch {
	case errors.As(err, &media):
		writeJSON(w, http.StatusUnsupportedMediaType, errorBody{Error: "UnsupportedMediaType",
			Description: "Send the body as JSON with Content-Type: application/json (got " + media.got + ")"})
		return
	case errors.As(err, &tooBig):
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: "RequestEntityTooLarge", Description: "The body is larger than 1 MiB"})
		return
	case errors.As(err, &attr):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: map[string]string{
			"title":   "Invalid attribute",
			"message": "You passed an invalid value for the " + attr.attribute + " attribute. Invalid parameter: " + attr.attribute + " must be " + attr.want,
		}})
		return
	}
	e := domain.AsError(err)
	code, ok := status[e.Kind]
	if !ok {
		route, _ := observe.CurrentRoute(r).GetPathTemplate() // the template: no ids in the log
		h.log.ErrorContext(r.Context(), "v2 request failed", "method", r.Method, "route", route, "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "InternalError", Description: "Something went wrong on our side; the request may be retried"})
		return
	}
	body := errorBody{Error: e.Code, Description: e.Msg}
	switch e.Kind {
	case domain.Invalid, domain.SeatLimit:
		body = errorBody{Error: "RecordInvalid", Description: "Record validation errors", Details: map[string][]detail{}}
		for _, f := range e.Fields {
			body.Details[f.Field] = append(body.Details[f.Field], detail{Description: f.Description, Error: f.Code})
		}
	case domain.NotFound:
		body = errorBody{Error: "RecordNotFound", Description: "Not found"}
	case domain.Unauthenticated:
		if challenges(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="Web Password"`)
		}
		body = errorBody{Error: e.Msg}
	case domain.Forbidden:
		body.Error = "Forbidden"
	case domain.Conflict:
		body = errorBody{Error: e.Msg}
	case domain.BadRequest:
		if body.Error == "" {
			body.Error = "BadRequest"
		}
	case domain.TooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
		if body.Error == "" { // the job limit has its own code
			body.Error = "TooManyRequests"
		}
	}
	writeJSON(w, code, body)
}

// challenges reports whether a 401 carries the Basic challenge. A browser
// answers one with its own password dialog, so neither the sign-in nor a
// request whose session cookie has run out gets it: their pages show their
// own refusal and send the user to sign in again.
func challenges(r *http.Request) bool {
	if observe.CurrentRoute(r).GetName() == loginRoute {
		return false
	}
	_, err := r.Cookie(SessionCookie)
	return err != nil
}

// itemError is a failed bulk item's error code and details, the per-item
// counterpart of writeError. create_or_update_many reports every failure as
// UserUpdateError, as observed on the real service (API-NOTES §2.3).
func itemError(t domain.JobType, e *domain.Error) (code, details string) {
	var descs []string
	for _, f := range e.Fields {
		descs = append(descs, f.Description)
	}
	details = strings.Join(descs, "; ")
	if details == "" {
		details = e.Msg
	}
	switch {
	case t == domain.JobCreateOrUpdateMany:
		code = "UserUpdateError"
	case len(e.Fields) > 0:
		code = e.Fields[0].Code
	case e.Kind == domain.NotFound:
		code = "RecordNotFound"
	case e.Kind == domain.Forbidden:
		code = "PermissionDenied"
	case e.Code != "":
		code = e.Code
	default:
		code = "RecordInvalid"
	}
	return code, details
}

// NotFound answers a path no v2 route serves (malformed ids included: routes
// admit digits only) with the body the real service sends for an unknown
// endpoint.
func (h *Handler) NotFound(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusNotFound, errorBody{Error: "InvalidEndpoint", Description: "Not found"})
}

// MethodNotAllowed answers a method the path does not take; the router has
// set the Allow header to the methods it does.
func (h *Handler) MethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "MethodNotAllowed",
		Description: r.Method + " is not allowed on this path; it takes " + w.Header().Get("Allow")})
}
