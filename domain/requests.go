package domain

import (
	"strings"
	"time"
)

// Protocol is the API generation a request spoke.
type Protocol string

const (
	ProtocolLegacy Protocol = "legacy"
	ProtocolV2     Protocol = "v2"
)

// LoginPath is the browser sign-in, a deskgate endpoint the v2 API serves.
const LoginPath = "/access/login"

// ProtocolOfPath names the API a request path (or route template) belongs
// to: v2 under /api/v2/ and the sign-in, legacy for .xml paths; "" for the
// server's own (health, readiness, metrics, test mode's control API).
func ProtocolOfPath(path string) Protocol {
	switch {
	case strings.HasPrefix(path, "/api/v2/") || path == LoginPath:
		return ProtocolV2
	case strings.HasSuffix(path, ".xml"):
		return ProtocolLegacy
	}
	return ""
}

// RequestRecord is what deskgate keeps of one API request: who called which
// operation and how it went. It holds route templates and credential kinds
// only, never bodies, query values, passwords or tokens, so it may be stored,
// shown to admins and kept for weeks.
type RequestRecord struct {
	At         time.Time // the service clock when the request arrived
	RequestID  string
	Protocol   Protocol
	Method     string
	Route      string // the router's template, "/users/{id}.xml", never the raw path
	Operation  string // Method, Route and what tells a legacy search from a list: "GET /users.xml?query="
	Status     int
	Duration   time.Duration
	UserID     int64 // 0 when the request named no valid user
	Credential Credential
	UserAgent  string
	ClientAddr string // the peer's IP address, without the port
}
