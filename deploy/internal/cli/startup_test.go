package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// waitFor waits until the output holds want (the start lines come a moment
// after /readyz answers 200).
func waitFor(t *testing.T, out fmt.Stringer, want string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(out.String(), want) {
			return
		}
	}
	t.Fatalf("no %q in the output:\n%s", want, out)
}

// A `run` start says where to send, where the files go, the admin address
// and how to stop, in a few lines; and no log record, from start to stop,
// has a key twice.
func TestRunStartLinesAndLogKeys(t *testing.T) {
	p := startRun(t)
	waitFor(t, p.stderr, "is ready.")
	p.stop(t)
	out := p.stderr.String()
	outAbs, err := filepath.Abs(filepath.Join(p.out, "otlp", "<signal>"))
	if err != nil {
		t.Fatal(err)
	}
	// Each start line: the label, the value, the hint, apart by spaces.
	for _, want := range [][]string{
		{"OTLP/gRPC", p.grpcEndpoint, "OTEL_EXPORTER_OTLP_ENDPOINT=http://" + p.grpcEndpoint},
		{"OTLP/HTTP", "http://" + p.httpURL, "POST /v1/traces, /v1/metrics, /v1/logs"},
		{"Arrow Flight", "127.0.0.1:" + strconv.Itoa(p.flightPort), "DoPut, and OTel-Arrow (OTAP) streams"},
		{"Files", outAbs + string(filepath.Separator)},
		{"Admin", p.adminURL, "/healthz /readyz /metrics"},
		{"Dashboard", p.adminURL + "/", "open it in a browser"},
	} {
		for i := range want {
			want[i] = regexp.QuoteMeta(want[i])
		}
		if re := regexp.MustCompile(`(?m)^  ` + strings.Join(want, " +") + `$`); !re.MatchString(out) {
			t.Errorf("output has no line %s:\n%s", re, out)
		}
	}
	// The memory bound and where it came from (the machine's cgroup limit
	// or the default), on a start line and in the starting record.
	if re := regexp.MustCompile(`(?m)^  Memory bound +\d+ MiB +(default|80% of the cgroup limit|GOMEMLIMIT)`); !re.MatchString(out) {
		t.Errorf("output has no memory bound line %s:\n%s", re, out)
	}
	if re := regexp.MustCompile(`msg=starting command=run memory_limit="\d+ MiB" memory_limit_from=`); !re.MatchString(out) {
		t.Errorf("no starting record with the memory bound %s:\n%s", re, out)
	}
	for _, want := range []string{"\notlp-arrow run is ready.\n", "\n" + stopHint + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The bus listens on no port here: no NATS line.
	if strings.Contains(out, "  NATS ") {
		t.Errorf("a NATS line for a bus that does not listen:\n%s", out)
	}
	var records int
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "time=") {
			continue // the start lines, for a person
		}
		records++
		keys, err := textKeys(line)
		if err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if dup := firstDuplicate(keys); dup != "" {
			t.Errorf("key %s twice: %s", dup, line)
		}
	}
	// The configuration is at debug level (startRun logs at debug).
	if records < 10 || !strings.Contains(out, "msg=configuration config=") {
		t.Errorf("%d records, want start and stop records and the configuration at debug:\n%s", records, out)
	}
}

// With JSON logs every line is a JSON record (a collector parses them all),
// the start lines are one "ready" record, no record has a key twice, and
// the configuration is not logged at info.
func TestRunStartRecordJSON(t *testing.T) {
	p := startRun(t, "OTLP_LOG_FORMAT=json", "OTLP_LOG_LEVEL=info")
	waitFor(t, p.stderr, `"msg":"ready"`)
	p.stop(t)
	var ready map[string]any
	for _, line := range strings.Split(strings.TrimSpace(p.stderr.String()), "\n") {
		dup, err := jsonDuplicate(line)
		if err != nil {
			t.Fatalf("not a JSON record: %v: %q", err, line)
		}
		if dup != "" {
			t.Errorf("key %s twice: %s", dup, line)
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if _, ok := rec["config"]; ok {
			t.Errorf("the configuration at info level: %s", line)
		}
		if rec["msg"] == "ready" {
			ready = rec
		}
	}
	want := map[string]any{
		"command": "run", "otlp_grpc": p.grpcEndpoint, "otlp_http": "http://" + p.httpURL,
		"arrow_flight": "127.0.0.1:" + strconv.Itoa(p.flightPort), "admin": p.adminURL, "dashboard": p.adminURL + "/",
	}
	for k, v := range want {
		if ready[k] != v {
			t.Errorf("ready record %s = %v, want %v (%v)", k, ready[k], v, ready)
		}
	}
}

// textKeys returns the keys of one slog text record, in order.
func textKeys(line string) ([]string, error) {
	var keys []string
	for s := strings.TrimLeft(line, " "); s != ""; s = strings.TrimLeft(s, " ") {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("no key=value at %q", s)
		}
		keys = append(keys, s[:eq])
		s = s[eq+1:]
		switch i := strings.IndexByte(s, ' '); {
		case strings.HasPrefix(s, `"`):
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil, fmt.Errorf("value at %q: %w", s, err)
			}
			s = s[len(q):]
		case i >= 0:
			s = s[i:]
		default:
			s = ""
		}
	}
	return keys, nil
}

func firstDuplicate(keys []string) string {
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			return k
		}
		seen[k] = true
	}
	return ""
}

// jsonDuplicate returns the first key that appears twice in one object of
// the JSON text line (by its path), or an error if line is not one object.
func jsonDuplicate(line string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	dup, err := objectDuplicate(dec, "")
	if err != nil {
		return "", err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("more after the object")
	}
	return dup, nil
}

// objectDuplicate reads one JSON value from dec.
func objectDuplicate(dec *json.Decoder, path string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		var dup string
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return "", err
			}
			key := path + k.(string)
			if seen[key] && dup == "" {
				dup = key
			}
			seen[key] = true
			d, err := objectDuplicate(dec, key+".")
			if err != nil {
				return "", err
			}
			if dup == "" {
				dup = d
			}
		}
		_, err := dec.Token() // }
		return dup, err
	case json.Delim('['):
		var dup string
		for dec.More() {
			d, err := objectDuplicate(dec, path)
			if err != nil {
				return "", err
			}
			if dup == "" {
				dup = d
			}
		}
		_, err := dec.Token() // ]
		return dup, err
	}
	if path == "" {
		return "", fmt.Errorf("not an object: %v", tok)
	}
	return "", nil
}
