package domain

import (
	"context"
	"testing"
	"time"
)

// TestYieldTwoQuietLooks: the worker does not rest after a chunk when no
// request is being served, and once resting goes on only when two looks in
// a row find none. The service clock stands still, so only the looks end
// the rest.
func TestYieldTwoQuietLooks(t *testing.T) {
	stopped := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name  string
		looks []bool // what Interactive answers, in turn
	}{
		{"idle at the chunk's end", []bool{false}},
		{"one quiet look between requests", []bool{true, true, false, true, false, false}},
		{"quiet at once", []bool{true, false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			s := &Service{jobDuty: DefaultJobDuty, now: func() time.Time { return stopped }, interactive: func() bool {
				if n == len(tc.looks) {
					t.Fatalf("looked %d times; the answers ran out", n+1)
				}
				n++
				return tc.looks[n-1]
			}}
			s.yield(context.Background(), time.Second)
			if n != len(tc.looks) {
				t.Errorf("went on after %d looks, want %d", n, len(tc.looks))
			}
		})
	}
}
