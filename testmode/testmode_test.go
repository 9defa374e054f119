package testmode

import (
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	c := NewClock(time.Time{})
	if c.Frozen() || time.Since(c.Now()) > time.Minute {
		t.Fatalf("a zero start follows the wall clock: %s frozen=%v", c.Now(), c.Frozen())
	}
	c.Advance(48 * time.Hour)
	if ahead := time.Until(c.Now()); ahead < 47*time.Hour || c.Frozen() {
		t.Errorf("a running clock advanced by 48h is %s ahead", ahead)
	}
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Set(at)
	c.Advance(36 * time.Hour)
	if want := at.Add(36 * time.Hour); !c.Now().Equal(want) || !c.Frozen() {
		t.Errorf("set then advanced: %s, want %s frozen", c.Now(), want)
	}
}

func TestRingKeepsTheNewest(t *testing.T) {
	var r ring
	for i := range ringSize + 5 {
		r.add(Request{Status: i})
	}
	got := r.find(RequestFilter{})
	if len(got) != ringSize || got[0].Status != 5 || got[len(got)-1].Status != ringSize+4 {
		t.Errorf("%d kept, from %d to %d", len(got), got[0].Status, got[len(got)-1].Status)
	}
}
