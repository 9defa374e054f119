package deskgate_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The agent-browser display: POST …/display delivers to the agent's
// Server-Sent Events stream, read here as a browser would, over real HTTP.

// sseEvent is one event of a stream: its name and data lines, or a comment.
type sseEvent struct {
	name, data, comment string
}

// eventStream is an open GET /api/v2/deskgate/agent_events.
type eventStream struct {
	t    testing.TB
	resp *http.Response
	r    *bufio.Reader
}

func (s *server) openEvents(c creds) *eventStream {
	s.t.Helper()
	req, err := http.NewRequest("GET", s.URL+"/api/v2/deskgate/agent_events", nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.SetBasicAuth(c.user, c.pass)
	resp, err := s.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		s.t.Fatalf("agent events: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	st := &eventStream{t: s.t, resp: resp, r: bufio.NewReader(resp.Body)}
	// The server subscribes before it writes anything: once the retry
	// field is read, events for the agent reach this stream.
	if first := st.next(); first != (sseEvent{}) {
		s.t.Fatalf("first chunk %+v", first)
	}
	return st
}

// next reads one event (up to its blank line) per the SSE format.
func (st *eventStream) next() sseEvent {
	st.t.Helper()
	var ev sseEvent
	for {
		line, err := st.r.ReadString('\n')
		if err != nil {
			st.t.Fatalf("reading the stream: %v (so far %+v)", err, ev)
		}
		line = strings.TrimSuffix(line, "\n")
		switch field, value, _ := strings.Cut(line, ": "); {
		case line == "":
			return ev
		case strings.HasPrefix(line, ":"):
			ev.comment = strings.TrimSpace(line[1:])
		case field == "event":
			ev.name = value
		case field == "data":
			ev.data = value
		case field == "retry":
		default:
			st.t.Fatalf("unexpected line %q", line)
		}
	}
}

func TestAgentDisplayOverSSE(t *testing.T) {
	s := newServer(t, serverOptions{})
	agentID, agent := v2Agent(t, s, "Al Agent", "al@example.com")
	emma := v2EndUser(t, s, "Emma", "emma@example.com", "emma-secret-1")
	display := func(agentID, userID int64) response {
		return s.do(owner, "POST", fmt.Sprintf("/api/v2/channels/voice/agents/%d/users/%d/display", agentID, userID), "", "")
	}
	// notFound: the refusals all answer v2's own 404, which tells no agent
	// from no user nor no stream.
	notFound := func(r response) bool {
		var e struct{ Error, Description string }
		return r.status == http.StatusNotFound && json.Unmarshal(r.body, &e) == nil && e.Error == "RecordNotFound" && e.Description == "Not found"
	}
	stream := s.openEvents(agent)
	r := display(agentID, emma.ID)
	golden(t, "v2/lifecycle/display_delivered.golden", r.dump())
	ev := stream.next()
	var data struct {
		UserID int64  `json:"user_id"`
		URL    string `json:"url"`
	}
	if err := json.Unmarshal([]byte(ev.data), &data); err != nil || ev.name != "display_user" {
		t.Fatalf("event %+v: %v", ev, err)
	}
	if data.UserID != emma.ID || data.URL != fmt.Sprintf("%s/api/v2/users/%d.json", testBaseURL, emma.ID) {
		t.Errorf("event data %+v", data)
	}

	// A second browser of the same agent gets the event too.
	other := s.openEvents(agent)
	v2Want(t, display(agentID, emma.ID), http.StatusOK)
	for _, st := range []*eventStream{stream, other} {
		if ev := st.next(); ev.name != "display_user" {
			t.Errorf("event %+v", ev)
		}
	}

	for _, tc := range []struct {
		name          string
		agent, userID int64
	}{
		{"an end user is no agent", emma.ID, emma.ID},
		{"unknown agent", 999, emma.ID},
		{"unknown user", agentID, 999},
		{"an agent without a stream", 1, emma.ID},
	} {
		if r := display(tc.agent, tc.userID); !notFound(r) {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
	v2Want(t, s.do(owner, "DELETE", fmt.Sprintf("/api/v2/users/%d", emma.ID), "", ""), http.StatusOK)
	if r := display(agentID, emma.ID); !notFound(r) {
		t.Errorf("a deleted user: %d %s", r.status, r.body)
	}
	if r := s.do(creds{"emma@example.com", "emma-secret-1"}, "POST", fmt.Sprintf("/api/v2/channels/voice/agents/%d/users/1/display", agentID), "", ""); r.status != http.StatusUnauthorized {
		t.Errorf("a deleted end user displays: %d", r.status)
	}

	v2EndUser(t, s, "End", "end@example.com", "end-secret-1")
	for _, tc := range []struct {
		name string
		c    creds
		want int
	}{
		{"no credentials", creds{}, http.StatusUnauthorized},
		{"an end user", creds{"end@example.com", "end-secret-1"}, http.StatusForbidden},
	} {
		if r := s.do(tc.c, "GET", "/api/v2/deskgate/agent_events", "", ""); r.status != tc.want {
			t.Errorf("%s subscribes: %d %s", tc.name, r.status, r.body)
		}
	}
}

// TestAgentEventsKeepAlive: an idle stream gets comment lines.
func TestAgentEventsKeepAlive(t *testing.T) {
	s := newServer(t, serverOptions{keepAlive: 10 * time.Millisecond})
	stream := s.openEvents(owner)
	if ev := stream.next(); ev.comment != "keep-alive" {
		t.Errorf("idle stream sent %+v", ev)
	}
}

// TestAgentEventsOutliveServerTimeouts: a stream stays open and delivers
// past the server's ReadTimeout and WriteTimeout, which bound ordinary
// requests.
func TestAgentEventsOutliveServerTimeouts(t *testing.T) {
	const timeout = 100 * time.Millisecond
	s := newServer(t, serverOptions{timeouts: timeout})
	agentID, agent := v2Agent(t, s, "Al Agent", "al@example.com")
	stream := s.openEvents(agent)
	time.Sleep(3 * timeout) // past both deadlines the server set for this request
	v2Want(t, s.do(owner, "POST", fmt.Sprintf("/api/v2/channels/voice/agents/%d/users/1/display", agentID), "", ""), http.StatusOK)
	if ev := stream.next(); ev.name != "display_user" {
		t.Errorf("event %+v", ev)
	}
}

// TestAgentEventsDuringTestModeReset: a test-mode reset waits for every
// request to finish, and a stream never does by itself; the reset ends the
// open stream, and the browser's next stream works.
func TestAgentEventsDuringTestModeReset(t *testing.T) {
	s := newServer(t, serverOptions{testMode: true})
	stream := s.openEvents(owner)
	done := make(chan response, 1)
	go func() { done <- s.do(owner, "POST", "/__deskgate/reset", "", "") }()
	select {
	case r := <-done:
		v2Want(t, r, http.StatusNoContent)
	case <-time.After(10 * time.Second): // a safety net, not a measure: the reset hung
		t.Fatal("the reset waited for the open agent event stream")
	}
	if _, err := stream.r.ReadString('\n'); err == nil {
		t.Error("the stream stayed open through the reset")
	}
	again := s.openEvents(owner)
	v2Want(t, s.do(owner, "POST", "/api/v2/channels/voice/agents/1/users/1/display", "", ""), http.StatusOK)
	if ev := again.next(); ev.name != "display_user" {
		t.Errorf("event after the reset %+v", ev)
	}
}

// TestAgentDisplayToSuspendedAgent: a stream opened before its agent was
// suspended delivers nothing more; the display is NotFound, as for an agent
// who may not sign in.
func TestAgentDisplayToSuspendedAgent(t *testing.T) {
	s := newServer(t, serverOptions{})
	agentID, agent := v2Agent(t, s, "Al Agent", "al@example.com")
	s.openEvents(agent)
	v2Want(t, s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d", agentID), "application/json", `{"user":{"suspended":true}}`), http.StatusOK)
	r := s.do(owner, "POST", fmt.Sprintf("/api/v2/channels/voice/agents/%d/users/1/display", agentID), "", "")
	golden(t, "v2/lifecycle/error_404_display_suspended_agent.golden", r.dump())
}

// TestAgentStreamEndsWithStanding: an agent who is deactivated (legacy
// is-active false), demoted to end user, deleted or suspended while their
// stream is open loses it: the stream ends, and a display to them is
// NotFound; an unrelated change keeps it open.
func TestAgentStreamEndsWithStanding(t *testing.T) {
	for _, tc := range []struct {
		name, method, path, contentType, body string
	}{
		{"deactivated", "PUT", "/users/%d.xml", "application/xml", "<user><is-active>false</is-active></user>"},
		{"demoted", "PUT", "/api/v2/users/%d", "application/json", `{"user":{"role":"end-user"}}`},
		{"deleted", "DELETE", "/api/v2/users/%d", "", ""},
		{"suspended", "PUT", "/api/v2/users/%d", "application/json", `{"user":{"suspended":true}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, serverOptions{})
			agentID, agent := v2Agent(t, s, "Al Agent", "al@example.com")
			otherID, other := v2Agent(t, s, "Bo Agent", "bo@example.com")
			stream, kept := s.openEvents(agent), s.openEvents(other)
			if r := s.do(owner, tc.method, fmt.Sprintf(tc.path, agentID), tc.contentType, tc.body); r.status != http.StatusOK {
				t.Fatalf("%s: %d %s", tc.name, r.status, r.body)
			}
			if line, err := stream.r.ReadString('\n'); err == nil {
				t.Errorf("the stream stayed open: read %q", line)
			}
			r := s.do(owner, "POST", fmt.Sprintf("/api/v2/channels/voice/agents/%d/users/1/display", agentID), "", "")
			var e struct{ Error string }
			if r.status != http.StatusNotFound || json.Unmarshal(r.body, &e) != nil || e.Error != "RecordNotFound" {
				t.Errorf("display to the %s agent: %d %s", tc.name, r.status, r.body)
			}
			v2Want(t, s.do(owner, "POST", fmt.Sprintf("/api/v2/channels/voice/agents/%d/users/1/display", otherID), "", ""), http.StatusOK)
			if ev := kept.next(); ev.name != "display_user" {
				t.Errorf("the other agent's stream got %+v", ev)
			}
		})
	}
}

// TestAgentStreamEndsWithCredentials: a new password or a sign-out
// everywhere ends the agent's open streams, as they were opened with what no
// longer signs in; another agent's stream stays.
func TestAgentStreamEndsWithCredentials(t *testing.T) {
	for _, tc := range []struct {
		name, method, path, body string
		by                       func(agent creds) creds
	}{
		{"password changed", "PUT", "/api/v2/users/%d/password", `{"previous_password":"al@example.com-secret","password":"al-new-secret-1"}`, func(a creds) creds { return a }},
		{"signed out everywhere", "DELETE", "/api/v2/users/%d/sessions", "", func(creds) creds { return owner }},
		{"logged out by an admin", "POST", "/api/v2/users/logout_many?ids=%d", "", func(creds) creds { return owner }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, serverOptions{})
			agentID, agent := v2Agent(t, s, "Al Agent", "al@example.com")
			otherID, other := v2Agent(t, s, "Bo Agent", "bo@example.com")
			stream, kept := s.openEvents(agent), s.openEvents(other)
			if r := s.do(tc.by(agent), tc.method, fmt.Sprintf(tc.path, agentID), "application/json", tc.body); r.status >= 300 {
				t.Fatalf("%s: %d %s", tc.name, r.status, r.body)
			}
			if line, err := stream.r.ReadString('\n'); err == nil {
				t.Errorf("the stream stayed open: read %q", line)
			}
			v2Want(t, s.do(owner, "POST", fmt.Sprintf("/api/v2/channels/voice/agents/%d/users/1/display", otherID), "", ""), http.StatusOK)
			if ev := kept.next(); ev.name != "display_user" {
				t.Errorf("the other agent's stream got %+v", ev)
			}
		})
	}
}

// TestAgentStreamIsNotInFlight: an open stream is not a request being
// served, or the job worker would rest as long as any browser is connected.
func TestAgentStreamIsNotInFlight(t *testing.T) {
	s := newServer(t, serverOptions{})
	s.openEvents(owner)
	if n := s.inFlight.Count(); n != 0 {
		t.Errorf("%d requests in flight with only a stream open", n)
	}
}
