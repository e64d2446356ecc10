package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
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

// Without memory_limit the bound comes, in this order, from GOMEMLIMIT (the
// runtime already applies it; the buffers take their shares of it), from
// the memory limit of the process's cgroup (a container's limit, less a
// fifth for the page cache of the bus's files and what the kernel charges
// beside the process), or from defaultMemoryLimit: a production component
// should not grow without bound under overload because nobody configured
// one. memory_limit: 0 says no bound.

// defaultMemoryLimit is the bound without memory_limit, GOMEMLIMIT or a
// cgroup limit: with it, `run` stays under 400 MiB of RSS at full speed and
// under overload with both workloads of the load tool (docs/BENCHMARKS.md,
// "A default memory bound").
const defaultMemoryLimit = 352 << 20

// cgroupShare is the fraction of a cgroup's memory limit that becomes the
// bound, in fifths.
const cgroupShare = 4

// memoryBound is the bound that applies and where it came from.
type memoryBound struct {
	Bytes int64 // 0: none
	// Source says where Bytes came from, for the start lines and the log.
	Source string
	// Runtime: the bound sets the runtime's limit (GOMEMLIMIT already did).
	Runtime bool
}

// String is the bound for a person: "352 MiB" or "none".
func (b memoryBound) String() string {
	if b.Bytes <= 0 {
		return "none"
	}
	return fmt.Sprintf("%d MiB", b.Bytes>>20)
}

// resolveMemoryBound decides the bound from memory_limit (configured: -1 for
// not set), the environment and the system under root ("/"; tests pass a
// fake tree holding proc/ and sys/fs/cgroup/).
func resolveMemoryBound(configured int64, environ []string, root string) memoryBound {
	switch {
	case configured > 0:
		return memoryBound{Bytes: configured, Source: "memory_limit", Runtime: true}
	case configured == 0:
		return memoryBound{Source: "memory_limit: 0 (no bound)"}
	}
	for _, kv := range environ {
		v, ok := strings.CutPrefix(kv, "GOMEMLIMIT=")
		if !ok {
			continue
		}
		if n, ok := parseGoMemLimit(v); ok {
			return memoryBound{Bytes: n, Source: "GOMEMLIMIT"}
		}
		return memoryBound{Source: "GOMEMLIMIT=" + v + " (no bound)"}
	}
	if limit, file := cgroupMemoryLimit(root); limit > 0 {
		return memoryBound{Bytes: limit / 5 * cgroupShare, Runtime: true,
			Source: fmt.Sprintf("%d%% of the cgroup limit %d MiB (%s)", cgroupShare*20, limit>>20, file)}
	}
	return memoryBound{Bytes: defaultMemoryLimit, Runtime: true, Source: "default (no memory_limit, GOMEMLIMIT or cgroup limit)"}
}

// parseGoMemLimit reads GOMEMLIMIT as the runtime does: a number of bytes
// with an optional unit B, KiB, MiB, GiB or TiB; "off" or an unreadable
// value is no limit.
func parseGoMemLimit(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = num, u.n
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult || n*mult >= noLimit {
		return 0, false
	}
	return n * mult, true
}

// noLimit: a memory limit this large is none (cgroup v1 writes
// 9223372036854771712 for unlimited; GOMEMLIMIT's default is MaxInt64).
const noLimit = 1 << 60

// cgroupMemoryLimit returns the memory limit of the cgroup the process is
// in and the file it read, or 0: the smallest of cgroup v2 memory.max and
// v1 memory.limit_in_bytes over the process's cgroup and its ancestors
// (a parent's limit holds for its children). In a container the cgroup
// file system is often mounted at the container's own cgroup while
// /proc/self/cgroup names the host's path; the ancestors include the
// mount's root, which is then the container's limit. "max", absurd values
// and limits no smaller than the machine's memory mean no limit.
func cgroupMemoryLimit(root string) (int64, string) {
	self, err := os.ReadFile(filepath.Join(root, "proc", "self", "cgroup"))
	if err != nil {
		return 0, ""
	}
	best, bestFile := int64(0), ""
	consider := func(dir, name string) {
		for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
			file := filepath.Join(root, "sys", "fs", "cgroup", d, name)
			if n := readLimit(file); n > 0 && (best == 0 || n < best) {
				best, bestFile = n, filepath.Join("/sys/fs/cgroup", d, name)
			}
			if d == "/" || d == "." {
				return
			}
		}
	}
	for _, line := range strings.Split(string(self), "\n") {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			consider(parts[2], "memory.max")
		case slices.Contains(strings.Split(parts[1], ","), "memory"):
			consider(filepath.Join("/memory", parts[2]), "memory.limit_in_bytes")
		}
	}
	if total := memTotal(root); best > 0 && total > 0 && best >= total {
		return 0, ""
	}
	return best, bestFile
}

// readLimit reads a cgroup memory limit file: 0 for "max", absurd values,
// or no file.
func readLimit(file string) int64 {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 || n >= noLimit {
		return 0
	}
	return n
}

// memTotal returns the machine's memory (MemTotal of /proc/meminfo under
// root), or 0.
func memTotal(root string) int64 {
	b, err := os.ReadFile(filepath.Join(root, "proc", "meminfo"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "MemTotal:")
		if !ok {
			continue
		}
		kb, ok := strings.CutSuffix(strings.TrimSpace(rest), " kB")
		n, err := strconv.ParseInt(strings.TrimSpace(kb), 10, 64)
		if !ok || err != nil {
			return 0
		}
		return n << 10
	}
	return 0
}
