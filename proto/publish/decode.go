package publish

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// OTLP export requests are decoded with the Collector's pdata. pdata refuses
// a whole request for what refuses one resource only (an id of the wrong
// length), so when a request does not decode, each of its resources is
// decoded alone: those that fail alone are refused as invalid (partial
// success), and the request is malformed only when the generated structs
// cannot decode such a resource either.

// refusal is a resource refused before conversion.
type refusal struct {
	rows    int64
	service string
	err     error
}

// PublishTraceProto decodes b, an OTLP ExportTraceServiceRequest in
// protobuf, with pdata and publishes its spans; see
// [Publisher.PublishTraceData]. A request that does not decode wraps
// [ErrInvalidRequest].
func (p *Publisher) PublishTraceProto(ctx context.Context, b []byte, source string) (rejected int64, msg string, err error) {
	return publishProto(ctx, p, traceOps, p.traceQ, b, nil, source)
}

// PublishLogProto is [Publisher.PublishTraceProto] for an OTLP
// ExportLogsServiceRequest.
func (p *Publisher) PublishLogProto(ctx context.Context, b []byte, source string) (rejected int64, msg string, err error) {
	return publishProto(ctx, p, logOps, p.logQ, b, nil, source)
}

// publishProto decodes the export request b with ops.decode, resource by
// resource when the whole does not decode (see decodeEach), and publishes
// its resources beside those already refused.
func publishProto[R any](ctx context.Context, p *Publisher, ops signalOps[R], q *batcher[*group[R]], b []byte, refused []refusal, source string) (int64, string, error) {
	var items []R
	more, err := decodeEach(b, func(b []byte) error {
		rs, err := ops.decode(b)
		if err != nil {
			return err
		}
		items = append(items, rs...)
		return nil
	}, ops.refuse)
	if err != nil {
		return 0, "", fmt.Errorf("decode %s request: %w: unmarshal OTLP %s request: %w", ops.signal, ErrInvalidRequest, ops.signal, err)
	}
	return publish(ctx, p, ops, q, items, append(refused, more...), source)
}

// decodeTraces and the like are signalOps.decode: an export request in
// protobuf, by pdata.
func decodeTraces(b []byte) ([]ptrace.ResourceSpans, error) {
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		return nil, err
	}
	return schema.ResourceSpansOf(req.Traces()), nil
}

func decodeLogs(b []byte) ([]plog.ResourceLogs, error) {
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		return nil, err
	}
	return schema.ResourceLogsOf(req.Logs()), nil
}

// refuseTraces and the like are signalOps.refuse: the refusal of the one
// resource of an export request in protobuf, read by the generated structs.
func refuseTraces(b []byte) (refusal, error) {
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		return refusal{}, err
	}
	return traceRefusal(req.GetResourceSpans()[0]), nil
}

func refuseLogs(b []byte) (refusal, error) {
	var req collogspb.ExportLogsServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		return refusal{}, err
	}
	return logRefusal(req.GetResourceLogs()[0]), nil
}

func traceRefusal(rs *tracepb.ResourceSpans) refusal {
	return refusal{rows: schema.CountSpans(rs), service: schema.ServiceName(rs.GetResource())}
}

func logRefusal(rl *logspb.ResourceLogs) refusal {
	return refusal{rows: schema.CountLogRecords(rl), service: schema.ServiceName(rl.GetResource())}
}

// PublishTraces is [Publisher.PublishTraceProto] for a request in the
// generated structs (the SDK exporters' path), which it encodes first. A
// resource that does not encode (a string that is not UTF-8) is refused
// alone, as invalid.
func (p *Publisher) PublishTraces(ctx context.Context, req *coltracepb.ExportTraceServiceRequest, source string) (rejected int64, msg string, err error) {
	b, refused := marshalEach(req.GetResourceSpans(), func(rss []*tracepb.ResourceSpans) proto.Message {
		return &coltracepb.ExportTraceServiceRequest{ResourceSpans: rss}
	}, traceRefusal)
	return publishProto(ctx, p, traceOps, p.traceQ, b, refused, source)
}

// PublishLogs is [Publisher.PublishTraces] for logs.
func (p *Publisher) PublishLogs(ctx context.Context, req *collogspb.ExportLogsServiceRequest, source string) (rejected int64, msg string, err error) {
	b, refused := marshalEach(req.GetResourceLogs(), func(rls []*logspb.ResourceLogs) proto.Message {
		return &collogspb.ExportLogsServiceRequest{ResourceLogs: rls}
	}, logRefusal)
	return publishProto(ctx, p, logOps, p.logQ, b, refused, source)
}

// marshalEach encodes the request wrap(items), all at once or, when that
// fails, each resource alone: the bytes of the resources that encode
// (requests concatenate), and those that do not as refused.
func marshalEach[S any](items []S, wrap func([]S) proto.Message, refuse func(S) refusal) ([]byte, []refusal) {
	b, err := proto.Marshal(wrap(items))
	if err == nil {
		return b, nil
	}
	var refused []refusal
	b = b[:0]
	for _, it := range items {
		one, err := proto.Marshal(wrap([]S{it}))
		if err != nil {
			r := refuse(it)
			r.err = fmt.Errorf("%w: %w", schema.ErrInvalid, err)
			refused = append(refused, r)
			continue
		}
		b = append(b, one...)
	}
	return b, refused
}

// decodeEach decodes the export request b with decode, all at once or, when
// that fails, each resource (field 1) alone: those that fail alone are
// refused, counted by refuse, which decodes them into the generated
// structs. When a resource does not decode there either, or b is not
// protobuf, the first error is returned. decode must change nothing when
// it fails.
func decodeEach(b []byte, decode func([]byte) error, refuse func([]byte) (refusal, error)) ([]refusal, error) {
	first := decode(b)
	if first == nil {
		return nil, nil
	}
	var refused []refusal
	for rest := b; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		if n < 0 {
			return nil, first
		}
		m := protowire.ConsumeFieldValue(num, typ, rest[n:])
		if m < 0 {
			return nil, first
		}
		field := rest[:n+m]
		rest = rest[n+m:]
		if num != 1 || typ != protowire.BytesType {
			continue
		}
		err := decode(field)
		if err == nil {
			continue
		}
		r, rerr := refuse(field)
		if rerr != nil {
			return nil, first
		}
		r.err = fmt.Errorf("%w: %w", schema.ErrInvalid, err)
		refused = append(refused, r)
	}
	return refused, nil
}
