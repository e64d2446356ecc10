package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The binary carries no test code: neither the testing package nor the
// test helpers of the bus.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	bad := map[string]string{
		"testing": "do not use the testing package in production code",
		"github.com/otlp-arrow/otlp-arrow/proto/bustest": "bustest is for tests",
	}
	for _, dep := range strings.Fields(string(out)) {
		if why, ok := bad[dep]; ok {
			t.Errorf("otlp-arrow depends on %s: %s", dep, why)
		}
	}
}
