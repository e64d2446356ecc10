package e2e

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrape returns the value of one series from a process's /metrics, or -1.
func scrape(t *testing.T, p *proc, series string) float64 {
	t.Helper()
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(p.adminPort) + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", p.name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return -1
}

// readyz returns the status code of a process's /readyz.
func readyz(p *proc) int {
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(p.adminPort) + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitStatus(t *testing.T, p *proc, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if readyz(p) == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s /readyz did not answer %d within %v", p.name, want, within)
}

func TestMetricsAndReadiness(t *testing.T) {
	tp := startTopology(t)
	s := newSender(t, tp.grpcAddr)
	for range 10 {
		if err := s.send(context.Background(), 50); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	waitDrained(t, tp.natsURL)

	checks := []struct {
		p      *proc
		series string
		want   float64
	}{
		{tp.ingest, `otlp_arrow_ingest_requests_total{code="OK",protocol="grpc",signal="traces"}`, 10},
		{tp.ingest, `otlp_arrow_ingest_rows_received_total{protocol="grpc",signal="traces"}`, 500},
		{tp.writer, `otlp_arrow_writer_rows_written_total{signal="traces"}`, 500},
		{tp.writer, `otlp_arrow_writer_messages_acked_total{signal="traces"}`, 10},
		{tp.writer, `otlp_arrow_consumer_pending_messages{consumer="writer",stream="OTLP_TRACES"}`, 0},
		{tp.writer, `otlp_arrow_consumer_ack_pending_messages{consumer="writer",stream="OTLP_TRACES"}`, 0},
	}
	for _, c := range checks {
		if got := scrape(t, c.p, c.series); got != c.want {
			t.Errorf("%s: %s = %v, want %v", c.p.name, c.series, got, c.want)
		}
	}
	if got := scrape(t, tp.writer, `otlp_arrow_writer_bytes_written_total{signal="traces"}`); got <= 0 {
		t.Errorf("writer bytes_written_total = %v, want > 0", got)
	}

	// The bus goes away: the stages report unready, and ready again when it
	// returns on the same port and store.
	tp.bus.stop(t)
	waitStatus(t, tp.ingest, http.StatusServiceUnavailable, 15*time.Second)
	waitStatus(t, tp.writer, http.StatusServiceUnavailable, 15*time.Second)
	tp.bus.start(t)
	waitStatus(t, tp.ingest, http.StatusOK, 30*time.Second)
	waitStatus(t, tp.writer, http.StatusOK, 30*time.Second)
	if err := s.send(context.Background(), 50); err != nil {
		t.Fatalf("send after the bus returned: %v", err)
	}
	waitDrained(t, tp.natsURL)
	tp.ingest.stop(t)
	tp.writer.stop(t)
	tp.bus.stop(t)
	checkExactlyOnce(t, s, spanCounts(t, tp.out))
}
