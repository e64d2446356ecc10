package schema

import (
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// recordBuilder is a per-signal builder struct: a record builder and the
// typed views of its fields.
type recordBuilder interface {
	record() *batchBuilder
	allocator() memory.Allocator
	// flush completes what the builder struct holds back (see
	// attrBuilder.flush) and drops its references into the request.
	flush()
}

// builderPool reuses builder structs across ToArrow calls: building the
// typed builder tree of a schema (about a hundred builders) costs more than
// a thousand allocations per call.
//
// Only builders on a *memory.GoAllocator are pooled. Their memory belongs to
// the garbage collector, so a pooled builder that sync.Pool drops without a
// Release leaks nothing; a builder on any other allocator (a checked or
// C allocator) is released after every call, as before.
type builderPool[B recordBuilder] struct {
	pool    sync.Pool
	newFunc func(memory.Allocator) B
}

func poolable(mem memory.Allocator) bool {
	_, ok := mem.(*memory.GoAllocator)
	return ok
}

// get returns an empty builder on mem.
func (p *builderPool[B]) get(mem memory.Allocator) B {
	if poolable(mem) {
		if b, ok := p.pool.Get().(B); ok {
			if b.allocator() == mem {
				return b
			}
			b.record().Release()
		}
	}
	return p.newFunc(mem)
}

// finish returns the batch of everything appended to b and gives b back to
// the pool (or releases it).
func (p *builderPool[B]) finish(b B) arrow.RecordBatch {
	b.flush()
	rec := b.record().NewRecordBatch()
	if !poolable(b.allocator()) {
		b.record().Release()
		return rec
	}
	// NewRecordBatch resets every builder except the dictionaries' memo
	// tables: without ResetFull the next batch's dictionaries would start
	// with this batch's values, and grow without bound. The schemas have
	// dictionary columns at the top level only (nested strings are plain).
	for _, fb := range b.record().Fields() {
		if db, ok := fb.(array.DictionaryBuilder); ok {
			db.ResetFull()
		}
	}
	p.pool.Put(b)
	return rec
}

// discard releases a builder left in an unknown state by a failed append.
func (p *builderPool[B]) discard(b B) {
	b.record().Release()
}
