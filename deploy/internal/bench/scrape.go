package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sample is one reading of the target's counters.
type sample struct {
	at      time.Time
	metrics map[string]float64 // from /metrics: "name" or `name{labels}` -> value
	procs   []procSample
	disk    int64 // bytes of the files under DiskDir
}

// procSample is one process's CPU and memory from /proc.
type procSample struct {
	pid     int
	cpu     float64 // user + system seconds
	rss     int64   // bytes
	ok      bool
	readErr string
}

// scrapeMetrics reads a Prometheus text exposition into a map keyed by the
// series as written (name and labels).
func scrapeMetrics(ctx context.Context, client *http.Client, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics parses the text exposition format's sample lines.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// The value follows the series, after the last space outside
		// braces; an optional timestamp follows the value.
		end := strings.LastIndexByte(line, '}')
		rest := line[end+1:]
		fields := strings.Fields(rest)
		if end < 0 {
			fields = strings.Fields(line)
			if len(fields) < 2 {
				continue
			}
			v, err := strconv.ParseFloat(fields[1], 64)
			if err == nil {
				out[fields[0]] = v
			}
			continue
		}
		if len(fields) < 1 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err == nil {
			out[line[:end+1]] = v
		}
	}
	return out, sc.Err()
}

// sumSeries adds every series of name whose labels contain all of match
// (e.g. `signal="traces"`).
func sumSeries(m map[string]float64, name string, match ...string) float64 {
	var sum float64
	for k, v := range m {
		n, labels, _ := strings.Cut(k, "{")
		if n != name {
			continue
		}
		ok := true
		for _, want := range match {
			if !strings.Contains(labels, want) {
				ok = false
				break
			}
		}
		if ok {
			sum += v
		}
	}
	return sum
}

// clockTicks is USER_HZ, 100 on every Linux the tool runs on.
const clockTicks = 100

// readProc reads a process's CPU time and resident memory from /proc.
func readProc(pid int) procSample {
	s := procSample{pid: pid}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		s.readErr = err.Error()
		return s
	}
	// Fields after the command, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime 15, rss 24 (pages).
	if len(f) < 22 {
		s.readErr = "short /proc stat"
		return s
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	rss, _ := strconv.ParseInt(f[21], 10, 64)
	s.cpu = (ut + st) / clockTicks
	s.rss = rss * int64(os.Getpagesize())
	s.ok = true
	return s
}

// dirBytes sums the sizes of the regular files under dir.
func dirBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// selfCPU returns this process's user + system CPU seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// loadAvg returns the 1-minute load average, or -1.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}
