package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A writer whose output stops being writable acknowledges nothing, reports
// unready and counts the errors; the data stays in the stream, and the
// writer resumes by itself once writing works again. Running as root, a
// read-only mode does not stop writes, so the fault is made by putting a
// plain file where the signal's directory was (every create fails).
func TestDiskFaultLosesNothing(t *testing.T) {
	// Tiny files: every flush rotates, so every flush creates a file.
	tp := startTopology(t, "OTLP_WRITER_MAX_FILE_BYTES=1")
	s := newSender(t, tp.grpcAddr)
	ctx := context.Background()
	for range 5 {
		if err := s.send(ctx, 20); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	waitDrained(t, tp.natsURL)

	// Break the output under the running writer.
	dir := filepath.Join(tp.out, "otlp", "traces")
	saved := dir + ".saved"
	if err := os.Rename(dir, saved); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := s.send(ctx, 20); err != nil {
			t.Fatalf("ingest must keep accepting while the writer cannot write: %v", err)
		}
	}
	waitStatus(t, tp.writer, http.StatusServiceUnavailable, 30*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for scrape(t, tp.writer, `otlp_arrow_writer_write_errors_total{signal="traces"}`) <= 0 {
		if time.Now().After(deadline) {
			t.Fatal("write_errors_total stayed 0 while writes fail")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := scrape(t, tp.writer, `otlp_arrow_consumer_pending_messages{consumer="writer",stream="OTLP_TRACES"}`) +
		scrape(t, tp.writer, `otlp_arrow_consumer_ack_pending_messages{consumer="writer",stream="OTLP_TRACES"}`); got <= 0 {
		t.Errorf("nothing pending in the stream while the writer cannot write (got %v)", got)
	}

	// Repair: the writer picks up where it stopped, on its own.
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(saved, dir); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, tp.writer, http.StatusOK, 60*time.Second)
	waitDrained(t, tp.natsURL)
	tp.ingest.stop(t)
	tp.writer.stop(t)
	tp.bus.stop(t)
	counts := spanCounts(t, tp.out)
	if len(counts) != 200 {
		t.Errorf("files hold %d spans, want 200", len(counts))
	}
	checkExactlyOnce(t, s, counts)
}
