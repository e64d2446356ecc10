package pipeline

// The OpenTelemetry SDK exporters of a Pipeline share what is here: the
// conversion of SDK attributes, resources and scopes to OTLP, and the
// shutdown state every exporter keeps for itself.
//
// An exporter hands each batch to the pipeline synchronously (the Export
// methods return once the data is durable in the bus), so it holds nothing
// between calls: ForceFlush has nothing of its own to flush, and Shutdown of
// an exporter stops only that exporter, never the pipeline. To have the rows
// in files, call [Pipeline.Flush] after the SDK provider's ForceFlush.

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
)

// ErrExporterShutdown is returned by the span exporter of [Pipeline.SpanExporter]
// after its Shutdown. The metric and log exporters return the SDK's own
// sentinels (sdkmetric.ErrExporterShutdown, sdklog.ErrExporterShutdown).
var ErrExporterShutdown = errors.New("pipeline: exporter shut down")

// exporterState is the shutdown flag of one exporter.
type exporterState struct {
	down atomic.Bool
}

// flush is ForceFlush of an exporter that holds nothing: it honours ctx and
// is a no-op after Shutdown.
func (s *exporterState) flush(ctx context.Context) error {
	if s.down.Load() {
		return nil
	}
	return ctx.Err()
}

// shutdown marks the exporter down; it is safe to call more than once.
func (s *exporterState) shutdown(ctx context.Context) error {
	if s.down.Swap(true) {
		return nil
	}
	return ctx.Err()
}

// timeUnixNano is t in nanoseconds since the Unix epoch, 0 for the zero
// time and times before the epoch.
func timeUnixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(max(0, t.UnixNano()))
}

// clampUint32 keeps a count within uint32.
func clampUint32(v int) uint32 {
	if v < 0 {
		return 0
	}
	if int64(v) > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(v)
}

// resourceProto converts an SDK resource; nil stays nil.
func resourceProto(res *resource.Resource) *resourcepb.Resource {
	if res == nil {
		return nil
	}
	return &resourcepb.Resource{Attributes: attrIter(res.Iter())}
}

// scopeProto converts an SDK instrumentation scope (its schema URL goes on
// the Scope* message, not here).
func scopeProto(s instrumentation.Scope) *commonpb.InstrumentationScope {
	return &commonpb.InstrumentationScope{
		Name:       s.Name,
		Version:    s.Version,
		Attributes: attrIter(s.Attributes.Iter()),
	}
}

// attrIter converts the attributes of an iterator, in its (sorted) order.
func attrIter(it attribute.Iterator) []*commonpb.KeyValue {
	if it.Len() == 0 {
		return nil
	}
	out := make([]*commonpb.KeyValue, 0, it.Len())
	for it.Next() {
		out = append(out, attrKV(it.Attribute()))
	}
	return out
}

// attrKVs converts a slice of attributes in order.
func attrKVs(kvs []attribute.KeyValue) []*commonpb.KeyValue {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]*commonpb.KeyValue, 0, len(kvs))
	for _, kv := range kvs {
		out = append(out, attrKV(kv))
	}
	return out
}

func attrKV(kv attribute.KeyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: string(kv.Key), Value: anyValue(kv.Value)}
}

// anyValue converts an attribute value of any kind, slices and maps
// recursively; an empty value becomes an AnyValue holding nothing.
func anyValue(v attribute.Value) *commonpb.AnyValue {
	switch v.Type() {
	case attribute.BOOL:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: v.AsBool()}}
	case attribute.INT64:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v.AsInt64()}}
	case attribute.FLOAT64:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: v.AsFloat64()}}
	case attribute.STRING:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v.AsString()}}
	case attribute.BYTESLICE:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: v.AsByteSlice()}}
	case attribute.BOOLSLICE:
		return arrayValue(v.AsBoolSlice(), func(b bool) *commonpb.AnyValue {
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: b}}
		})
	case attribute.INT64SLICE:
		return arrayValue(v.AsInt64Slice(), func(i int64) *commonpb.AnyValue {
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: i}}
		})
	case attribute.FLOAT64SLICE:
		return arrayValue(v.AsFloat64Slice(), func(f float64) *commonpb.AnyValue {
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}
		})
	case attribute.STRINGSLICE:
		return arrayValue(v.AsStringSlice(), func(s string) *commonpb.AnyValue {
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
		})
	case attribute.SLICE:
		return arrayValue(v.AsSlice(), anyValue)
	case attribute.MAP:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{
			KvlistValue: &commonpb.KeyValueList{Values: attrKVs(v.AsMap())},
		}}
	default: // attribute.EMPTY
		return &commonpb.AnyValue{}
	}
}

func arrayValue[T any](vals []T, conv func(T) *commonpb.AnyValue) *commonpb.AnyValue {
	arr := &commonpb.ArrayValue{Values: make([]*commonpb.AnyValue, len(vals))}
	for i, v := range vals {
		arr.Values[i] = conv(v)
	}
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: arr}}
}
