package payload

import (
	"fmt"
	"reflect"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Every payload is a whole IPC stream that starts with its schema message,
// and arrow's reader builds the schema from it again each time: for the
// traces schema's ~200 nested fields that was a twentieth of the pipeline's
// CPU at 100-row payloads. A payload whose schema message repeats one seen
// before is decoded by a reader that has already parsed it, fed the
// payload's dictionary and record batch messages as a continuation of the
// stream it read before; the result is the one a new reader gives, and the
// batches share one *arrow.Schema.
//
// A reader carried over keeps its dictionaries, so a payload takes that path
// only when it replaces every one of them first: its messages are the
// schema, then dictionary batches (none a delta) with exactly the ids, in
// the order, of the payload the reader was made for, then record batches
// (and the dictionary batches between them that a stream may have). Compressed
// payloads (whose buffers decoding allocates against the payload's budget)
// and payloads over maxCachedPayload bytes (a reader holds on to the last
// payload it read until its next one) take the fresh path, and so does a
// payload the cached path fails on: its error is the fresh path's.
const (
	maxCachedPayload = 1 << 20
	maxCachedReaders = 8 // idle readers kept, in all
)

// cachedReader is a reader that has read one schema message.
type cachedReader struct {
	schema string // the schema message it read
	mr     *sliceMessageReader
	rdr    *ipc.Reader
	dicts  []int64 // the dictionary ids each payload must replace, in order
	mem    *budgetAllocator
}

// readerCache holds idle readers per allocator and schema message.
var readerCache = struct {
	sync.Mutex
	idle map[memory.Allocator]map[string][]*cachedReader
	n    int
}{idle: map[memory.Allocator]map[string][]*cachedReader{}}

// decodeCached decodes b, whose messages verifyStream returned as frames,
// with a cached reader. ok is false when b does not qualify or the cached
// path failed; the caller then decodes b afresh.
func decodeCached(b []byte, frames []frame, mem memory.Allocator, validate func(arrow.RecordBatch) error) (schema *arrow.Schema, recs []arrow.RecordBatch, ok bool) {
	records := cacheable(b, frames, mem)
	if records == 0 {
		return nil, nil, false
	}
	cr := takeReader(mem, frames)
	if cr == nil {
		return nil, nil, false
	}
	recs, err := cr.read(b, frames, records, validate)
	if err != nil {
		cr.close()
		return nil, nil, false
	}
	schema = cr.rdr.Schema()
	putReader(mem, cr)
	return schema, recs, true
}

// read decodes the records record batches of b (frames) with cr: b's
// messages after its schema are the continuation of cr's stream.
func (cr *cachedReader) read(b []byte, frames []frame, records int, validate func(arrow.RecordBatch) error) (recs []arrow.RecordBatch, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
		if err != nil {
			for _, rec := range recs {
				rec.Release()
			}
			recs = nil
		}
	}()
	cr.mr.frames = frames[1:]
	for range records {
		if !cr.rdr.Next() {
			return recs, fmt.Errorf("record batch %d: %w", len(recs), cr.rdr.Err())
		}
		rec := cr.rdr.RecordBatch()
		if rec.NumRows() > 8*int64(len(b)) {
			return recs, fmt.Errorf("record batch %d: too many rows", len(recs))
		}
		if err := validate(rec); err != nil {
			return recs, err
		}
		rec.Retain()
		recs = append(recs, rec)
	}
	if len(cr.mr.frames) != 0 {
		return recs, fmt.Errorf("%d messages left", len(cr.mr.frames))
	}
	return recs, nil
}

// cacheable returns the number of record batches of b when b may take the
// cached path, and 0 otherwise.
func cacheable(b []byte, frames []frame, mem memory.Allocator) int {
	if len(b) > maxCachedPayload || len(frames) < 2 || frames[0].kind != headerSchema ||
		!reflect.TypeOf(mem).Comparable() {
		return 0
	}
	i := 1
	for i < len(frames) && frames[i].kind == headerDictionaryBatch {
		if frames[i].delta || frames[i].compressed {
			return 0
		}
		i++
	}
	records := 0
	for _, f := range frames[i:] {
		switch {
		case f.compressed:
			return 0
		case f.kind == headerRecordBatch:
			records++
		case f.kind != headerDictionaryBatch:
			return 0
		}
	}
	return records
}

