package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"go.opentelemetry.io/otel/attribute"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// startTestPipeline starts a pipeline in a temporary directory and shuts
// it down at the end of the test.
func startTestPipeline(t *testing.T) *Pipeline {
	t.Helper()
	dir := t.TempDir()
	p, err := Start(context.Background(),
		WithOutputDir(filepath.Join(dir, "out")),
		WithDataDir(filepath.Join(dir, "data")),
		WithWriteInterval(50*time.Millisecond))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return p
}

// readSignal reads every record batch of a signal's files under out,
// finished (.arrows) or still open (.arrows.partial). The caller releases
// the batches.
func readSignal(out string, sig schema.Signal) ([]arrow.RecordBatch, error) {
	dir := filepath.Join(out, "otlp", string(sig))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	var recs []arrow.RecordBatch
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".arrows") && !strings.HasSuffix(e.Name(), ".arrows.partial") {
			continue
		}
		got, err := readFile(filepath.Join(dir, e.Name()))
		recs = append(recs, got...)
		if err != nil {
			for _, r := range recs {
				r.Release()
			}
			return nil, err
		}
	}
	return recs, nil
}

func readFile(path string) ([]arrow.RecordBatch, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := ipc.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer r.Release()
	var recs []arrow.RecordBatch
	for r.Next() {
		rec := r.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := r.Err(); err != nil && !errors.Is(err, os.ErrClosed) {
		return recs, fmt.Errorf("%s: %w", path, err)
	}
	return recs, nil
}

// mustRead reads a signal's files and releases the batches at cleanup.
func mustRead(t *testing.T, out string, sig schema.Signal) []arrow.RecordBatch {
	t.Helper()
	recs, err := readSignal(out, sig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, r := range recs {
			r.Release()
		}
	})
	return recs
}

// flush flushes the pipeline so every row exported so far is in files.
func flush(t *testing.T, p *Pipeline) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// attrString renders OTLP attributes sorted by key, for comparisons that
// ignore order.
func attrString(kvs []*commonpb.KeyValue) string {
	parts := make([]string, 0, len(kvs))
	for _, kv := range kvs {
		parts = append(parts, fmt.Sprintf("%s=%T:%s", kv.Key, kv.Value.GetValue(), schema.AnyValueString(kv.Value)))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// diff reports two protos that differ.
func diff(t *testing.T, what string, got, want proto.Message) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Errorf("%s differs:\ngot:  %v\nwant: %v", what, prototext.Format(got), prototext.Format(want))
	}
}

func TestAnyValue(t *testing.T) {
	sv := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	iv := func(i int64) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: i}}
	}
	dv := func(f float64) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}
	}
	bv := func(b bool) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: b}}
	}
	arr := func(vs ...*commonpb.AnyValue) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vs}}}
	}
	tests := []struct {
		name string
		in   attribute.Value
		want *commonpb.AnyValue
	}{
		{"empty", attribute.Value{}, &commonpb.AnyValue{}},
		{"bool", attribute.BoolValue(true), bv(true)},
		{"int", attribute.Int64Value(-3), iv(-3)},
		{"float", attribute.Float64Value(2.5), dv(2.5)},
		{"string", attribute.StringValue("x"), sv("x")},
		{"bytes", attribute.ByteSliceValue([]byte{0, 1, 255}), &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{0, 1, 255}}}},
		{"bool slice", attribute.BoolSliceValue([]bool{true, false}), arr(bv(true), bv(false))},
		{"int slice", attribute.Int64SliceValue([]int64{1, 2}), arr(iv(1), iv(2))},
		{"float slice", attribute.Float64SliceValue([]float64{0.5}), arr(dv(0.5))},
		{"string slice", attribute.StringSliceValue([]string{"a", "b"}), arr(sv("a"), sv("b"))},
		{"empty slice", attribute.StringSliceValue(nil), arr()},
		{"slice", attribute.SliceValue(attribute.StringValue("a"), attribute.IntValue(1), attribute.SliceValue(attribute.BoolValue(false))), arr(sv("a"), iv(1), arr(bv(false)))},
		{"map", attribute.MapValue(attribute.String("k", "v"), attribute.Key("m").Map(attribute.Int("n", 2))), &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{
			{Key: "k", Value: sv("v")},
			{Key: "m", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{{Key: "n", Value: iv(2)}}}}}},
		}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diff(t, "value", anyValue(tt.in), tt.want)
		})
	}
}
