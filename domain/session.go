package domain

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// Session is a browser sign-in. Its secret lives only in the client's
// cookie; the store keeps a hash of it.
type Session struct {
	ID              int64
	UserID          int64
	Renewals        int // bumped by a renewal, which changes the authenticity token
	AuthenticatedAt time.Time
	LastSeenAt      time.Time // approximate: refreshed at most every sessionTouch
	ExpiresAt       time.Time // the absolute end; a renewal pushes it out
}

// SessionFilter narrows a session list to one user (0: every user) and to
// the sessions still live at Now.
type SessionFilter struct {
	UserID    int64
	Now       time.Time
	SeenAfter time.Time // sessions idle since then are over
}

// Default session lifetimes: idle and absolute.
const (
	DefaultSessionIdle = 2 * time.Hour
	DefaultSessionMax  = 8 * time.Hour
)

// sessionTouch is how stale last_seen_at may get: writing it on every
// request would cost more than the request. The idle lifetime is therefore
// exact to within this much.
const sessionTouch = time.Minute

// SessionCredentials are what a request presents to authenticate with a
// session cookie.
type SessionCredentials struct {
	Secret    string // the cookie's value
	CSRFToken string // the X-CSRF-Token header
	// StateChanging is true for POST, PUT, PATCH and DELETE: such a request
	// must carry the session's authenticity token.
	StateChanging bool
}

// errCSRF refuses a state change by a session that did not prove it came
// from a page of ours.
var errCSRF = &Error{Kind: Forbidden, Msg: "A request authenticated by the session cookie that changes anything must send the authenticity_token of GET /api/v2/users/me in the X-CSRF-Token header"}

// errCrossSiteSignIn refuses a sign-in posted by another site's page, which
// would sign the browser in to an account of the attacker's choosing (login
// CSRF): SameSite keeps no cookie from being set by such a post.
var errCrossSiteSignIn = &Error{Kind: Forbidden, Msg: "Sign in from a page of this server's own origin: a sign-in sent by another site's page is refused"}

// live reports whether ses is still usable at now.
func (s *Service) live(ses *Session, now time.Time) bool {
	return now.Before(ses.ExpiresAt) && now.Before(ses.LastSeenAt.Add(s.sessionIdle))
}

// liveSessions is the filter of the sessions live now, of one user or all.
func (s *Service) liveSessions(userID int64) SessionFilter {
	now := s.Now()
	return SessionFilter{UserID: userID, Now: now, SeenAfter: now.Add(-s.sessionIdle)}
}

// sessionCSRFToken is the session's authenticity token: a MAC of its id and
// its renewals, so it needs no storage, differs between sessions and changes
// on renewal.
func (s *Service) sessionCSRFToken(ses *Session) string {
	return s.mac(fmt.Sprintf("session-token:%d:%d", ses.ID, ses.Renewals))
}

// mac is msg's HMAC-SHA256 under the service's key, as URL-safe text.
func (s *Service) mac(msg string) string {
	m := hmac.New(sha256.New, s.cursorKey)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SignIn checks an email and password the way Basic authentication does
// and opens a session. It returns the session, the secret for the cookie
// and the session's authenticity token; Unauthenticated for any wrong part,
// Forbidden for a sign-in another site's page sent.
func (s *Service) SignIn(ctx context.Context, email, password string) (ses *Session, secret, token string, err error) {
	if callerOf(ctx).CrossSite {
		return nil, "", "", errCrossSiteSignIn
	}
	email = strings.TrimSpace(email) // as MergeIntoMe reads the same pair
	if email == "" || password == "" {
		return nil, "", "", errUnauthenticated
	}
	p, err := s.principal(ctx, email, password, false)
	if err != nil {
		return nil, "", "", err
	}
	if secret, err = s.newToken(); err != nil {
		return nil, "", "", err
	}
	now := s.Now()
	ses = &Session{UserID: p.ID, AuthenticatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.sessionMax)}
	err = s.inTx(ctx, func(tx Tx) error {
		if err := tx.InsertSession(ctx, ses, HashToken(secret)); err != nil {
			return err
		}
		return tx.TouchLogin(ctx, p.ID, now)
	})
	if err != nil {
		return nil, "", "", err
	}
	return ses, secret, s.sessionCSRFToken(ses), nil
}

