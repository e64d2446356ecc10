package schema

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// BenchmarkFileBytesLayouts measures what a file of spans would weigh in
// layouts a traces/v2 schema could take (issue 19: "dictionary-encoded
// attribute keys and repeated values"), against today's: 8192 spans of 20
// services in one zstd-compressed Arrow IPC stream, as the writer's flush of
// a gateway's request would write them. It reports bytes per span:
//
//   - v1: the traces schema as it is (resource attributes as six maps on
//     every row);
//   - resource-dict: the six resource attribute maps replaced by one
//     dictionary<int32, string> column holding the resource's attributes as
//     JSON, so a resource is stored once per batch and each row is an index;
//   - resource-dict+key-dict: that, and the keys of the span attribute maps
//     dictionary-encoded (map<dictionary<int16, string>, value>);
//   - resource-dict+key-dict+str-value-dict: that, and the string values too
//     (map<dictionary<int16, string>, dictionary<int32, string>>);
//   - v2: the traces/v2 file layout (ToV2): v1's columns with every string,
//     at any depth, dictionary<int32, string>: the six resource attribute
//     maps stay typed maps, their keys and string values indices.
//
// Run: cd proto && go test -run '^$' -bench FileBytesLayouts -benchtime 1x ./schema/
func BenchmarkFileBytesLayouts(b *testing.B) {
	mem := memory.NewGoAllocator()
	rss, resJSON := layoutSpans(8192, 20)
	rec, err := TracesToArrow(mem, rss)
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Release()
	rows := float64(rec.NumRows())
	v1 := rec
	resDict := withResourceDict(b, mem, v1, resJSON)
	defer resDict.Release()
	keyDict := withKeyDicts(b, mem, resDict, "attributes_", false)
	defer keyDict.Release()
	valDict := withKeyDicts(b, mem, resDict, "attributes_", true)
	defer valDict.Release()
	v2, err := ToV2(mem, Traces, v1)
	if err != nil {
		b.Fatal(err)
	}
	defer v2.Release()
	for _, l := range []struct {
		name string
		rec  arrow.RecordBatch
	}{{"v1", v1}, {"resource-dict", resDict}, {"resource-dict+key-dict", keyDict}, {"resource-dict+key-dict+str-value-dict", valDict}, {"v2", v2}} {
		b.Run(l.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				n = ipcSize(b, l.rec)
			}
			b.ReportMetric(float64(n)/rows, "file-B/span")
		})
	}
}

// layoutSpans makes rows spans spread over services resources, like the load
// tool's gateway requests, and the JSON of each span's resource attributes.
func layoutSpans(rows, services int) ([]*tracepb.ResourceSpans, []string) {
	r := rand.New(rand.NewPCG(9, 19))
	var rss []*tracepb.ResourceSpans
	var resJSON []string
	for svc := range services {
		res := benchResource(svc)
		js, err := protojson.Marshal(&commonpb.KeyValueList{Values: res.Attributes})
		if err != nil {
			panic(err)
		}
		ss := &tracepb.ScopeSpans{Scope: benchScope}
		for j := range rows / services {
			ss.Spans = append(ss.Spans, benchSpan(r, j))
			resJSON = append(resJSON, string(js))
		}
		rss = append(rss, &tracepb.ResourceSpans{Resource: res, ScopeSpans: []*tracepb.ScopeSpans{ss}})
	}
	return rss, resJSON
}

