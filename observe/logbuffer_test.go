package observe

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is an io.Writer a test may read while the flusher writes.
type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

func (l *lockedBuffer) state() (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String(), l.writes
}

// TestLogBuffer: lines come out whole and in order, many to a write, within
// an interval, when the buffer fills, and on Close.
func TestLogBuffer(t *testing.T) {
	out := &lockedBuffer{}
	b := BufferLog(out, time.Hour) // no timed flush during the test
	for i := range 3 {
		b.Write([]byte(strings.Repeat("x", i) + "\n"))
	}
	if got, writes := out.state(); got != "" || writes != 0 {
		t.Fatalf("written before any flush: %d writes, %q", writes, got)
	}
	b.Flush()
	if got, writes := out.state(); got != "\nx\nxx\n" || writes != 1 {
		t.Fatalf("after Flush: %d writes, %q", writes, got)
	}
	line := strings.Repeat("y", 1000) + "\n"
	for range logBufferSize/len(line) + 1 {
		b.Write([]byte(line))
	}
	got, writes := out.state()
	if writes != 2 || len(got) != 6+logBufferSize/len(line)*len(line) {
		t.Fatalf("a full buffer: %d writes, %d bytes", writes, len(got))
	}
	huge := strings.Repeat("z", logBufferSize+1)
	b.Write([]byte(huge))
	b.Close()
	got, _ = out.state()
	if !strings.HasSuffix(got, line+huge) || strings.Count(got, line) != logBufferSize/len(line)+1 {
		t.Errorf("after Close: %d bytes, ending %q", len(got), got[len(got)-20:])
	}

	timed := &lockedBuffer{}
	b = BufferLog(timed, time.Millisecond)
	defer b.Close()
	b.Write([]byte("soon\n"))
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if got, _ := timed.state(); got == "soon\n" {
			return
		}
	}
	t.Error("a line never written by the interval's flush")
}
