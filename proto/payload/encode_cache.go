package payload

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// A fresh ipc.Writer builds the flatbuffer schema message of its schema
// before the first batch; for the ~200-field signal schemas that was a
// quarter to a half of the time to encode a payload of 1 to 100 rows, and
// most of its allocations. The writers below are
// long-lived instead, one per schema, compression and allocator in a
// sync.Pool: each started once, after which a payload is the schema message
// they wrote first, copied, then what Write emits, then the end-of-stream
// marker.
//
// The bytes are those of a fresh writer. The one state a writer carries
// from batch to batch is the dictionaries it wrote last: it skips a
// dictionary equal to the last one of its id. Every payload is a stream of
// its own, so the first batch of a payload needs all of its dictionaries:
// the cached stream keeps the message each dictionary id was last written
// with and puts the skipped ones back, in id order, before the batch. That
// is exact only when the skipped dictionary is byte for byte the one whose
// message is kept, so the cached stream hands the writer its own copies of
// the dictionaries: the kept copy when the batch's dictionary has the same
// buffers, a new copy otherwise. If the writer skips a new copy of the
// first batch (equal values in other buffers), the payload is encoded
// afresh. Copies also keep the writer from holding the caller's memory
// between calls. Later batches of a payload see the writer in the state a
// fresh one would have, so what it emits for them is kept as is.
//
// Schemas whose dictionaries are not all top-level columns (dictionaries in
// structs or lists, dictionaries of dictionaries) use a fresh writer.

// writeStream writes recs, which share schema, as one Arrow IPC stream to
// buf.
func writeStream(buf *bytes.Buffer, schema *arrow.Schema, recs []arrow.RecordBatch, o options) error {
	if o.fresh {
		return writeFresh(buf, schema, recs, o)
	}
	if pool := streams.pool(schema, o); pool != nil {
		s := pool.get(schema, o)
		start := buf.Len()
		ok, err := s.write(buf, recs)
		if err != nil {
			s.discard()
		} else {
			pool.put(s)
		}
		if ok {
			return nil
		}
		// A fresh writer reports the error, if it has one too.
		buf.Truncate(start)
	}
	return writeFresh(buf, schema, recs, o)
}

// rewrites counts the payloads a cached writer gave back for a fresh one
// because it skipped a dictionary they need (tests).
var rewrites atomic.Int64

// writeFresh writes recs as one stream with a writer of its own.
func writeFresh(buf *bytes.Buffer, schema *arrow.Schema, recs []arrow.RecordBatch, o options) error {
	w := ipc.NewWriter(buf, o.ipcOptions(ipc.WithSchema(schema))...)
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			_ = w.Close()
			return fmt.Errorf("encode payload: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("encode payload: %w", err)
	}
	return nil
}

// streamKey is what a cached writer is bound to: its schema, compression
// and scratch allocator.
type streamKey struct {
	schema *arrow.Schema
	codec  codec
	mem    memory.Allocator
}

type streamCache struct {
	mu    sync.Mutex
	pools map[streamKey]*streamPool // nil: schema not cacheable
}

var streams = &streamCache{pools: map[streamKey]*streamPool{}}

// pool returns the writers of schema and o, or nil when they are not cached.
func (c *streamCache) pool(schema *arrow.Schema, o options) *streamPool {
	// Allocators key a map: only pointers are sure to be comparable.
	if reflect.TypeOf(o.mem).Kind() != reflect.Pointer {
		return nil
	}
	k := streamKey{schema: schema, codec: o.codec, mem: o.mem}
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pools[k]
	if !ok {
		// Schemas are few (one per signal and version), but a Flight
		// client may send any schema: bound the map like metaSizes.
		if len(c.pools) >= maxSchemas {
			clear(c.pools)
		}
		p = newStreamPool(schema)
		c.pools[k] = p
	}
	return p
}

// streamPool holds the idle writers of one key.
type streamPool struct {
	pool     sync.Pool // of *cachedStream
	dictCols []int     // the dictionary columns; dictCols[id] has dictionary id id
}

// newStreamPool returns the pool for schema, or nil when schema has
// dictionaries elsewhere than in top-level columns.
func newStreamPool(schema *arrow.Schema) *streamPool {
	p := &streamPool{}
	for i, f := range schema.Fields() {
		if d, ok := f.Type.(*arrow.DictionaryType); ok {
			if hasDict(d.ValueType) {
				return nil
			}
			p.dictCols = append(p.dictCols, i)
			continue
		}
		if hasDict(f.Type) {
			return nil
		}
	}
	return p
}

