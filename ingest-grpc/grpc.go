package ingest

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // accept gzip-compressed requests
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/tap"

	"github.com/otlp-arrow/otlp-arrow/proto/admit"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// The gRPC services are registered with hand-written service descriptions
// whose handlers receive the raw request bytes (see rawCodec). That lets the
// server admit a request by its uncompressed size before decoding it, and
// answer undecodable protobuf with INVALID_ARGUMENT as OTLP asks (gRPC's own
// decoding answers INTERNAL).

// rawRequest receives a request's bytes undecoded.
type rawRequest struct{ b []byte }

// rawCodec is the standard proto codec, except that it hands a *rawRequest
// the message bytes instead of decoding them.
type rawCodec struct{ encoding.CodecV2 }

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if r, ok := v.(*rawRequest); ok {
		r.b = data.Materialize()
		return nil
	}
	return c.CodecV2.Unmarshal(data, v)
}

// grpcReceiver serves the three OTLP export services.
type grpcReceiver struct {
	pub        *Publisher
	limiter    *admit.Limiter
	metrics    *serverMetrics
	retryAfter time.Duration
	auth       *authenticator // nil: authentication off
}

// grpcMaxHeaderListSize bounds a request's metadata, as the HTTP server's
// MaxHeaderBytes does.
const grpcMaxHeaderListSize = httpMaxHeaderBytes

func newGRPCServer(cfg Config, r *grpcReceiver, tlsCfg *tls.Config) *grpc.Server {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(cfg.MaxRequestBytes),
		grpc.ForceServerCodecV2(rawCodec{encoding.GetCodecV2("proto")}),
		grpc.MaxHeaderListSize(grpcMaxHeaderListSize),
		// Authenticate when the stream opens, before its message is read.
		grpc.InTapHandle(r.tap),
	}
	if cfg.MaxConcurrentStreams > 0 {
		opts = append(opts, grpc.MaxConcurrentStreams(cfg.MaxConcurrentStreams))
	}
	if tlsCfg != nil {
		opts = append(opts, grpc.Creds(countingCreds(credentials.NewTLS(tlsCfg), r.metrics.tlsFailures.WithLabelValues(SourceGRPC))))
	}
	srv := grpc.NewServer(opts...)
	srv.RegisterService(exportDesc(coltracepb.TraceService_ServiceDesc, r.exportTraces), r)
	srv.RegisterService(exportDesc(colmetricspb.MetricsService_ServiceDesc, r.exportMetrics), r)
	srv.RegisterService(exportDesc(collogspb.LogsService_ServiceDesc, r.exportLogs), r)
	return srv
}

// methodSignals maps the export methods to their signal, for metrics.
var methodSignals = map[string]schema.Signal{
	"/" + coltracepb.TraceService_ServiceDesc.ServiceName + "/Export":     schema.Traces,
	"/" + colmetricspb.MetricsService_ServiceDesc.ServiceName + "/Export": schema.Metrics,
	"/" + collogspb.LogsService_ServiceDesc.ServiceName + "/Export":       schema.Logs,
}

// tap authenticates a new stream from its headers, before gRPC reads the
// request: a client without a valid bearer token costs no request memory.
// It runs on the connection's reader goroutine, so it must stay quick.
func (r *grpcReceiver) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if r.auth == nil {
		return ctx, nil
	}
	var header string
	if v := info.Header.Get("authorization"); len(v) > 0 {
		header = v[0]
	}
	if err := r.auth.check(header); err != nil {
		st, _ := errorStatus(err, r.retryAfter)
		sig := "unknown"
		if s, ok := methodSignals[info.FullMethodName]; ok {
			sig = string(s)
		}
		r.metrics.authFailures.WithLabelValues(SourceGRPC).Inc()
		r.metrics.requests.WithLabelValues(SourceGRPC, sig, st.Code().String()).Inc()
		return ctx, st.Err()
	}
	return ctx, nil
}

