//go:build !(linux || darwin || freebsd)

package janitor

import (
	"errors"
	"fmt"
)

// errFreeSpaceUnsupported is returned where statfs is not wired up.
var errFreeSpaceUnsupported = errors.New("free space is not supported on this platform")

// statfsFree always fails: min_free_bytes needs statfs (Linux, macOS, FreeBSD).
func statfsFree(dir string) (int64, error) {
	return 0, fmt.Errorf("statfs %s: %w", dir, errFreeSpaceUnsupported)
}