// hasDict reports whether dt is or holds a dictionary type.
func hasDict(dt arrow.DataType) bool {
	switch t := dt.(type) {
	case *arrow.DictionaryType:
		return true
	case arrow.ExtensionType:
		return hasDict(t.StorageType())
	case arrow.NestedType:
		for _, f := range t.Fields() {
			if hasDict(f.Type) {
				return true
			}
		}
	}
	return false
}

func (p *streamPool) get(schema *arrow.Schema, o options) *cachedStream {
	if s, ok := p.pool.Get().(*cachedStream); ok {
		return s
	}
	n := len(p.dictCols)
	s := &cachedStream{
		schema:   schema,
		dictCols: p.dictCols,
		last:     make([]*array.Data, n),
		lastMsg:  make([][]byte, n),
		fed:      make([]*array.Data, n),
	}
	s.w = ipc.NewWriterWithPayloadWriter(s, o.ipcOptions(ipc.WithSchema(schema))...)
	return s
}

func (p *streamPool) put(s *cachedStream) { p.pool.Put(s) }

// cachedStream is a long-lived ipc.Writer and the payload writer it writes
// to. It is used by one goroutine at a time.
type cachedStream struct {
	w        *ipc.Writer
	schema   *arrow.Schema
	dictCols []int

	schemaMsg []byte        // the schema message, once written
	last      []*array.Data // by id: the dictionary w holds as last written (a copy of ours)
	lastMsg   [][]byte      // by id: the message w wrote for last[id]
	fed       []*array.Data // by id: the dictionary of the batch being written
	cols      []arrow.Array // scratch for the batch handed to w

	out      *bytes.Buffer // the payload being written
	first    bool          // the batch being written is the payload's first
	mismatch bool          // the first batch lacks a dictionary message
}

// endOfStream is the end-of-stream marker of the IPC stream format.
var endOfStream = [8]byte{0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0}

// write appends recs to buf as one stream. ok false with a nil error means
// that the payload is to be written afresh (buf truncated); the writer is
// still usable. After an error it is not.
func (s *cachedStream) write(buf *bytes.Buffer, recs []arrow.RecordBatch) (ok bool, err error) {
	if s.schemaMsg == nil && len(recs) == 0 {
		return false, nil // not started: its first Write writes the schema
	}
	s.out = buf
	defer func() { s.out = nil }()
	buf.Write(s.schemaMsg)
	for i, rec := range recs {
		in := s.feed(rec)
		if in == nil {
			return false, nil
		}
		s.first, s.mismatch = i == 0, false
		err := s.w.Write(in)
		in.Release()
		s.releaseFed()
		if err != nil {
			return false, fmt.Errorf("encode payload: %w", err)
		}
		if s.mismatch {
			// The writer skipped a dictionary the payload needs (see above).
			rewrites.Add(1)
			return false, nil
		}
	}
	buf.Write(endOfStream[:])
	return true, nil
}

// feed returns rec with our copies of its dictionaries, recording them in
// s.fed, or nil for a batch without them.
func (s *cachedStream) feed(rec arrow.RecordBatch) arrow.RecordBatch {
	for _, c := range s.dictCols {
		if dictionary(rec.Column(c)) == nil {
			return nil
		}
	}
	s.cols = append(s.cols[:0], rec.Columns()...)
	for id, c := range s.dictCols {
		d := rec.Column(c).Data()
		dict := dictionary(rec.Column(c))
		if last := s.last[id]; last != nil && sameData(last, dict) {
			last.Retain()
			s.fed[id] = last
		} else {
			s.fed[id] = copyData(dict)
		}
		nd := array.NewDataWithDictionary(d.DataType(), d.Len(), d.Buffers(), d.NullN(), d.Offset(), s.fed[id])
		s.cols[c] = array.MakeFromData(nd)
		nd.Release()
	}
	var meta arrow.Metadata
	if rm, ok := rec.(arrow.RecordBatchWithMetadata); ok {
		meta = rm.Metadata()
	}
	out := array.NewRecordBatchWithMetadata(s.schema, s.cols, rec.NumRows(), meta)
	for _, c := range s.dictCols {
		s.cols[c].Release()
	}
	clear(s.cols)
	return out
}

func (s *cachedStream) releaseFed() {
	for id, d := range s.fed {
		if d != nil {
			d.Release()
			s.fed[id] = nil
		}
	}
}

