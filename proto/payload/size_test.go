package payload

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func sizeTestBatch(t *testing.T, rows int) arrow.RecordBatch {
	t.Helper()
	s := arrow.NewSchema([]arrow.Field{
		{Name: "service_name", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, s)
	defer b.Release()
	for i := range rows {
		if err := b.Field(0).(*array.BinaryDictionaryBuilder).AppendString("svc"); err != nil {
			t.Fatal(err)
		}
		b.Field(1).(*array.StringBuilder).Append("some span name")
		b.Field(2).(*array.Int64Builder).Append(int64(i))
	}
	return b.NewRecordBatch()
}

// TestEncodePresized checks that Encode sizes its buffer from the batch and
// what the schema's last payload needed: a payload of a known schema is
// written without growing its buffer (capacity well under twice the length).
func TestEncodePresized(t *testing.T) {
	rec := sizeTestBatch(t, 1000)
	defer rec.Release()
	if got := Size([]arrow.RecordBatch{rec}); got < 1000*(4+8+4+14) {
		t.Fatalf("Size = %d, want at least the raw column bytes %d", got, 1000*(4+8+4+14))
	}
	for i := range 2 {
		out, err := Encode([]arrow.RecordBatch{rec}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 1 {
			t.Fatalf("got %d payloads, want 1", len(out))
		}
		if i == 1 && cap(out[0]) > len(out[0])+len(out[0])/2 {
			t.Errorf("second payload: cap %d for len %d, want no doubling", cap(out[0]), len(out[0]))
		}
		_, recs, err := Decode(out[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || recs[0].NumRows() != rec.NumRows() {
			t.Fatalf("decoded %d batches, want 1 of %d rows", len(recs), rec.NumRows())
		}
		recs[0].Release()
	}
}
