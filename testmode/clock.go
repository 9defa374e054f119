package testmode

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"sync"
	"time"
)

// Clock is the service's clock in test mode: it follows the wall clock, or
// stands still once frozen, and can be set or moved forward either way. Its
// Now is given to domain.Config.Now, so every timestamp, expiry and window
// follows it.
type Clock struct {
	mu     sync.Mutex
	frozen bool
	at     time.Time     // the time while frozen
	offset time.Duration // added to the wall clock while running
}

// NewClock returns a clock frozen at frozenAt, or following the wall clock
// when frozenAt is zero.
func NewClock(frozenAt time.Time) *Clock {
	return &Clock{frozen: !frozenAt.IsZero(), at: frozenAt.UTC()}
}

// Now is the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		return c.at
	}
	return time.Now().UTC().Add(c.offset)
}

// Frozen reports whether the clock stands still.
func (c *Clock) Frozen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frozen
}

// Set freezes the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frozen, c.at = true, t.UTC()
}

// Advance moves the clock forward by d, frozen or not.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		c.at = c.at.Add(d)
	} else {
		c.offset += d
	}
}

// Seeded returns the deterministic sources a -seed gives the service: the
// random bytes behind tokens, salts and generated passwords (for
// domain.Config.Random) and the key that signs cursors (Config.CursorKey).
// With a frozen clock as well, two runs of one script answer byte for byte
// the same.
func Seeded(seed uint64) (random io.Reader, cursorKey []byte) {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	r := &lockedReader{r: rand.NewChaCha8(s)}
	cursorKey = make([]byte, 32)
	io.ReadFull(r, cursorKey) // a ChaCha8 stream never runs dry
	return r, cursorKey
}

// lockedReader makes a ChaCha8 stream safe for concurrent requests.
type lockedReader struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}
