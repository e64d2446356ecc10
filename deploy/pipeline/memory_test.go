package pipeline

import (
	"testing"

	"github.com/otlp-arrow/otlp-arrow/deploy/config"
)

// TestMemoryLimitCapsBuffers checks that memory_limit caps the buffers that
// grow with load to their shares, never below what one request needs, and
// leaves them alone without a limit.
func TestMemoryLimitCapsBuffers(t *testing.T) {
	c := config.Default()
	ic, wc := ingestConfig(c), writerConfig(c)
	if ic.MaxInflightBytes != c.Ingest.MaxInflightBytes || wc.FetchBytes != 32<<20 || wc.MaxBatchBytes != 64<<20 {
		t.Fatalf("without a limit: in flight %d, fetch %d, batch %d: want the defaults", ic.MaxInflightBytes, wc.FetchBytes, wc.MaxBatchBytes)
	}

	c.MemoryLimit = 300 << 20
	ic, wc = ingestConfig(c), writerConfig(c)
	if got, want := ic.MaxInflightBytes, int64(300<<20/inflightShare); got != want {
		t.Errorf("in flight = %d, want %d", got, want)
	}
	if got, want := wc.MaxBatchBytes, int64(300<<20/batchShare); got != want {
		t.Errorf("writer batch = %d, want %d", got, want)
	}
	if got, want := wc.FetchBytes, 300<<20/fetchShare; got != want {
		t.Errorf("writer fetch = %d, want %d", got, want)
	}

	c.MemoryLimit = 32 << 20 // below what one request needs
	ic, wc = ingestConfig(c), writerConfig(c)
	if got, want := wc.FetchBytes, c.Bus.MaxPayload+64<<10; got != want {
		t.Errorf("writer fetch under a tiny limit = %d, want one max payload and headers, %d", got, want)
	}
	if got, want := ic.MaxInflightBytes, 2*int64(c.Ingest.MaxRequestBytes); got != want {
		t.Errorf("in flight under a tiny limit = %d, want twice max_request_bytes, %d", got, want)
	}
	if err := ic.Validate(); err != nil {
		t.Errorf("ingest config under a tiny limit: %v", err)
	}
}
