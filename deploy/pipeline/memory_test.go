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
	if got, want := ic.MaxInflightBytes, max(int64(300<<20/otlpInflightShare), int64(c.Ingest.MaxRequestBytes)); got != want {
		t.Errorf("in flight = %d, want %d", got, want)
	}
	if got, want := wc.MaxBatchBytes, int64(300<<20/batchShare/compressedBatchFactor); got != want {
		t.Errorf("writer batch of compressed payloads = %d, want %d", got, want)
	}
	if got, want := ic.MaxConcurrentStreams, uint32(max(300<<20/streamShare/c.Ingest.MaxRequestBytes, minStreams)); got != want {
		t.Errorf("streams per connection = %d, want %d", got, want)
	}
	c.Bus.PayloadCompression = "none"
	if got, want := writerConfig(c).MaxBatchBytes, int64(300<<20/batchShare); got != want {
		t.Errorf("writer batch = %d, want %d", got, want)
	}
	if got, want := wc.FetchBytes, 300<<20/fetchShare; got != want {
		t.Errorf("writer fetch = %d, want %d", got, want)
	}

	c.MemoryLimit = 2 << 30
	if got, want := ingestConfig(c).MaxConcurrentStreams, uint32(2<<30/streamShare/c.Ingest.MaxRequestBytes); got != want {
		t.Errorf("streams per connection under 2 GiB = %d, want %d", got, want)
	}

	c.MemoryLimit = 32 << 20 // below what one request needs
	ic, wc = ingestConfig(c), writerConfig(c)
	if got, want := wc.FetchBytes, c.Bus.MaxPayload+64<<10; got != want {
		t.Errorf("writer fetch under a tiny limit = %d, want one max payload and headers, %d", got, want)
	}
	if got, want := ic.MaxInflightBytes, int64(c.Ingest.MaxRequestBytes); got != want {
		t.Errorf("in flight under a tiny limit = %d, want max_request_bytes, %d", got, want)
	}
	if err := ic.Validate(); err != nil {
		t.Errorf("ingest config under a tiny limit: %v", err)
	}
}

// The dashboard's cache takes an eighth of the bound beside the stages of
// `run`, half in the dashboard command, at least 16 MiB; without a bound
// (0, or the default not resolved yet) cache_bytes holds.
func TestMemoryLimitCapsDashboardCache(t *testing.T) {
	c := config.Default()
	for _, tc := range []struct {
		limit int64
		alone bool
		want  int64
	}{
		{config.MemoryLimitDefault, false, c.Dashboard.CacheBytes},
		{0, true, c.Dashboard.CacheBytes},
		{384 << 20, false, 48 << 20},
		{384 << 20, true, 192 << 20},
		{4 << 30, true, c.Dashboard.CacheBytes},
		{64 << 20, false, dashboardCacheFloor},
	} {
		c.MemoryLimit = tc.limit
		if got := DashboardCacheBytes(c, tc.alone); got != tc.want {
			t.Errorf("limit %d, alone %v: cache %d, want %d", tc.limit, tc.alone, got, tc.want)
		}
	}
}
