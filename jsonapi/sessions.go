package jsonapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/deskgate/deskgate/domain"
)

// SessionCookie names the browser session cookie POST /access/login sets.
const SessionCookie = "deskgate_session"

// loginRoute names the browser sign-in's route, whose refusals carry no
// Basic challenge (see writeError).
const loginRoute = "login"

// sessionAsArray follows the published SessionResponse, whose "session" is
// an array of one (API-NOTES §2.2: unconfirmed what the live service
// sends). Set it to false to answer a bare object instead.
const sessionAsArray = true

type sessionJSON struct {
	ID              int64  `json:"id"`
	URL             string `json:"url"`
	UserID          int64  `json:"user_id"`
	AuthenticatedAt string `json:"authenticated_at"`
	LastSeenAt      string `json:"last_seen_at"`
}

func (h *Handler) session(r *http.Request, ses *domain.Session) sessionJSON {
	return sessionJSON{
		ID:              ses.ID,
		URL:             h.base(r) + "/api/v2/users/" + strconv.FormatInt(ses.UserID, 10) + "/sessions/" + strconv.FormatInt(ses.ID, 10) + ".json",
		UserID:          ses.UserID,
		AuthenticatedAt: v2Time(ses.AuthenticatedAt),
		LastSeenAt:      v2Time(ses.LastSeenAt),
	}
}

func (h *Handler) sessions(r *http.Request, ss []*domain.Session) []sessionJSON {
	return each(r, ss, h.session)
}

// sessionBody is the one-session response, {"session": …}.
func (h *Handler) sessionBody(r *http.Request, ses *domain.Session) map[string]any {
	var v any = h.session(r, ses)
	if sessionAsArray {
		v = []any{v}
	}
	return map[string]any{"session": v}
}

// readLogin reads email and password from a form or a JSON object.
func readLogin(r *http.Request) (email, password string, err error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return "", "", err
			}
			return "", "", badBody("The form could not be read: " + err.Error())
		}
		return r.PostForm.Get("email"), r.PostForm.Get("password"), nil
	case "application/json":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return "", "", err
		}
		var in struct {
			Email    string `json:"email"`
			Password string `json:"password"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return "", "", badBody(`Expected {"email": "…", "password": "…"}: ` + jsonProblem(err))
		}
		return in.Email, in.Password, nil
	}
	return "", "", badBody(`Send email and password as a form (application/x-www-form-urlencoded) or as JSON (application/json) {"email": "…", "password": "…"}`)
}

// sessionCookie is the session cookie holding secret: HttpOnly (no script
// reads it), SameSite=Lax (no cross-site form post carries it) and Secure
// whenever the server is reached over https.
func (h *Handler) sessionCookie(r *http.Request, secret string) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: secret, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil || strings.HasPrefix(h.base(r), "https://")}
}

// login signs in with an email and password and sets the session cookie.
// The body is the session and its authenticity token.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	email, password, err := readLogin(r)
	if err != nil {
		return err
	}
	ses, secret, token, err := h.svc.SignIn(r.Context(), email, password)
	if err != nil {
		return err
	}
	http.SetCookie(w, h.sessionCookie(r, secret))
	body := h.sessionBody(r, ses)
	body["authenticity_token"] = token
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (h *Handler) currentSession(w http.ResponseWriter, r *http.Request) error {
	ses, err := h.svc.CurrentSession(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.sessionBody(r, ses))
	return nil
}

func (h *Handler) renewSession(w http.ResponseWriter, r *http.Request) error {
	token, err := h.svc.RenewSession(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"authenticity_token": token})
	return nil
}

// logout ends the current session and drops the cookie: 204. Under Basic
// credentials there is no session and nothing happens.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.Logout(r.Context()); err != nil {
		return err
	}
	if domain.ActorFrom(r.Context()).Credential == domain.CredentialSession {
		c := h.sessionCookie(r, "")
		c.MaxAge = -1 // delete it
		http.SetCookie(w, c)
	}
	noContent(w)
	return nil
}

// accountSessions lists every session for admins, one's own for others.
func (h *Handler) accountSessions(w http.ResponseWriter, r *http.Request) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	ss, info, err := h.svc.Sessions(r.Context(), 0, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.listBody(r, "sessions", h.sessions(r, ss), info))
	return nil
}

func (h *Handler) showSession(w http.ResponseWriter, r *http.Request) error {
	userID, id, err := userAndRecord(r, "session_id")
	if err != nil {
		return err
	}
	ses, err := h.svc.Session(r.Context(), userID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.sessionBody(r, ses))
	return nil
}

func (h *Handler) deleteUserSessions(w http.ResponseWriter, r *http.Request) error {
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	if err := h.svc.DeleteUserSessions(r.Context(), userID); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// logoutMany ends the sessions of ?ids=1,2 (at most 100): 202, empty.
func (h *Handler) logoutMany(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if !q.Has("ids") {
		return &domain.Error{Kind: domain.BadRequest, Code: "InvalidParameter", Msg: "Pass ids=1,2,3: the users to sign out"}
	}
	ids, err := idList(q.Get("ids"), "ids")
	if err != nil {
		return err
	}
	if err := h.svc.LogoutMany(r.Context(), ids); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
