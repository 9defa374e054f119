package domain

import (
	"context"
	"sync"
)

// AgentEvent is an instruction to an agent's browser: open the profile of
// the user UserID (the voice channel's "display user").
type AgentEvent struct {
	UserID int64
}

// agentEventBuffer is how many undelivered events a stream may hold; a
// browser that falls this far behind misses the newest instead of
// holding up the caller.
const agentEventBuffer = 16

// AgentStream is one connected agent browser's subscription.
type AgentStream struct {
	// Events carries the events for the agent; it is closed when the
	// service closes every stream (at shutdown) and when the agent stops
	// being one who may act (deactivated, deleted, demoted, suspended).
	Events <-chan AgentEvent
	events chan AgentEvent
	agent  int64
	hub    *agentHub
}

// Close ends the subscription. Closing twice is harmless.
func (st *AgentStream) Close() { st.hub.remove(st) }

// agentHub keeps the open agent streams, in memory: a browser that
// reconnects after a restart subscribes again.
type agentHub struct {
	mu      sync.Mutex
	streams map[int64]map[*AgentStream]bool // by agent id
	ended   bool                            // new streams end at once
}

func (h *agentHub) add(agent int64) *AgentStream {
	events := make(chan AgentEvent, agentEventBuffer)
	st := &AgentStream{Events: events, events: events, agent: agent, hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ended {
		close(events)
		return st
	}
	if h.streams == nil {
		h.streams = map[int64]map[*AgentStream]bool{}
	}
	if h.streams[agent] == nil {
		h.streams[agent] = map[*AgentStream]bool{}
	}
	h.streams[agent][st] = true
	return st
}

func (h *agentHub) remove(st *AgentStream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams[st.agent][st] {
		delete(h.streams[st.agent], st)
		close(st.events)
	}
}

// endAgent closes the agent's streams.
func (h *agentHub) endAgent(agent int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for st := range h.streams[agent] {
		close(st.events)
	}
	delete(h.streams, agent)
}

// send offers ev to each of the agent's streams and reports whether any took it.
func (h *agentHub) send(agent int64, ev AgentEvent) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	delivered := false
	for st := range h.streams[agent] {
		select {
		case st.events <- ev:
			delivered = true
		default: // that browser is not reading
		}
	}
	return delivered
}

// end closes every stream; until resume, new streams end at once too.
func (h *agentHub) end() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ended = true
	for _, sts := range h.streams {
		for st := range sts {
			close(st.events)
		}
	}
	h.streams = nil
}

func (h *agentHub) resume() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ended = false
}

// SubscribeAgentEvents opens a stream of the events meant for the calling
// agent's browser. Agents only; the caller must Close the stream.
func (s *Service) SubscribeAgentEvents(ctx context.Context) (*AgentStream, error) {
	a, err := agent(ctx)
	if err != nil {
		return nil, err
	}
	return s.agentEvents.add(a.ID), nil
}

// DisplayUser asks the agent's connected browser to open the user's
// profile. It is NotFound when agentID is not an agent or admin who may
// still sign in (a stream opened before a suspension delivers no more),
// when userID is not an active user, and when the agent has no open stream
// to deliver to. Agents only.
func (s *Service) DisplayUser(ctx context.Context, agentID, userID int64) error {
	if _, err := agent(ctx); err != nil {
		return err
	}
	ag, err := s.store.UserByID(ctx, agentID)
	if err != nil {
		return err
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if !ag.holdsSeat() || !ag.mayStillAct() || !u.Active || !s.agentEvents.send(agentID, AgentEvent{UserID: userID}) {
		return ErrNotFound
	}
	return nil
}

// endStreamsOfDemoted ends the streams of an agent the change from old to
// u leaves without the standing DisplayUser asks for. It runs inside the
// change's transaction: should that roll back, the browser reconnects
// after the stream's retry interval, as it does after a restart.
func (s *Service) endStreamsOfDemoted(old, u *User) {
	if old.holdsSeat() && old.mayStillAct() && !(u.holdsSeat() && u.mayStillAct()) {
		s.agentEvents.endAgent(u.ID)
	}
}

// CloseAgentStreams ends every open agent stream and every later one, so
// that a graceful shutdown need not wait for browsers to hang up.
func (s *Service) CloseAgentStreams() { s.agentEvents.end() }

// HoldAgentStreams ends every open agent stream and ends new ones at once
// until release is called. Whoever must wait for every request to finish
// (test mode swapping the store) holds them: a stream never finishes by
// itself. Browsers reconnect after the stream's retry interval.
func (s *Service) HoldAgentStreams() (release func()) {
	s.agentEvents.end()
	return s.agentEvents.resume
}
