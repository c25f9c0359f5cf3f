// synctrace: writes a Go runtime/trace of about N events in which
// goroutines block on a sync.Mutex and on channels.
//
// bench_pprof times `go tool trace -pprof=sync` on this trace next to
// `exectrace pprof --type sync` on a trace of ours with the same number of
// events, so that "as fast as Go" has a reference measured in the same run
// on the same machine.  The workload gives the sync profile real content:
// worker goroutines take one mutex, either for a little work (lookup) or
// around a round trip to a server goroutine over unbuffered channels
// (update), so the others park on the mutex (GoBlockSync) and the channel
// ends park on each other (GoBlockRecv/GoBlockSend).
//
// Go has no switch for "N events", so the program first traces a short
// calibration run into memory and counts its events to learn the bytes per
// event; the real run then stops once N events' worth of bytes have reached
// the file (bytes per event vary less between runs than events per round,
// which depend on how often the mutex is contended).  The trace it wrote is
// counted again and the count printed.  Events are counted the way
// `go tool trace -d` lists them (one per line): every record of the trace
// except batch headers, the frequency, stack and string tables and the
// timer-goroutine marker.
//
// It uses only the standard library, so it builds offline:
//
//	go build -o synctrace synctrace.go
//	./synctrace -events 20000000 -o go.trace
//	./synctrace -count go.trace    # only count a trace's events
//
// Output (stdout): events=N bytes=B trace_s=S calibration_bytes_per_event=E
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"time"
)

var (
	mu    sync.Mutex
	table [64]uint64
	sink  uint64
)

// lookup holds the mutex for a little arithmetic.
//
//go:noinline
func lookup(i int) {
	mu.Lock()
	x := table[i%len(table)]
	for k := 0; k < 50; k++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	table[i%len(table)] = x
	mu.Unlock()
}

// update holds the mutex around a round trip to the server goroutine, so
// the lock is held while its owner is parked on a channel.
//
//go:noinline
func update(i int, req chan<- int, resp <-chan int) {
	mu.Lock()
	req <- i
	table[(i+1)%len(table)] += uint64(<-resp)
	mu.Unlock()
}

//go:noinline
func serve(req <-chan int, resp chan<- int) {
	for v := range req {
		resp <- v + 1
	}
}

// run does rounds iterations in each of workers goroutines, or fewer if
// stop is set meanwhile, and returns once they are all done.
func run(rounds, workers int, stop *atomic.Bool) {
	req, resp := make(chan int), make(chan int)
	done := make(chan struct{})
	go func() { serve(req, resp); close(done) }()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < rounds && !stop.Load(); i++ {
				if i%4 == 3 {
					update(w+i, req, resp)
				} else {
					lookup(w + i)
				}
			}
		}(w)
	}
	wg.Wait()
	close(req)
	<-done
	s := uint64(0)
	for _, v := range table {
		s += v
	}
	sink += s
}

// Event types of the Go 1.19 trace format that are tables or framing, not
// events (go tool trace -d does not list them).
const (
	evBatch          = 1
	evFrequency      = 2
	evStack          = 3
	evTimerGoroutine = 35
	evString         = 37
	evUserLog        = 48
	evCount          = 50
)

