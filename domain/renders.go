package domain

import (
	"container/list"
	"context"
	"sync"
)

// DefaultRenderCache is the byte budget of the rendered-response cache when
// Config.RenderCache is 0: at about 1.5 KiB a rendering, some 20,000 users.
const DefaultRenderCache = 32 << 20

// renders remembers the bytes a front end rendered for a read, each
// stamped with the write log's number read before the user was: an entry
// is served only while no write that may change its user (or everything,
// as a group rename: it shows in every member's legacy body) is under way
// or recorded after that number (writeLog). A stale entry stays until a
// fresh rendering replaces it or the budget pushes it out.
//
// Only bytes are kept: authentication, rate limits and the permission
// decision run on every request before a rendering is looked up.
type renders struct {
	max int // bytes; keys and values count

	mu    sync.Mutex
	size  int
	byKey map[renderKey]*list.Element
	lru   list.List // of *rendering, most recently used first
}

// RenderVariant names everything besides the user that a rendering's bytes
// depend on; each front end fills in the fields its bytes vary by and
// leaves the others empty. A comparable struct rather than a string joined
// per request: a lookup then allocates nothing.
type RenderVariant struct {
	API  string // "v2", "legacy"
	View string // what the caller may see of the user ("agent", "end-user")
	Base string // the origin of the URLs in the body
	Year int    // for bodies that depend on the year (time zone offsets)
}

type renderKey struct {
	variant RenderVariant
	id      int64
}

// size is what the key counts against the cache's budget.
func (k renderKey) size() int {
	return len(k.variant.API) + len(k.variant.View) + len(k.variant.Base) + 16
}

type rendering struct {
	key    renderKey
	body   []byte
	readAt uint64 // the write log's number before the user was read
}

// newRenders returns a cache of max bytes; nil when max < 0 (switched off).
func newRenders(max int) *renders {
	if max < 0 {
		return nil
	}
	if max == 0 {
		max = DefaultRenderCache
	}
	return &renders{max: max, byKey: map[renderKey]*list.Element{}}
}

// get returns the bytes under key and the number they were read at.
func (c *renders) get(key renderKey) ([]byte, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		return nil, 0, false
	}
	c.lru.MoveToFront(e)
	r := e.Value.(*rendering)
	return r.body, r.readAt, true
}

// put keeps body under key as read at readAt, unless what the key holds was
// read later (a concurrent miss rendered it first, or fresher).
func (c *renders) put(key renderKey, body []byte, readAt uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		if e.Value.(*rendering).readAt >= readAt {
			return
		}
		c.remove(e)
	}
	n := key.size() + len(body)
	if n > c.max {
		return
	}
	for c.size+n > c.max {
		c.remove(c.lru.Back())
	}
	c.byKey[key] = c.lru.PushFront(&rendering{key: key, body: body, readAt: readAt})
	c.size += n
}

func (c *renders) remove(e *list.Element) {
	old := c.lru.Remove(e).(*rendering)
	delete(c.byKey, old.key)
	c.size -= old.key.size() + len(old.body)
}

// RenderedUser returns the user id rendered by render, as the actor in ctx
// may see it. Renderings under the same variant and id must be the same
// bytes. The permission check runs first on every call, as in User; render
// runs only when no rendering is at hand that no write recorded since has
// made stale.
func (s *Service) RenderedUser(ctx context.Context, id int64, variant RenderVariant, render func(*User) ([]byte, error)) ([]byte, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if !a.canSee(id) {
		return nil, errForbidden
	}
	// Read the number before the store: a write that commits after this
	// point records a greater one, so whatever this call reads is stale
	// once that write has answered.
	readAt := s.writes.now()
	key := renderKey{variant, id}
	if s.renders != nil {
		if body, at, ok := s.renders.get(key); ok && s.writes.fresh(id, at) {
			return body, nil
		}
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	body, err := render(u)
	if err == nil && s.renders != nil {
		s.renders.put(key, body, readAt)
	}
	return body, err
}