// AuthenticateSession checks a session cookie. It returns Unauthenticated
// for an unknown, expired or idle session and for users who may not
// authenticate (the rule Basic credentials meet), and Forbidden for a state
// change without the session's authenticity token.
func (s *Service) AuthenticateSession(ctx context.Context, c SessionCredentials) (*Actor, error) {
	if c.Secret == "" {
		return nil, errUnauthenticated
	}
	ses, p, err := s.sessionBySecret(ctx, c.Secret)
	switch {
	case KindOf(err) == NotFound:
		return nil, errUnauthenticated
	case err != nil:
		return nil, err
	}
	now := s.Now()
	if !s.live(ses, now) {
		return nil, errUnauthenticated
	}
	if err := mayAuthenticate(p); err != nil {
		return nil, err
	}
	token := s.sessionCSRFToken(ses)
	if c.StateChanging && subtle.ConstantTimeCompare([]byte(token), []byte(c.CSRFToken)) != 1 {
		return nil, errCSRF
	}
	if now.Sub(ses.LastSeenAt) >= sessionTouch {
		ses.LastSeenAt = now
		if err := s.inTx(ctx, func(tx Tx) error { return tx.UpdateSession(ctx, ses) }); err != nil {
			return nil, err
		}
	}
	return &Actor{ID: p.ID, Role: p.Role, Owner: p.Owner, Credential: CredentialSession, SessionID: ses.ID, sessionToken: token}, nil
}

// sessionBySecret finds the session a cookie's secret opens, and its user.
// Like Basic credentials it answers from memory while no write recorded
// against the session's user has committed since it was read: a logout, a
// deactivation, a password change and a last_seen_at refresh are each one,
// so they count from the next request on. The caller gets copies it may
// change.
func (s *Service) sessionBySecret(ctx context.Context, secret string) (*Session, *Principal, error) {
	k := s.credentials.sum(CredentialSession, "", secret)
	now := s.now()
	readAt := s.writes.now() // before the store: a write committed meanwhile makes the entry stale
	if e, hit := s.credentials.get(k, now); hit && s.writes.fresh(e.principal.ID, e.readAt) {
		ses, p := e.session, e.principal
		return &ses, &p, nil
	}
	ses, p, err := s.store.SessionByHash(ctx, HashToken(secret))
	if err != nil {
		return nil, nil, err
	}
	s.credentials.putSession(k, ses, p, readAt, now)
	return ses, p, nil
}

// CurrentSession returns the session the request authenticated with;
// NotFound under Basic credentials, which have none (API-NOTES §6.8).
func (s *Service) CurrentSession(ctx context.Context) (*Session, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if a.SessionID == 0 {
		return nil, ErrNotFound
	}
	return s.store.SessionByID(ctx, a.SessionID)
}

// errCrossSiteRenewal refuses a renewal another site's page asked for.
var errCrossSiteRenewal = &Error{Kind: Forbidden, Msg: "Renew the session from a page of this server's own origin: a renewal asked for by another site's page is refused"}

// RenewSession gives the current session a new authenticity token and a
// full absolute lifetime from now, and returns the token. The old token
// stops working. The renewal is a GET, as on the real service, so it
// carries no authenticity token: one another site's page asks for (a link
// the browser follows with the cookie) is refused instead, or any site
// could keep a session alive and void its page's token.
func (s *Service) RenewSession(ctx context.Context) (string, error) {
	a, err := actor(ctx)
	if err != nil {
		return "", err
	}
	if a.SessionID == 0 {
		return "", ErrNotFound
	}
	if callerOf(ctx).CrossSite {
		return "", errCrossSiteRenewal
	}
	var ses *Session
	err = s.inTx(ctx, func(tx Tx) error {
		if ses, err = tx.SessionByID(ctx, a.SessionID); err != nil {
			return err
		}
		now := s.Now()
		ses.Renewals++
		ses.LastSeenAt, ses.ExpiresAt = now, now.Add(s.sessionMax)
		return tx.UpdateSession(ctx, ses)
	})
	if err != nil {
		return "", err
	}
	return s.sessionCSRFToken(ses), nil
}