// discard releases a writer left in an unknown state by an error.
func (s *cachedStream) discard() {
	_ = s.w.Close()
	s.releaseFed()
	for id, d := range s.last {
		if d != nil {
			d.Release()
			s.last[id] = nil
		}
	}
}

// Start, WritePayload and Close make cachedStream the ipc.PayloadWriter of
// its writer.

func (s *cachedStream) Start() error { return nil }
func (s *cachedStream) Close() error { return nil }

func (s *cachedStream) WritePayload(p ipc.Payload) error {
	if s.out == nil {
		return errors.New("payload writer used outside a write")
	}
	meta := p.Meta()
	if meta == nil {
		return errors.New("payload without metadata")
	}
	typ, id, err := messageHeader(meta.Bytes())
	meta.Release()
	if err != nil {
		return err
	}
	switch typ {
	case headerSchema:
		var b bytes.Buffer
		if _, err := p.WritePayload(&b); err != nil {
			return err
		}
		s.schemaMsg = b.Bytes()
		s.out.Write(s.schemaMsg)
		return nil
	case headerDictionaryBatch:
		if id < 0 || id >= int64(len(s.last)) || s.fed[id] == nil {
			return fmt.Errorf("dictionary id %d of %d", id, len(s.last))
		}
		b := bytes.NewBuffer(s.lastMsg[id][:0])
		if _, err := p.WritePayload(b); err != nil {
			return err
		}
		s.lastMsg[id] = b.Bytes()
		s.fed[id].Retain()
		if s.last[id] != nil {
			s.last[id].Release()
		}
		s.last[id] = s.fed[id]
		if !s.first {
			s.out.Write(s.lastMsg[id])
		}
		return nil
	case headerRecordBatch:
		if s.first {
			// A fresh writer writes every dictionary, in id order.
			for id := range s.last {
				if s.last[id] != s.fed[id] {
					s.mismatch = true // skipped, and not the kept one
				}
				s.out.Write(s.lastMsg[id])
			}
		}
		_, err := p.WritePayload(s.out)
		return err
	}
	return fmt.Errorf("unexpected message type %d", typ)
}

// messageHeader reads the header type of the flatbuffer Message in b and,
// for a dictionary batch, its id.
func messageHeader(b []byte) (typ uint8, dictID int64, err error) {
	fb := flatbuf{buf: b}
	root, err := fb.root()
	if err != nil {
		return 0, 0, err
	}
	if typ, err = fb.uint8Field(root, 1); err != nil || typ != headerDictionaryBatch {
		return typ, 0, err
	}
	header, ok, err := fb.tableField(root, 2)
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		return 0, 0, errors.New("dictionary batch message without header")
	}
	dictID, err = fb.int64Field(header, 0) // DictionaryBatch.id
	return typ, dictID, err
}

// dictionary returns the dictionary of a dictionary array, nil if it has
// none.
func dictionary(col arrow.Array) *array.Data {
	d, _ := col.Data().Dictionary().(*array.Data)
	return d
}

// sameData reports whether a and b hold the same buffers byte for byte at
// the same offset, length and null count, so that they encode alike.
func sameData(a, b arrow.ArrayData) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.Len() != b.Len() || a.Offset() != b.Offset() || a.NullN() != b.NullN() {
		return false
	}
	ab, bb := a.Buffers(), b.Buffers()
	if len(ab) != len(bb) {
		return false
	}
	for i := range ab {
		if (ab[i] == nil) != (bb[i] == nil) {
			return false
		}
		if ab[i] != nil && !bytes.Equal(ab[i].Bytes(), bb[i].Bytes()) {
			return false
		}
	}
	ac, bc := a.Children(), b.Children()
	if len(ac) != len(bc) {
		return false
	}
	for i := range ac {
		if !sameData(ac[i], bc[i]) {
			return false
		}
	}
	return true
}

// copyData returns a copy of d in memory of the garbage collector. d holds
// no dictionaries (see newStreamPool).
func copyData(d arrow.ArrayData) *array.Data {
	bufs := make([]*memory.Buffer, len(d.Buffers()))
	for i, b := range d.Buffers() {
		if b != nil {
			bufs[i] = memory.NewBufferBytes(bytes.Clone(b.Bytes()))
		}
	}
	var children []arrow.ArrayData
	if len(d.Children()) > 0 {
		children = make([]arrow.ArrayData, len(d.Children()))
		for i, c := range d.Children() {
			children[i] = copyData(c)
		}
	}
	out := array.NewData(d.DataType(), d.Len(), bufs, children, d.NullN(), d.Offset())
	for _, c := range children {
		c.Release()
	}
	return out
}
