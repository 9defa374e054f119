package jsonapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/deskgate/deskgate/observe"
)

// displayUser asks the agent's browser to open the user's profile: 200 with
// an empty body once delivered, as the real service answers.
func (h *Handler) displayUser(w http.ResponseWriter, r *http.Request) error {
	agentID, err := pathID(r, "agent_id")
	if err != nil {
		return err
	}
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	if err := h.svc.DisplayUser(r.Context(), agentID, userID); err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// streamWriteWait bounds each write to an event stream. The server's
// WriteTimeout is for whole responses and would cut a stream off; each
// write instead gets this long from when it starts.
const streamWriteWait = 10 * time.Second

// agentEvents is the Server-Sent Events stream an agent's browser keeps
// open with the agent's own credentials. Each "open this user's profile"
// arrives as
//
//	event: display_user
//	data: {"user_id":5,"url":"https://…/api/v2/users/5.json"}
//
// and a comment line keeps idle connections (and proxies) from timing out.
// The stream ends when the client hangs up, the server shuts down, or the
// agent stops being one who may act (deactivated, deleted, demoted to end
// user, suspended).
func (h *Handler) agentEvents(w http.ResponseWriter, r *http.Request) error {
	st, err := h.svc.SubscribeAgentEvents(r.Context())
	if err != nil {
		return err
	}
	defer st.Close()
	observe.Detach(r.Context())
	// No read deadline to lift: net/http clears it once a bodiless request
	// is read, and watches the connection for a hang-up from then on.
	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx would buffer the stream otherwise
	send := func(chunk string) bool {
		if rc.SetWriteDeadline(time.Now().Add(streamWriteWait)) != nil {
			return false
		}
		if _, err := io.WriteString(w, chunk); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// The first chunk sends the header; retry tells EventSource how soon to reconnect.
	if !send("retry: 3000\n\n") {
		return nil
	}
	keepAlive := time.NewTicker(h.keepAlive)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case ev, open := <-st.Events:
			if !open { // shutting down, or the agent lost its standing
				return nil
			}
			data, _ := json.Marshal(map[string]any{"user_id": ev.UserID, "url": h.resourceURL(r, "users", ev.UserID)})
			if !send(fmt.Sprintf("event: display_user\ndata: %s\n\n", data)) {
				return nil
			}
		case <-keepAlive.C:
			if !send(": keep-alive\n\n") {
				return nil
			}
		}
	}
}
