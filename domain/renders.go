package domain

import (
	"container/list"
	"context"
	"strconv"
	"sync"
)

// DefaultRenderCache is the byte budget of the rendered-response cache when
// Config.RenderCache is 0: at about 1.5 KiB a rendering, some 20,000 users.
const DefaultRenderCache = 32 << 20

// renders remembers the bytes a front end rendered for a read, stamped with
// the write generation they were read at. Any committed write bumps the
// generation, which drops them all: a coarse rule, but one that needs no
// knowledge of which write changes which rendering (a group rename shows in
// every member's legacy body), so it cannot miss one. Reads outnumber
// writes by far on this API; a write costs the next reads one render each.
//
// Only bytes are kept: authentication, rate limits and the permission
// decision run on every request before a rendering is looked up.
type renders struct {
	max int // bytes; keys and values count

	mu    sync.Mutex
	gen   uint64 // the generation every entry was read at
	size  int
	byKey map[string]*list.Element
	lru   list.List // of *rendering, most recently used first
}

type rendering struct {
	key  string
	body []byte
}

// newRenders returns a cache of max bytes; nil when max < 0 (switched off).
func newRenders(max int) *renders {
	if max < 0 {
		return nil
	}
	if max == 0 {
		max = DefaultRenderCache
	}
	return &renders{max: max, byKey: map[string]*list.Element{}}
}

// get returns the bytes under key if they were read at generation gen.
func (c *renders) get(key string, gen uint64) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return nil, false
	}
	e, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*rendering).body, true
}

// put keeps body under key as read at generation gen. A rendering read
// before a write that has since committed is refused; the first one read
// after it empties the cache of the older ones.
func (c *renders) put(key string, body []byte, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case gen < c.gen:
		return
	case gen > c.gen:
		clear(c.byKey)
		c.lru.Init()
		c.size, c.gen = 0, gen
	}
	if _, ok := c.byKey[key]; ok {
		return // a concurrent miss rendered the same bytes first
	}
	n := len(key) + len(body)
	if n > c.max {
		return
	}
	for c.size+n > c.max {
		old := c.lru.Remove(c.lru.Back()).(*rendering)
		delete(c.byKey, old.key)
		c.size -= len(old.key) + len(old.body)
	}
	c.byKey[key] = c.lru.PushFront(&rendering{key: key, body: body})
	c.size += n
}

// RenderedUser returns the user id rendered by render, as the actor in ctx
// may see it. variant names everything besides the user that the bytes
// depend on (the protocol, the caller's view, the base URL, ...): renderings
// under the same variant and id must be the same bytes. The permission
// check runs first on every call, as in User; render runs only when no
// rendering made since the last committed write is at hand.
func (s *Service) RenderedUser(ctx context.Context, id int64, variant string, render func(*User) ([]byte, error)) ([]byte, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if !a.canSee(id) {
		return nil, errForbidden
	}
	// Read the generation before the store: a write that commits after
	// this point bumps it, so whatever this call reads is stamped as older.
	gen := s.writes.Load()
	key := variant + "\x00" + strconv.FormatInt(id, 10)
	if s.renders != nil {
		if body, ok := s.renders.get(key, gen); ok {
			return body, nil
		}
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	body, err := render(u)
	if err == nil && s.renders != nil {
		s.renders.put(key, body, gen)
	}
	return body, err
}