// withResourceDict replaces the resource_attributes_* columns of rec with
// one dictionary column of the rows' resource JSON.
func withResourceDict(b *testing.B, mem memory.Allocator, rec arrow.RecordBatch, resJSON []string) arrow.RecordBatch {
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	db := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
	defer db.Release()
	for _, js := range resJSON {
		if err := db.AppendString(js); err != nil {
			b.Fatal(err)
		}
	}
	col := db.NewArray()
	defer col.Release()
	var fields []arrow.Field
	var cols []arrow.Array
	added := false
	for i, f := range rec.Schema().Fields() {
		if len(f.Name) > len("resource_attributes_") && f.Name[:len("resource_attributes_")] == "resource_attributes_" {
			if !added {
				fields = append(fields, arrow.Field{Name: "resource_attributes", Type: dt, Nullable: true})
				cols = append(cols, col)
				added = true
			}
			continue
		}
		fields = append(fields, f)
		cols = append(cols, rec.Column(i))
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}

// withKeyDicts rebuilds the map columns named prefix+kind with
// dictionary-encoded keys, and string values too when strValues.
func withKeyDicts(b *testing.B, mem memory.Allocator, rec arrow.RecordBatch, prefix string, strValues bool) arrow.RecordBatch {
	keyType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}
	var fields []arrow.Field
	var cols []arrow.Array
	for i, f := range rec.Schema().Fields() {
		m, ok := rec.Column(i).(*array.Map)
		if !ok || len(f.Name) <= len(prefix) || f.Name[:len(prefix)] != prefix {
			fields = append(fields, f)
			cols = append(cols, rec.Column(i))
			continue
		}
		itemType := m.Items().DataType()
		strDict := strValues && itemType.ID() == arrow.STRING
		if strDict {
			itemType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
		}
		mt := arrow.MapOf(keyType, itemType)
		mb := array.NewMapBuilderWithType(mem, mt)
		kb := mb.KeyBuilder().(*array.BinaryDictionaryBuilder)
		keys := m.Keys().(*array.String)
		items := m.Items()
		for row := range m.Len() {
			if m.IsNull(row) {
				mb.AppendNull()
				continue
			}
			mb.Append(true)
			start, end := m.ValueOffsets(row)
			for j := start; j < end; j++ {
				if err := kb.AppendString(keys.Value(int(j))); err != nil {
					b.Fatal(err)
				}
				if strDict {
					if err := mb.ItemBuilder().(*array.BinaryDictionaryBuilder).AppendString(items.(*array.String).Value(int(j))); err != nil {
						b.Fatal(err)
					}
					continue
				}
				appendItem(b, mb.ItemBuilder(), items, int(j))
			}
		}
		col := mb.NewArray()
		mb.Release()
		defer col.Release()
		fields = append(fields, arrow.Field{Name: f.Name, Type: mt, Nullable: true})
		cols = append(cols, col)
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}

// appendItem copies items[j] to ib (the value kinds of the attribute maps).
func appendItem(b *testing.B, ib array.Builder, items arrow.Array, j int) {
	if items.IsNull(j) {
		ib.AppendNull()
		return
	}
	switch it := items.(type) {
	case *array.String:
		ib.(*array.StringBuilder).Append(it.Value(j))
	case *array.Int64:
		ib.(*array.Int64Builder).Append(it.Value(j))
	case *array.Float64:
		ib.(*array.Float64Builder).Append(it.Value(j))
	case *array.Boolean:
		ib.(*array.BooleanBuilder).Append(it.Value(j))
	case *array.Binary:
		ib.(*array.BinaryBuilder).Append(it.Value(j))
	default:
		b.Fatalf("attribute value type %s", items.DataType())
	}
}

// BenchmarkV2Convert measures the traces/v2 conversions on the 8192 gateway
// spans of BenchmarkFileBytesLayouts: ToV2 (what the writer adds per span
// written in v2) and FromV2 (what our readers add per span read).
//
// Run: cd proto && go test -run '^$' -bench V2Convert ./schema/
func BenchmarkV2Convert(b *testing.B) {
	mem := memory.NewGoAllocator()
	rss, _ := layoutSpans(8192, 20)
	v1, err := TracesToArrow(mem, rss)
	if err != nil {
		b.Fatal(err)
	}
	defer v1.Release()
	v2, err := ToV2(mem, Traces, v1)
	if err != nil {
		b.Fatal(err)
	}
	defer v2.Release()
	for _, c := range []struct {
		name string
		in   arrow.RecordBatch
		conv func(arrow.RecordBatch) (arrow.RecordBatch, error)
	}{
		{"ToV2", v1, func(r arrow.RecordBatch) (arrow.RecordBatch, error) { return ToV2(mem, Traces, r) }},
		{"FromV2", v2, func(r arrow.RecordBatch) (arrow.RecordBatch, error) { return FromV2(mem, r) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				out, err := c.conv(c.in)
				if err != nil {
					b.Fatal(err)
				}
				out.Release()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(c.in.NumRows()), "ns/span")
		})
	}
}
