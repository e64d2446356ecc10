package cli

import (
	"bufio"
	"bytes"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The bound of memory_limit is for the process's RSS, but the Go runtime's
// soft limit counts only the memory the runtime manages. RSS also holds the
// executable's pages once they are touched (tens of MiB for this binary,
// more as more code runs, such as the Parquet encoder), and memory the
// runtime returns late. So the runtime's limit is memory_limit less a
// sixteenth and less the process's file-backed RSS, which a background goroutine
// re-reads every few seconds as more code gets touched.

// memoryLimit is the configured bound; 0 when none is set.
var memoryLimit atomic.Int64

var startLimiter sync.Once

// memoryLimitEvery is how often the runtime's limit follows the file-backed
// RSS.
const memoryLimitEvery = 2 * time.Second

// setMemoryLimit bounds the process's RSS to limit and returns the runtime
// limit it set.
func setMemoryLimit(limit int64) int64 {
	memoryLimit.Store(limit)
	startLimiter.Do(func() {
		go func() {
			for range time.Tick(memoryLimitEvery) {
				applyMemoryLimit()
			}
		}()
	})
	return applyMemoryLimit()
}

// applyMemoryLimit sets the runtime's limit from the configured bound and
// the file-backed RSS now, and returns it (0: no bound set).
func applyMemoryLimit() int64 {
	limit := memoryLimit.Load()
	if limit <= 0 {
		return 0
	}
	goLimit := runtimeLimit(limit, rssFile())
	debug.SetMemoryLimit(goLimit)
	return goLimit
}

// runtimeLimit is the runtime's share of an RSS bound when file bytes of
// RSS are file-backed: a sixteenth is kept for what the runtime returns
// late and for memory outside its count, and the runtime keeps at least half
// of the bound.
func runtimeLimit(limit, file int64) int64 {
	return max(limit-limit/16-file, limit/2)
}

// rssFile returns the process's file-backed resident bytes (RssFile in
// /proc/self/status), or 0 where it cannot be read.
func rssFile() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("RssFile:"))
		if !ok {
			continue
		}
		kb, ok := bytes.CutSuffix(bytes.TrimSpace(rest), []byte(" kB"))
		if !ok {
			return 0
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(kb)), 10, 64)
		if err != nil {
			return 0
		}
		return n << 10
	}
	return 0
}
