package forward

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func withRetryInfo(c codes.Code, d time.Duration) error {
	st, err := status.New(c, "busy").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)})
	if err != nil {
		panic(err)
	}
	return st.Err()
}

func TestGRPCErrorClassification(t *testing.T) {
	for _, tt := range []struct {
		name      string
		err       error
		permanent bool
		after     time.Duration
	}{
		{"invalid argument", status.Error(codes.InvalidArgument, "bad"), true, 0},
		{"resource exhausted without retry info", status.Error(codes.ResourceExhausted, "too big"), true, 0},
		{"resource exhausted with retry info", withRetryInfo(codes.ResourceExhausted, 2*time.Second), false, 2 * time.Second},
		{"unavailable", status.Error(codes.Unavailable, "down"), false, 0},
		{"unavailable with retry info", withRetryInfo(codes.Unavailable, time.Second), false, time.Second},
		{"unauthenticated", status.Error(codes.Unauthenticated, "who"), false, 0},
		{"internal", status.Error(codes.Internal, "oops"), false, 0},
		{"not a status", errors.New("boom"), false, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := grpcError(context.Background(), tt.err)
			if got := isPermanent(err); got != tt.permanent {
				t.Errorf("permanent: got %v, want %v (%v)", got, tt.permanent, err)
			}
			if got := isRetryable(err); got == tt.permanent {
				t.Errorf("retryable: got %v", got)
			}
			if got := retryAfter(err); got != tt.after {
				t.Errorf("retry after: got %v, want %v", got, tt.after)
			}
		})
	}
}

func TestHTTPStatusClassification(t *testing.T) {
	answers := map[string]func(w http.ResponseWriter){
		"/ok":  func(w http.ResponseWriter) { w.WriteHeader(200) },
		"/400": func(w http.ResponseWriter) { http.Error(w, "bad span", 400) },
		"/413": func(w http.ResponseWriter) { w.WriteHeader(413) },
		"/429": func(w http.ResponseWriter) { w.Header().Set("Retry-After", "7"); w.WriteHeader(429) },
		"/503": func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
			w.WriteHeader(503)
		},
		"/401": func(w http.ResponseWriter) { w.WriteHeader(401) },
		"/500": func(w http.ResponseWriter) { w.WriteHeader(500) },
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { answers[r.URL.Path](w) }))
	t.Cleanup(ts.Close)
	ep, err := parseEndpoint(ProtocolHTTP, ts.URL, false)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := newHTTPTarget(testConfig(ProtocolHTTP, ts.URL), ep, http.Header{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path           string
		ok, permanent  bool
		minAfter, want time.Duration
		reason         string
	}{
		{path: "/ok", ok: true},
		{path: "/400", permanent: true, reason: "http 400: bad span"},
		{path: "/413", permanent: true},
		{path: "/429", minAfter: 7 * time.Second},
		{path: "/503", minAfter: 59 * time.Minute},
		{path: "/401"},
		{path: "/500"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			tgt.urls[schema.Traces] = ts.URL + tt.path
			_, err := tgt.send(context.Background(), &request{sig: schema.Traces, body: []byte{}})
			if tt.ok {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			if err == nil {
				t.Fatal("got success")
			}
			if got := isPermanent(err); got != tt.permanent {
				t.Errorf("permanent: got %v, want %v (%v)", got, tt.permanent, err)
			}
			if got := retryAfter(err); got < tt.minAfter {
				t.Errorf("retry after: got %v, want >= %v", got, tt.minAfter)
			}
			if tt.reason != "" && err.Error() != tt.reason {
				t.Errorf("reason: got %q, want %q", err, tt.reason)
			}
		})
	}
	// A refused connection is retryable.
	tgt.urls[schema.Traces] = "http://127.0.0.1:1/v1/traces"
	if _, err := tgt.send(context.Background(), &request{sig: schema.Traces}); !isRetryable(err) {
		t.Errorf("connection refused: got %v, want retryable", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"3", 3 * time.Second}, {"-1", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	} {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q): got %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestRetryHonoursHint: the delay after an answer with a retry hint is at
// least the hint, even with tiny backoff intervals.
func TestRetryHonoursHint(t *testing.T) {
	r := Retry{InitialInterval: time.Millisecond, MaxInterval: time.Second, Multiplier: 2, JitterFactor: 0.5}
	calls := 0
	var times []time.Time
	err := failsafe.With[any](newRetry(r, context.Background())).Run(func() error {
		calls++
		times = append(times, time.Now())
		if calls == 1 {
			return retryableError(nil, 300*time.Millisecond, "busy")
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Fatalf("got %v after %d calls, want success after 2", err, calls)
	}
	if d := times[1].Sub(times[0]); d < 300*time.Millisecond {
		t.Errorf("retried after %v, want >= 300ms", d)
	}
}

// TestRetryStopsOnPermanentAndOpenBreaker: permanent errors are not
// retried; retryable ones open the breaker after FailureThreshold attempts,
// which ends the retries with ErrOpen.
func TestRetryStopsOnPermanentAndOpenBreaker(t *testing.T) {
	r := Retry{InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond, Multiplier: 2}
	var states []circuitbreaker.State
	br := newBreaker(Breaker{FailureThreshold: 3, Delay: time.Hour, SuccessThreshold: 1},
		func(ev circuitbreaker.StateChangedEvent) { states = append(states, ev.NewState) })
	exec := failsafe.With[any](newRetry(r, context.Background()), br, newTimeout(time.Second))

	calls := 0
	err := exec.Run(func() error { calls++; return permanentError(nil, "bad") })
	if !isPermanent(err) || calls != 1 {
		t.Fatalf("permanent: got %v after %d calls, want it after 1", err, calls)
	}
	calls = 0
	err = exec.Run(func() error { calls++; return retryableError(nil, 0, "down") })
	if !errors.Is(err, circuitbreaker.ErrOpen) || calls != 3 {
		t.Fatalf("retryable: got %v after %d calls, want ErrOpen after 3", err, calls)
	}
	if len(states) != 1 || states[0] != circuitbreaker.OpenState {
		t.Errorf("breaker states: got %v, want [open]", states)
	}
}
