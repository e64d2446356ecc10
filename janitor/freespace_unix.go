//go:build linux || darwin || freebsd

package janitor

import (
	"fmt"
	"syscall"
)

// statfsFree returns the bytes available to an unprivileged user on the
// file system holding dir.
func statfsFree(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(uint64(st.Bavail) * uint64(st.Bsize)), nil
}
