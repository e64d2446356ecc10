package payload

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// encodeSmall returns a payload of a one-column schema with custom metadata.
func encodeSmall(t *testing.T, opts ...Option) []byte {
	t.Helper()
	md := arrow.NewMetadata([]string{"k"}, []string{"v"})
	schema := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}}, &md)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 4, 5, 6, 7, 8}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	p, err := Encode([]arrow.RecordBatch{rec}, 0, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p[0]
}

// messages returns the metadata and body offsets of each message in p.
func messages(t *testing.T, p []byte) (metas, bodies []int) {
	t.Helper()
	pos := 0
	for {
		pos += 4 // continuation marker
		n := int(binary.LittleEndian.Uint32(p[pos:]))
		pos += 4
		if n == 0 {
			return metas, bodies
		}
		fb := flatbuf{buf: p[pos : pos+n]}
		root, err := fb.root()
		if err != nil {
			t.Fatal(err)
		}
		bodyLen, err := fb.int64Field(root, 3)
		if err != nil {
			t.Fatal(err)
		}
		metas = append(metas, pos)
		bodies = append(bodies, pos+n)
		pos += n + int(bodyLen)
	}
}

// TestDecodeHugeVectorLength: a corrupt vector length must not make the
// arrow reader allocate it.
func TestDecodeHugeVectorLength(t *testing.T) {
	p := encodeSmall(t)
	metas, _ := messages(t, p)
	meta := p[metas[0]:]
	fb := flatbuf{buf: meta}
	root, _ := fb.root()
	schema, ok, err := fb.tableField(root, 2)
	if err != nil || !ok {
		t.Fatalf("schema table: %v", err)
	}
	start, n, err := fb.vector(schema, 2, 4) // custom_metadata
	if err != nil || n != 1 {
		t.Fatalf("custom metadata vector: n=%d err=%v", n, err)
	}
	binary.LittleEndian.PutUint32(meta[start-4:], 0x7fffffff)
	_, _, err = Decode(p, nil)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("decode: got %v, want ErrMalformed", err)
	}
}

// TestDecodeHugeUncompressedSize: a compressed buffer declaring a huge
// uncompressed size hits the memory budget.
func TestDecodeHugeUncompressedSize(t *testing.T) {
	p := encodeSmall(t, WithLZ4())
	metas, bodies := messages(t, p)
	// The record batch: message 1. Its buffers: slot 2 of the RecordBatch.
	meta := p[metas[1]:bodies[1]]
	fb := flatbuf{buf: meta}
	root, _ := fb.root()
	rb, ok, err := fb.tableField(root, 2)
	if err != nil || !ok {
		t.Fatalf("record batch table: %v", err)
	}
	start, n, err := fb.vector(rb, 2, 16)
	if err != nil {
		t.Fatal(err)
	}
	patched := false
	for i := range n {
		off := int(binary.LittleEndian.Uint64(meta[start+16*i:]))
		length := int(binary.LittleEndian.Uint64(meta[start+16*i+8:]))
		if length >= 8 {
			binary.LittleEndian.PutUint64(p[bodies[1]+off:], 1<<40)
			patched = true
			break
		}
	}
	if !patched {
		t.Fatal("no compressed buffer found")
	}
	_, _, err = Decode(p, nil)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("decode: got %v, want ErrMalformed", err)
	}
	t.Log(err)
}
