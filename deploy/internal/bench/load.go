package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// workerResult is what one worker measured inside the window.
type workerResult struct {
	requests  int64
	rows      int64 // accepted
	sentRows  int64
	sentBytes int64 // OTLP protobuf bytes of the requests sent (the same data for Flight)
	latencies []time.Duration
	errors    map[string]int64
	lastErr   error
}

// window is the measured interval: requests that start inside it count.
type window struct {
	start, end time.Time
}

func (w window) contains(t time.Time) bool { return !t.Before(w.start) && t.Before(w.end) }

// runWorker sends its requests in turn until end (a request under way is
// finished, so every request started is answered) or ctx is done. With interval > 0
// it starts one request per interval from first (a fixed rate); when it
// falls behind it sends at once without trying to catch up.
func runWorker(ctx context.Context, s sender, reqs []*request, seq *atomic.Uint64, end time.Time, win window, first time.Time, interval time.Duration) *workerResult {
	res := &workerResult{errors: map[string]int64{}}
	next := first
	for i := 0; ; i++ {
		if interval > 0 {
			if d := time.Until(next); d > 0 {
				if !next.Before(end) {
					return res
				}
				t := time.NewTimer(d)
				select {
				case <-ctx.Done():
					t.Stop()
					return res
				case <-t.C:
				}
			} else if -d > interval {
				next = time.Now()
			}
			next = next.Add(interval)
		}
		if ctx.Err() != nil || !time.Now().Before(end) {
			return res
		}
		r := reqs[i%len(reqs)]
		r.stamp(seq.Add(1))
		start := time.Now()
		rows, code, err := s.send(ctx, r)
		lat := time.Since(start)
		if !win.contains(start) {
			continue
		}
		if ctx.Err() != nil && err != nil {
			return res // cut short by the end of the run: not an answer
		}
		res.requests++
		res.sentRows += int64(r.rows)
		res.sentBytes += int64(len(r.pb))
		if err != nil {
			res.errors[code]++
			res.lastErr = err
			continue
		}
		res.rows += rows
		res.latencies = append(res.latencies, lat)
	}
}

// runLoad runs cfg.Workers workers over conns until end; requests starting
// inside win are recorded. seq numbers the sends (see request.stamp).
func runLoad(ctx context.Context, cfg Config, conns []conn, reqs []*request, seq *atomic.Uint64, end time.Time, win window) ([]*workerResult, error) {
	var interval time.Duration
	if cfg.Rate > 0 {
		perWorker := cfg.Rate / float64(cfg.Workers) / float64(cfg.Batch) // requests per second
		interval = time.Duration(float64(time.Second) / perWorker)
	}
	results := make([]*workerResult, cfg.Workers)
	senders := make([]sender, cfg.Workers)
	for w := range cfg.Workers {
		s, err := conns[w%len(conns)].newSender()
		if err != nil {
			return nil, err
		}
		senders[w] = s
	}
	now := time.Now()
	var wg sync.WaitGroup
	for w := range cfg.Workers {
		// Worker w owns requests w, w+W, ... (at least one), so no request
		// is stamped by two workers at once.
		var own []*request
		for i := w; i < len(reqs); i += cfg.Workers {
			own = append(own, reqs[i])
		}
		first := now
		if interval > 0 {
			first = now.Add(interval * time.Duration(w) / time.Duration(cfg.Workers))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer senders[w].done()
			results[w] = runWorker(ctx, senders[w], own, seq, end, win, first, interval)
		}()
	}
	wg.Wait()
	return results, nil
}
