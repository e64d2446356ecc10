package ipccheck

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	flatbuffers "github.com/google/flatbuffers/go"
)

// schemaMessage builds a Message holding a Schema with no fields and
// returns it with the position of the fields vector's length.
func schemaMessage(t *testing.T) ([]byte, int) {
	t.Helper()
	b := flatbuffers.NewBuilder(0)
	b.StartVector(4, 0, 4)
	fields := b.EndVector(0)
	b.StartObject(4)
	b.PrependUOffsetTSlot(1, fields, 0)
	sch := b.EndObject()
	b.StartObject(5)
	b.PrependInt16Slot(0, 4, 0)
	b.PrependByteSlot(1, headerSchema, 0)
	b.PrependUOffsetTSlot(2, sch, 0)
	b.Finish(b.EndObject())
	buf := b.FinishedBytes()
	msg := flatbuffers.Table{Bytes: buf, Pos: flatbuffers.GetUOffsetT(buf)}
	s := flatbuffers.Table{Bytes: buf, Pos: msg.Indirect(msg.Pos + flatbuffers.UOffsetT(msg.Offset(8)))}
	return buf, int(s.Vector(flatbuffers.UOffsetT(s.Offset(6)))) - 4
}

func TestMessage(t *testing.T) {
	valid, at := schemaMessage(t)
	if err := Message(valid); err != nil {
		t.Fatalf("valid schema: %v", err)
	}
	huge := bytes.Clone(valid)
	binary.LittleEndian.PutUint32(huge[at:], 0x7fffffff)
	for name, b := range map[string][]byte{
		"huge field count": huge,
		"short":            {1, 2, 3},
		"root beyond":      {0xff, 0xff, 0, 0, 0, 0, 0, 0},
	} {
		if err := Message(b); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if err := Message(nil); err != nil {
		t.Errorf("empty header: %v", err)
	}
}

func TestStream(t *testing.T) {
	mem := memory.NewGoAllocator()
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String},
		{Name: "l", Type: arrow.ListOf(arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64}))},
		{Name: "d", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}},
	}, nil)
	b := array.NewRecordBuilder(mem, sch)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append("a")
	lb := b.Field(1).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.StructBuilder).Append(true)
	lb.ValueBuilder().(*array.StructBuilder).FieldBuilder(0).(*array.Int64Builder).Append(1)
	if err := b.Field(2).(*array.BinaryDictionaryBuilder).AppendString("v"); err != nil {
		t.Fatal(err)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(sch), ipc.WithZstd())
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Stream(buf.Bytes()); err != nil {
		t.Fatalf("valid stream: %v", err)
	}
	long := binary.LittleEndian.AppendUint32([]byte{0xff, 0xff, 0xff, 0xff}, 1<<30)
	if err := Stream(append(long, 1, 2, 3, 4)); !errors.Is(err, ErrInvalid) {
		t.Errorf("length beyond the bytes: err = %v, want ErrInvalid", err)
	}
	if err := Stream(buf.Bytes()[:buf.Len()-20]); !errors.Is(err, ErrInvalid) {
		t.Errorf("truncated stream: err = %v, want ErrInvalid", err)
	}
}
