package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The binary carries no test code: no package of ours or of a dependency
// imports the testing package, and nothing imports the test helpers of the
// bus. One upstream exception: Apache Thrift (which Parquet's metadata needs)
// imports testing for its deprecated thrift.TestLogger helper in logger.go;
// nothing calls it, and the testing package registers no flags unless a
// test binary initializes it.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}} {{join .Imports " "}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	bad := map[string]string{
		"testing": "do not use the testing package in production code",
		"github.com/otlp-arrow/otlp-arrow/proto/bustest": "bustest is for tests",
	}
	allowed := map[string]string{
		"github.com/apache/thrift/lib/go/thrift": "testing",
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg, imports := fields[0], fields[1:]
		for _, imp := range imports {
			why, ok := bad[imp]
			if !ok || allowed[pkg] == imp {
				continue
			}
			t.Errorf("%s imports %s: %s", pkg, imp, why)
		}
	}
}
