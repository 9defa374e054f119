package testmode

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/deskgate/deskgate/domain"
)

// statuses is the only place the control API picks a status, and the
// error name it shows when the error carries no code, for an error kind.
var statuses = map[domain.Kind]struct {
	code int
	name string
}{
	domain.Invalid:         {http.StatusUnprocessableEntity, "RecordInvalid"},
	domain.SeatLimit:       {http.StatusUnprocessableEntity, "RecordInvalid"},
	domain.Conflict:        {http.StatusUnprocessableEntity, "Conflict"},
	domain.NotFound:        {http.StatusNotFound, "NotFound"},
	domain.Unauthenticated: {http.StatusUnauthorized, "Unauthenticated"},
	domain.Forbidden:       {http.StatusForbidden, "Forbidden"},
	domain.BadRequest:      {http.StatusBadRequest, "BadRequest"},
	domain.TooMany:         {http.StatusBadRequest, "TooManyValues"},
	domain.TooManyRequests: {http.StatusTooManyRequests, "TooManyRequests"},
}

type detail struct {
	Description string `json:"description"`
	Error       string `json:"error,omitempty"`
}

// errorBody has the v2 API's envelope, so a client that reads Zendesk
// errors reads these too.
type errorBody struct {
	Error       string              `json:"error"`
	Description string              `json:"description,omitempty"`
	Details     map[string][]detail `json:"details,omitempty"`
}

func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: "RequestEntityTooLarge", Description: "The body is larger than 1 MiB"})
		return
	}
	e := domain.AsError(err)
	st, ok := statuses[e.Kind]
	if !ok {
		log.ErrorContext(r.Context(), "control request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "InternalError", Description: "Something went wrong on our side"})
		return
	}
	body := errorBody{Error: e.Code, Description: e.Msg}
	if body.Error == "" {
		body.Error = st.name
	}
	switch st.code {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="deskgate test mode"`)
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if len(e.Fields) > 0 {
		body.Error, body.Details = st.name, map[string][]detail{}
		for _, f := range e.Fields {
			body.Details[f.Field] = append(body.Details[f.Field], detail{Description: f.Description, Error: f.Code})
		}
	}
	writeJSON(w, st.code, body)
}

// writeJSON encodes the whole body before sending the header.
func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		code = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"InternalError","description":"The response could not be encoded"}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}
