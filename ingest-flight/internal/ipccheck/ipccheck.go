package ipccheck

import (
	"encoding/binary"
	"errors"
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"
)

// ErrInvalid is wrapped by every error of this package.
var ErrInvalid = errors.New("ipccheck: invalid arrow ipc metadata")

// Limits on one message; real schemas stay far below them.
const (
	// MaxFields bounds the fields of a schema, counting nested children
	// every time they are referenced.
	MaxFields = 10_000
	// MaxMetadata bounds the custom metadata entries of a message.
	MaxMetadata = 10_000
	// MaxDepth bounds how deeply fields nest.
	MaxDepth = 64
)

// Message header types (Message.fbs MessageHeader) and the Union type
// (Schema.fbs Type) that the checks look into.
const (
	headerSchema     = 1
	headerDictionary = 2
	headerRecord     = 3
	typeUnion        = 14
)

// checker walks one flatbuffer message.
type checker struct {
	buf      []byte
	fields   int
	metadata int
}

// Message checks one IPC message's flatbuffer metadata (a Flight
// FlightData's data_header). An empty header (a Flight message carrying
// only app metadata or the descriptor) is accepted.
func Message(meta []byte) (err error) {
	if len(meta) == 0 {
		return nil
	}
	_, err = message(meta)
	return err
}

// message checks meta and returns the body length it declares.
func message(meta []byte) (body int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			body, err = 0, fmt.Errorf("%w: message metadata out of bounds: %v", ErrInvalid, r)
		}
	}()
	if len(meta) < 8 {
		return 0, fmt.Errorf("%w: message metadata of %d bytes", ErrInvalid, len(meta))
	}
	c := &checker{buf: meta}
	t, err := c.root()
	if err != nil {
		return 0, err
	}
	if err := c.metadataVector(t, 12); err != nil { // Message.custom_metadata
		return 0, err
	}
	body = t.GetInt64Slot(10, 0) // Message.bodyLength
	if body < 0 {
		return 0, fmt.Errorf("%w: negative body length %d", ErrInvalid, body)
	}
	var h flatbuffers.Table
	if !c.union(t, 8, &h) { // Message.header
		return body, nil
	}
	switch t.GetByteSlot(6, 0) { // Message.header_type
	case headerSchema:
		return body, c.schema(h)
	case headerDictionary:
		var rb flatbuffers.Table
		if c.table(h, 6, &rb) { // DictionaryBatch.data
			return body, c.record(rb)
		}
	case headerRecord:
		return body, c.record(h)
	}
	return body, nil
}

// Stream checks every message of an IPC stream (an OTAP payload): each
// length prefix and declared body length must fit in the bytes left, and
// each message's metadata must pass [Message].
func Stream(b []byte) error {
	for i := 0; len(b) > 0; i++ {
		if len(b) < 4 {
			return fmt.Errorf("%w: message %d: %d bytes left, want a length prefix", ErrInvalid, i, len(b))
		}
		n := binary.LittleEndian.Uint32(b)
		b = b[4:]
		if n == 0xFFFFFFFF { // continuation marker, then the length
			if len(b) < 4 {
				return fmt.Errorf("%w: message %d: truncated length prefix", ErrInvalid, i)
			}
			n = binary.LittleEndian.Uint32(b)
			b = b[4:]
		}
		if n == 0 { // end of stream
			return nil
		}
		if uint64(n) > uint64(len(b)) {
			return fmt.Errorf("%w: message %d: metadata of %d bytes, %d left", ErrInvalid, i, n, len(b))
		}
		body, err := message(b[:n])
		if err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
		b = b[n:]
		if body > int64(len(b)) {
			return fmt.Errorf("%w: message %d: body of %d bytes, %d left", ErrInvalid, i, body, len(b))
		}
		b = b[body:]
	}
	return nil
}

func (c *checker) root() (flatbuffers.Table, error) {
	pos := flatbuffers.GetUOffsetT(c.buf)
	if uint64(pos)+4 > uint64(len(c.buf)) {
		return flatbuffers.Table{}, fmt.Errorf("%w: root offset %d beyond %d bytes", ErrInvalid, pos, len(c.buf))
	}
	return flatbuffers.Table{Bytes: c.buf, Pos: pos}, nil
}

// vector returns the start and length of the vector in slot vt of t, after
// checking that its n elements of size bytes lie within the buffer.
func (c *checker) vector(t flatbuffers.Table, vt flatbuffers.VOffsetT, size int) (start flatbuffers.UOffsetT, n int, err error) {
	o := flatbuffers.UOffsetT(t.Offset(vt))
	if o == 0 {
		return 0, 0, nil
	}
	at := t.Pos + o
	if uint64(at)+4 > uint64(len(c.buf)) {
		return 0, 0, fmt.Errorf("%w: vector offset beyond the metadata", ErrInvalid)
	}
	start = t.Vector(o)
	n = t.VectorLen(o)
	if n < 0 || uint64(start)+uint64(n)*uint64(size) > uint64(len(c.buf)) {
		return 0, 0, fmt.Errorf("%w: vector of %d elements beyond the %d bytes of metadata", ErrInvalid, n, len(c.buf))
	}
	return start, n, nil
}