// Logout ends the current session; under Basic credentials it does nothing.
func (s *Service) Logout(ctx context.Context) error {
	a, err := actor(ctx)
	if err != nil || a.SessionID == 0 {
		return err
	}
	return s.inTx(ctx, func(tx Tx) error { return tx.DeleteSession(ctx, a.ID, a.SessionID) })
}

// mayManageSessions decides whether a may see and end the sessions of the
// user: admins manage everyone's, others only their own.
func (a *Actor) mayManageSessions(userID int64) error {
	if a.Role == Admin || a.ID == userID {
		return nil
	}
	return errForbidden
}

// Sessions lists the live sessions of the user, or with userID 0 the
// account's: every session for admins, their own for everyone else.
func (s *Service) Sessions(ctx context.Context, userID int64, p PageRequest) ([]*Session, PageInfo, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, PageInfo{}, err
	}
	if userID == 0 && a.Role != Admin {
		userID = a.ID
	}
	if userID != 0 {
		if err := s.sessionOwner(ctx, s.store, a, userID); err != nil {
			return nil, PageInfo{}, err
		}
	}
	f := s.liveSessions(userID)
	return paginate(s, fmt.Sprintf("sessions?user=%d", userID), p, sessionSorting,
		func(w Window) ([]*Session, error) { return s.store.Sessions(ctx, f, w) },
		func() (int, error) { return s.store.CountSessions(ctx, f) })
}

// sessionOwner checks that a may manage the sessions of the user, who must exist.
func (s *Service) sessionOwner(ctx context.Context, r Reader, a *Actor, userID int64) error {
	if err := a.mayManageSessions(userID); err != nil {
		return err
	}
	_, err := r.UserByID(ctx, userID)
	return err
}

// userSession finds the user's live session; another user's session is NotFound.
func (s *Service) userSession(ctx context.Context, r Reader, userID, sessionID int64) (*Session, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.mayManageSessions(userID); err != nil {
		return nil, err
	}
	ses, err := r.SessionByID(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	if ses.UserID != userID || !s.live(ses, s.Now()) {
		return nil, ErrNotFound
	}
	return ses, nil
}

// Session returns one live session of the user.
func (s *Service) Session(ctx context.Context, userID, sessionID int64) (*Session, error) {
	return s.userSession(ctx, s.store, userID, sessionID)
}

// DeleteSession ends one session of the user.
func (s *Service) DeleteSession(ctx context.Context, userID, sessionID int64) error {
	return s.inTx(ctx, func(tx Tx) error {
		if _, err := s.userSession(ctx, tx, userID, sessionID); err != nil {
			return err
		}
		return tx.DeleteSession(ctx, userID, sessionID)
	})
}

// DeleteUserSessions ends every session of the user, and its agent event
// streams with them: a browser signed out everywhere reconnects only with
// credentials that still work.
func (s *Service) DeleteUserSessions(ctx context.Context, userID int64) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx Tx) error {
		if err := s.sessionOwner(ctx, tx, a, userID); err != nil {
			return err
		}
		s.agentEvents.endAgent(userID)
		return tx.DeleteUserSessions(ctx, userID)
	})
}

// LogoutMany ends every session of the users (at most MaxIDs); unknown ids
// are skipped. Admins only.
func (s *Service) LogoutMany(ctx context.Context, userIDs []int64) error {
	if _, err := admin(ctx); err != nil {
		return err
	}
	if len(userIDs) > MaxIDs {
		return tooMany()
	}
	for _, id := range userIDs {
		s.agentEvents.endAgent(id) // as DeleteUserSessions does
	}
	return s.inTx(ctx, func(tx Tx) error { return tx.DeleteUserSessions(ctx, userIDs...) })
}

// PurgeSessions deletes the sessions that are over by the service clock and
// returns how many. It runs in the background, on nobody's behalf.
func (s *Service) PurgeSessions(ctx context.Context) (int, error) {
	var n int
	f := s.liveSessions(0)
	err := s.inTx(ctx, func(tx Tx) (err error) {
		n, err = tx.PurgeSessions(ctx, f)
		return err
	})
	return n, err
}
