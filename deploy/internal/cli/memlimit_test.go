package cli

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestRSSFile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/status")
	}
	// The test binary's code that runs is resident.
	if n := rssFile(); n < 1<<20 {
		t.Fatalf("rssFile() = %d, want at least 1 MiB", n)
	}
}

func TestRuntimeLimit(t *testing.T) {
	for _, c := range []struct{ limit, file, want int64 }{
		{300 << 20, 40 << 20, 300<<20 - 300<<20/16 - 40<<20},
		{300 << 20, 0, 300<<20 - 300<<20/16},
		{64 << 20, 50 << 20, 32 << 20}, // never below half
	} {
		if got := runtimeLimit(c.limit, c.file); got != c.want {
			t.Errorf("runtimeLimit(%d, %d) = %d, want %d", c.limit, c.file, got, c.want)
		}
	}
}

func TestSetMemoryLimit(t *testing.T) {
	defer func() {
		memoryLimit.Store(0)
		debug.SetMemoryLimit(1<<63 - 1)
	}()
	const limit = 300 << 20
	got := setMemoryLimit(limit)
	if got <= limit/2 || got > limit-limit/16 {
		t.Fatalf("setMemoryLimit(%d) = %d, want between half and 15/16 of it", limit, got)
	}
	if cur := debug.SetMemoryLimit(-1); cur != got {
		t.Fatalf("runtime limit = %d, want %d", cur, got)
	}
}