// element returns the table at index i of a vector of tables.
func (c *checker) element(start flatbuffers.UOffsetT, i int) flatbuffers.Table {
	at := start + flatbuffers.UOffsetT(i)*4
	pos := at + flatbuffers.GetUOffsetT(c.buf[at:])
	if uint64(pos)+4 > uint64(len(c.buf)) {
		panic("table offset beyond the metadata")
	}
	return flatbuffers.Table{Bytes: c.buf, Pos: pos}
}

// table loads the sub-table in slot vt of t into out.
func (c *checker) table(t flatbuffers.Table, vt flatbuffers.VOffsetT, out *flatbuffers.Table) bool {
	o := flatbuffers.UOffsetT(t.Offset(vt))
	if o == 0 {
		return false
	}
	pos := t.Indirect(t.Pos + o)
	if uint64(pos)+4 > uint64(len(c.buf)) {
		panic("table offset beyond the metadata")
	}
	*out = flatbuffers.Table{Bytes: c.buf, Pos: pos}
	return true
}

// union loads the union value in slot vt of t into out.
func (c *checker) union(t flatbuffers.Table, vt flatbuffers.VOffsetT, out *flatbuffers.Table) bool {
	return c.table(t, vt, out)
}

// metadataVector checks a custom_metadata vector (of KeyValue tables).
func (c *checker) metadataVector(t flatbuffers.Table, vt flatbuffers.VOffsetT) error {
	start, n, err := c.vector(t, vt, 4)
	if err != nil {
		return err
	}
	c.metadata += n
	if c.metadata > MaxMetadata {
		return fmt.Errorf("%w: more than %d custom metadata entries", ErrInvalid, MaxMetadata)
	}
	for i := range n {
		kv := c.element(start, i)
		for _, slot := range []flatbuffers.VOffsetT{4, 6} { // KeyValue.key, .value
			if _, _, err := c.vector(kv, slot, 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// schema checks a Schema table: its fields, metadata and features.
func (c *checker) schema(s flatbuffers.Table) error {
	if err := c.metadataVector(s, 8); err != nil { // Schema.custom_metadata
		return err
	}
	if _, _, err := c.vector(s, 10, 8); err != nil { // Schema.features
		return err
	}
	return c.fieldVector(s, 6, 1) // Schema.fields
}

func (c *checker) fieldVector(t flatbuffers.Table, vt flatbuffers.VOffsetT, depth int) error {
	start, n, err := c.vector(t, vt, 4)
	if err != nil {
		return err
	}
	for i := range n {
		if err := c.field(c.element(start, i), depth); err != nil {
			return err
		}
	}
	return nil
}

// field checks a Field table and, recursively, its children.
func (c *checker) field(f flatbuffers.Table, depth int) error {
	c.fields++
	if c.fields > MaxFields {
		return fmt.Errorf("%w: more than %d fields", ErrInvalid, MaxFields)
	}
	if depth > MaxDepth {
		return fmt.Errorf("%w: fields nested deeper than %d", ErrInvalid, MaxDepth)
	}
	if _, _, err := c.vector(f, 4, 1); err != nil { // Field.name
		return err
	}
	if err := c.metadataVector(f, 16); err != nil { // Field.custom_metadata
		return err
	}
	if f.GetByteSlot(8, 0) == typeUnion { // Field.type_type
		var u flatbuffers.Table
		if c.union(f, 10, &u) { // Field.type
			if _, _, err := c.vector(u, 6, 4); err != nil { // Union.typeIds
				return err
			}
		}
	}
	var dict flatbuffers.Table
	if c.table(f, 12, &dict) { // Field.dictionary
		var it flatbuffers.Table
		c.table(dict, 6, &it) // DictionaryEncoding.indexType: loaded to check its offset
	}
	return c.fieldVector(f, 14, depth+1) // Field.children
}

// record checks a RecordBatch table's vectors: nodes and buffers (structs
// of 16 bytes) and variadic buffer counts.
func (c *checker) record(r flatbuffers.Table) error {
	for _, v := range []struct {
		vt   flatbuffers.VOffsetT
		size int
	}{{6, 16}, {8, 16}, {12, 8}} { // nodes, buffers, variadicBufferCounts
		if _, _, err := c.vector(r, v.vt, v.size); err != nil {
			return err
		}
	}
	var comp flatbuffers.Table
	c.table(r, 10, &comp) // RecordBatch.compression: loaded to check its offset
	return nil
}
