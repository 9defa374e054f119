// Package deskgate serves two generations of a help-desk Users API, the
// legacy XML API and the v2 JSON API, over one shared domain.
package deskgate

import (
	"io"
	"log/slog"
	"net/http"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/jsonapi"
	"github.com/deskgate/deskgate/xmlapi"
	"github.com/gorilla/mux"
)

// NewHandler mounts both APIs and the health check on one router. baseURL is
// the origin of absolute URLs in responses; empty derives it from each
// request's Host.
func NewHandler(svc *domain.Service, baseURL string, log *slog.Logger) http.Handler {
	base := func(r *http.Request) string {
		if baseURL != "" {
			return baseURL
		}
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		return scheme + "://" + r.Host
	}
	r := mux.NewRouter()
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	}).Methods(http.MethodGet)
	xmlapi.New(svc, base, log).Routes(r)
	jsonapi.New(svc, base, log).Routes(r)
	return r
}
