package observe

import (
	"io"
	"sync"
	"time"
)

// logBufferSize is how many bytes of lines wait at most before they are
// written regardless of the interval: about 300 request lines.
const logBufferSize = 64 << 10

// LogBuffer holds log lines in memory and writes them out every interval,
// or sooner when logBufferSize fills: one write system call for many
// request lines instead of one each, which under load was the largest
// share of what a request line cost. A line waits an interval at most; a
// line is never split between two writes; Close writes what is left.
type LogBuffer struct {
	mu   sync.Mutex
	out  io.Writer
	buf  []byte
	stop chan struct{}
	done chan struct{}
}

// BufferLog buffers lines for out and writes them every interval.
func BufferLog(out io.Writer, interval time.Duration) *LogBuffer {
	b := &LogBuffer{out: out, buf: make([]byte, 0, logBufferSize), stop: make(chan struct{}), done: make(chan struct{})}
	go b.flushEvery(interval)
	return b
}

// Write takes a copy of p and answers at once.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf)+len(p) > cap(b.buf) {
		b.flushLocked()
	}
	if len(p) > cap(b.buf) {
		return b.out.Write(p)
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// Flush writes what is buffered now.
func (b *LogBuffer) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
}

// Close stops the timed writes and writes what is left.
func (b *LogBuffer) Close() {
	close(b.stop)
	<-b.done
	b.Flush()
}

// flushLocked drops the lines when out refuses them: a log that cannot be
// written must not hold memory or the requests that log.
func (b *LogBuffer) flushLocked() {
	if len(b.buf) > 0 {
		b.out.Write(b.buf)
		b.buf = b.buf[:0]
	}
}

func (b *LogBuffer) flushEvery(interval time.Duration) {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.Flush()
		case <-b.stop:
			return
		}
	}
}
