package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/otlp-arrow/otlp-arrow/deploy/config"
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

// fakeRoot writes files (path relative to the root: content) into a fresh
// directory standing for "/".
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const meminfo = "MemTotal:       16303100 kB\nMemFree:         1000000 kB\n"

func TestCgroupMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		name     string
		files    map[string]string
		want     int64
		wantFile string
	}{
		{"v2 in a cgroup namespace", map[string]string{
			"proc/self/cgroup":         "0::/\n",
			"sys/fs/cgroup/memory.max": "536870912\n",
			"proc/meminfo":             meminfo,
		}, 512 << 20, "/sys/fs/cgroup/memory.max"},
		{"v2 nested: the smallest over the ancestors", map[string]string{
			"proc/self/cgroup":                          "0::/kubepods/pod1/c1\n",
			"sys/fs/cgroup/kubepods/memory.max":         "4294967296\n",
			"sys/fs/cgroup/kubepods/pod1/memory.max":    "1073741824\n",
			"sys/fs/cgroup/kubepods/pod1/c1/memory.max": "max\n",
			"proc/meminfo":                              meminfo,
		}, 1 << 30, "/sys/fs/cgroup/kubepods/pod1/memory.max"},
		{"v2 max", map[string]string{
			"proc/self/cgroup":         "0::/\n",
			"sys/fs/cgroup/memory.max": "max\n",
		}, 0, ""},
		{"v1, the mount at the container's cgroup", map[string]string{
			"proc/self/cgroup":                           "12:pids:/docker/abc\n4:memory:/docker/abc\n1:name=systemd:/docker/abc\n0::/system.slice/x\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes": "268435456\n",
			"proc/meminfo":                               meminfo,
		}, 256 << 20, "/sys/fs/cgroup/memory/memory.limit_in_bytes"},
		{"v1 unlimited", map[string]string{
			"proc/self/cgroup":                           "4:memory:/\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
		}, 0, ""},
		{"a limit above the machine's memory is none", map[string]string{
			"proc/self/cgroup":         "0::/\n",
			"sys/fs/cgroup/memory.max": "68719476736\n",
			"proc/meminfo":             meminfo,
		}, 0, ""},
		{"garbage", map[string]string{
			"proc/self/cgroup":         "0::/\n",
			"sys/fs/cgroup/memory.max": "lots\n",
		}, 0, ""},
		{"no cgroup file system", map[string]string{"proc/self/cgroup": "0::/\n"}, 0, ""},
		{"no proc", nil, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, file := cgroupMemoryLimit(fakeRoot(t, c.files))
			if got != c.want || file != c.wantFile {
				t.Errorf("cgroupMemoryLimit = %d from %q, want %d from %q", got, file, c.want, c.wantFile)
			}
		})
	}
}

func TestResolveMemoryBound(t *testing.T) {
	cgroup := fakeRoot(t, map[string]string{
		"proc/self/cgroup":         "0::/\n",
		"sys/fs/cgroup/memory.max": "1073741824\n",
		"proc/meminfo":             meminfo,
	})
	none := fakeRoot(t, map[string]string{"proc/self/cgroup": "0::/\n", "proc/meminfo": meminfo})
	for _, c := range []struct {
		name       string
		configured int64
		environ    []string
		root       string
		want       memoryBound
	}{
		{"memory_limit set", 300 << 20, []string{"GOMEMLIMIT=1GiB"}, cgroup, memoryBound{300 << 20, "memory_limit", true}},
		{"memory_limit: 0", 0, nil, cgroup, memoryBound{0, "memory_limit: 0 (no bound)", false}},
		{"GOMEMLIMIT", config.MemoryLimitDefault, []string{"A=b", "GOMEMLIMIT=512MiB"}, cgroup, memoryBound{512 << 20, "GOMEMLIMIT", false}},
		{"GOMEMLIMIT=off", config.MemoryLimitDefault, []string{"GOMEMLIMIT=off"}, cgroup, memoryBound{0, "GOMEMLIMIT=off (no bound)", false}},
		{"cgroup", config.MemoryLimitDefault, nil, cgroup, memoryBound{1 << 30 / 5 * 4, "80% of the cgroup limit 1024 MiB (/sys/fs/cgroup/memory.max)", true}},
		{"default", config.MemoryLimitDefault, nil, none, memoryBound{defaultMemoryLimit, "default (no memory_limit, GOMEMLIMIT or cgroup limit)", true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := resolveMemoryBound(c.configured, c.environ, c.root); got != c.want {
				t.Errorf("resolveMemoryBound = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestParseGoMemLimit(t *testing.T) {
	for s, want := range map[string]int64{
		"1073741824": 1 << 30, "512MiB": 512 << 20, "2GiB": 2 << 30, "64KiB": 64 << 10, "1TiB": 1 << 40, "300B": 300,
		"off": 0, "": 0, "-1": 0, "9223372036854775807": 0, "1.5GiB": 0, "2097152TiB": 0,
	} {
		if got, _ := parseGoMemLimit(s); got != want {
			t.Errorf("parseGoMemLimit(%q) = %d, want %d", s, got, want)
		}
	}
}