// dictIDsMatch reports whether the dictionary batches that follow the
// schema in frames have exactly ids, in that order.
func dictIDsMatch(frames []frame, ids []int64) bool {
	if len(frames) < len(ids)+1 {
		return false
	}
	for i, id := range ids {
		if f := frames[1+i]; f.kind != headerDictionaryBatch || f.dictID != id {
			return false
		}
	}
	return len(frames) == len(ids)+1 || frames[len(ids)+1].kind != headerDictionaryBatch
}

// takeReader returns an idle reader for frames' schema and dictionaries, or
// a new one, or nil when frames' dictionary ids repeat.
func takeReader(mem memory.Allocator, frames []frame) *cachedReader {
	readerCache.Lock()
	idle := readerCache.idle[mem][string(frames[0].meta)]
	for i := len(idle) - 1; i >= 0; i-- {
		if dictIDsMatch(frames, idle[i].dicts) {
			cr := removeIdle(mem, idle[i].schema, i)
			readerCache.Unlock()
			return cr
		}
	}
	readerCache.Unlock()

	var dicts []int64
	for _, f := range frames[1:] {
		if f.kind != headerDictionaryBatch {
			break
		}
		for _, id := range dicts {
			if id == f.dictID {
				return nil
			}
		}
		dicts = append(dicts, f.dictID)
	}
	cr := &cachedReader{
		schema: string(frames[0].meta),
		mr:     &sliceMessageReader{frames: frames[:1]},
		dicts:  dicts,
		mem:    &budgetAllocator{mem: mem, limit: MinDecodeBudget + MaxExpansion*maxCachedPayload},
	}
	cr.mr.refCount.Add(1)
	rdr, err := newReader(cr.mr, cr.mem)
	if err != nil {
		cr.mr.Release()
		return nil
	}
	cr.rdr = rdr
	return cr
}

// newReader is ipc.NewReaderFromMessageReader with a recover, for a schema
// message arrow panics on.
func newReader(mr *sliceMessageReader, mem memory.Allocator) (rdr *ipc.Reader, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return ipc.NewReaderFromMessageReader(mr, ipc.WithAllocator(mem))
}

// putReader keeps cr idle, closing another idle reader when
// maxCachedReaders are (the readers of a schema no longer sent go first
// as often as any).
func putReader(mem memory.Allocator, cr *cachedReader) {
	readerCache.Lock()
	var evicted *cachedReader
	if readerCache.n >= maxCachedReaders {
		evicted = takeAny()
	}
	bySchema := readerCache.idle[mem]
	if bySchema == nil {
		bySchema = map[string][]*cachedReader{}
		readerCache.idle[mem] = bySchema
	}
	bySchema[cr.schema] = append(bySchema[cr.schema], cr)
	readerCache.n++
	readerCache.Unlock()
	if evicted != nil {
		evicted.close()
	}
}

// takeAny removes and returns an idle reader, the oldest of a schema picked
// at random. readerCache must be locked and hold one.
func takeAny() *cachedReader {
	for mem, bySchema := range readerCache.idle {
		for schema := range bySchema {
			return removeIdle(mem, schema, 0)
		}
	}
	return nil
}

// removeIdle removes and returns the i-th idle reader of mem and schema,
// dropping the map entries it leaves empty. readerCache must be locked.
func removeIdle(mem memory.Allocator, schema string, i int) *cachedReader {
	bySchema := readerCache.idle[mem]
	idle := bySchema[schema]
	cr := idle[i]
	if idle = slices.Delete(idle, i, i+1); len(idle) > 0 {
		bySchema[schema] = idle
	} else if delete(bySchema, schema); len(bySchema) == 0 {
		delete(readerCache.idle, mem)
	}
	readerCache.n--
	return cr
}

func (cr *cachedReader) close() {
	cr.rdr.Release()
	cr.mr.Release()
}
