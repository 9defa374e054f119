package observe

import (
	"testing"
	"time"
)

// TestInFlightBusy: the server is busy while a request is served and for
// quietAfter after the last one ended, then idle.
func TestInFlightBusy(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	f := &InFlight{now: func() time.Time { return now }}
	check := func(when string, want bool) {
		t.Helper()
		if got := f.Busy(); got != want {
			t.Errorf("%s: Busy() = %v, want %v", when, got, want)
		}
	}
	check("never served", false)
	f.begin()
	f.begin()
	check("serving two", true)
	now = now.Add(10 * time.Millisecond)
	f.end()
	check("serving one", true)
	f.end()
	check("the last ended just now", true)
	now = now.Add(quietAfter - time.Nanosecond)
	check("just inside quietAfter", true)
	now = now.Add(time.Nanosecond)
	check("quietAfter after the last", false)
}