// exportDesc copies the generated description of an OTLP service, replacing
// its Export handler by one that passes the raw bytes to export.
func exportDesc(gen grpc.ServiceDesc, export func(context.Context, []byte) (any, error)) *grpc.ServiceDesc {
	method := "Export"
	fullMethod := "/" + gen.ServiceName + "/" + method
	return &grpc.ServiceDesc{
		ServiceName: gen.ServiceName,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: method,
			Handler: func(_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
				var raw rawRequest
				if err := dec(&raw); err != nil {
					return nil, err
				}
				if interceptor == nil {
					return export(ctx, raw.b)
				}
				info := &grpc.UnaryServerInfo{FullMethod: fullMethod}
				return interceptor(ctx, raw.b, info, func(ctx context.Context, req any) (any, error) {
					return export(ctx, req.([]byte))
				})
			},
		}},
		Metadata: gen.Metadata,
	}
}

func (r *grpcReceiver) exportTraces(ctx context.Context, b []byte) (any, error) {
	return grpcExport(ctx, r, schema.Traces, b, b, noUnmarshal,
		func(ctx context.Context, b []byte) (any, error) {
			rejected, msg, err := r.pub.PublishTraceProto(ctx, b, SourceGRPC)
			resp := &coltracepb.ExportTraceServiceResponse{}
			if rejected > 0 {
				resp.PartialSuccess = &coltracepb.ExportTracePartialSuccess{RejectedSpans: rejected, ErrorMessage: msg}
			}
			return resp, err
		})
}

func (r *grpcReceiver) exportMetrics(ctx context.Context, b []byte) (any, error) {
	return grpcExport(ctx, r, schema.Metrics, b, b, noUnmarshal,
		func(ctx context.Context, b []byte) (any, error) {
			rejected, msg, err := r.pub.PublishMetricProto(ctx, b, SourceGRPC)
			resp := &colmetricspb.ExportMetricsServiceResponse{}
			if rejected > 0 {
				resp.PartialSuccess = &colmetricspb.ExportMetricsPartialSuccess{RejectedDataPoints: rejected, ErrorMessage: msg}
			}
			return resp, err
		})
}

func (r *grpcReceiver) exportLogs(ctx context.Context, b []byte) (any, error) {
	return grpcExport(ctx, r, schema.Logs, b, b, noUnmarshal,
		func(ctx context.Context, b []byte) (any, error) {
			rejected, msg, err := r.pub.PublishLogProto(ctx, b, SourceGRPC)
			resp := &collogspb.ExportLogsServiceResponse{}
			if rejected > 0 {
				resp.PartialSuccess = &collogspb.ExportLogsPartialSuccess{RejectedLogRecords: rejected, ErrorMessage: msg}
			}
			return resp, err
		})
}

// noUnmarshal leaves the request's bytes to the publisher, which decodes
// them with pdata.
func noUnmarshal([]byte, []byte) error { return nil }

// grpcExport admits b by its size, decodes it into req with unmarshal (req
// may alias b, which gRPC no longer uses) and publishes it.
func grpcExport[Req any](ctx context.Context, r *grpcReceiver, sig schema.Signal, b []byte, req Req,
	unmarshal func([]byte, Req) error, publish func(context.Context, Req) (any, error)) (any, error) {
	resp, err := func() (any, error) {
		ticket, err := r.limiter.Acquire(ctx, int64(len(b)))
		if err != nil {
			return nil, err
		}
		defer ticket.Release()
		if err := unmarshal(b, req); err != nil {
			return nil, fmt.Errorf("decode %s request: %w: %w", sig, ErrInvalidRequest, err)
		}
		return publish(ctx, req)
	}()
	if err != nil {
		st, _ := errorStatus(err, r.retryAfter)
		r.metrics.requests.WithLabelValues(SourceGRPC, string(sig), st.Code().String()).Inc()
		return nil, st.Err()
	}
	r.metrics.requests.WithLabelValues(SourceGRPC, string(sig), codes.OK.String()).Inc()
	return resp, nil
}
