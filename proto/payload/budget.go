package payload

import (
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Decode's memory budget: a payload may decode to at most
// MinDecodeBudget + MaxExpansion*len(payload) bytes. An uncompressed payload
// decodes to about its own size; compressed buffers declare their
// uncompressed length, and a corrupt one must not make Decode allocate
// gigabytes.
const (
	MinDecodeBudget = 64 << 20
	MaxExpansion    = 32
)

// errBudget is what budgetAllocator panics with; Decode recovers it.
var errBudget = fmt.Errorf("%w: decoded size exceeds the memory budget", ErrMalformed)

// budgetAllocator forwards to mem and panics with errBudget once the bytes
// allocated through it would exceed limit. Freed bytes return to the budget,
// so batches released after Decode do not count.
type budgetAllocator struct {
	mem   memory.Allocator
	limit int64
	used  atomic.Int64
}

var _ memory.Allocator = (*budgetAllocator)(nil)

func (a *budgetAllocator) reserve(n int) {
	if n < 0 || a.used.Add(int64(n)) > a.limit {
		a.used.Add(-int64(max(n, 0)))
		panic(errBudget)
	}
}

func (a *budgetAllocator) Allocate(size int) []byte {
	a.reserve(size)
	return a.mem.Allocate(size)
}

func (a *budgetAllocator) Reallocate(size int, b []byte) []byte {
	a.reserve(size - len(b))
	return a.mem.Reallocate(size, b)
}

func (a *budgetAllocator) Free(b []byte) {
	a.used.Add(-int64(len(b)))
	a.mem.Free(b)
}