func readUvarint(r *bufio.Reader) (uint64, int, error) {
	var v uint64
	for i := 0; i < 10; i++ {
		b, err := r.ReadByte()
		if err != nil {
			return 0, i, err
		}
		v |= uint64(b&0x7f) << (7 * uint(i))
		if b&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 10, errors.New("bad varint")
}

// countEvents counts the events of a Go 1.19 trace: a 16-byte header, then
// records of one byte (type in the low 6 bits, argument count - 1 in the
// top 2), then varint arguments; with the top bits 3, the first varint is
// the byte length of the arguments.  A string record is an id, a length and
// the bytes; a user log is followed by a length-prefixed string.
func countEvents(r io.Reader) (uint64, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var hdr [16]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return 0, err
	}
	if !bytes.HasPrefix(hdr[:], []byte("go 1.")) {
		return 0, errors.New("not a Go trace")
	}
	var n uint64
	for {
		b, err := br.ReadByte()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		typ, narg := b&0x3f, int(b>>6)+1
		if typ == 0 || typ >= evCount {
			return n, fmt.Errorf("unknown event type %d", typ)
		}
		if typ == evString {
			if _, _, err := readUvarint(br); err != nil {
				return n, err
			}
			ln, _, err := readUvarint(br)
			if err != nil {
				return n, err
			}
			if _, err := br.Discard(int(ln)); err != nil {
				return n, err
			}
			continue
		}
		if narg < 4 {
			for i := 0; i < narg; i++ {
				if _, _, err := readUvarint(br); err != nil {
					return n, err
				}
			}
		} else {
			ln, _, err := readUvarint(br)
			if err != nil {
				return n, err
			}
			if _, err := br.Discard(int(ln)); err != nil {
				return n, err
			}
		}
		if typ == evUserLog {
			ln, _, err := readUvarint(br)
			if err != nil {
				return n, err
			}
			if _, err := br.Discard(int(ln)); err != nil {
				return n, err
			}
		}
		switch typ {
		case evBatch, evFrequency, evStack, evTimerGoroutine:
		default:
			n++
		}
	}
}

// limitWriter sets stop once limit bytes have been written through it
// (limit 0: never).
type limitWriter struct {
	w       io.Writer
	n       int64
	limit   int64
	stopped *atomic.Bool
}

func (l *limitWriter) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	l.n += int64(n)
	if l.limit > 0 && l.n >= l.limit {
		l.stopped.Store(true)
	}
	return n, err
}

// traceTo runs the workload with tracing on into w, for rounds rounds or
// until limit bytes are written, and returns how long tracing was on.
func traceTo(w io.Writer, rounds, workers int, limit int64) (time.Duration, error) {
	var stop atomic.Bool
	t0 := time.Now()
	if err := trace.Start(&limitWriter{w: w, limit: limit, stopped: &stop}); err != nil {
		return 0, err
	}
	run(rounds, workers, &stop)
	trace.Stop()
	return time.Since(t0), nil
}

func main() {
	events := flag.Uint64("events", 20000000, "events the trace should hold (about)")
	out := flag.String("o", "", "write the trace to this file")
	workers := flag.Int("workers", 8, "worker goroutines")
	count := flag.String("count", "", "only count the events of this trace and print them")
	flag.Parse()
	if *count != "" {
		f, err := os.Open(*count)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		n, err := countEvents(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", *count, err)
			os.Exit(1)
		}
		fmt.Printf("events=%d\n", n)
		return
	}
	if *out == "" || *workers < 2 {
		fmt.Fprintln(os.Stderr, "usage: synctrace [-events N] [-workers W>=2] -o FILE | -count FILE")
		os.Exit(2)
	}

	// Calibration: 5 000 rounds per worker, about half a million events.
	var buf bytes.Buffer
	if _, err := traceTo(&buf, 5000, *workers, 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	calBytes := buf.Len()
	calEvents, err := countEvents(&buf)
	if err != nil || calEvents == 0 {
		fmt.Fprintf(os.Stderr, "calibration trace: %d events, %v\n", calEvents, err)
		os.Exit(1)
	}
	bytesPerEvent := float64(calBytes) / float64(calEvents)
	limit := int64(float64(*events)*bytesPerEvent + 0.5)

	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	d, err := traceTo(bw, math.MaxInt, *workers, limit)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	f, err = os.Open(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	n, err := countEvents(f)
	st, _ := f.Stat()
	f.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", *out, err)
		os.Exit(1)
	}
	fmt.Printf("events=%d bytes=%d trace_s=%.3f calibration_bytes_per_event=%.3f\n",
		n, st.Size(), d.Seconds(), bytesPerEvent)
}
