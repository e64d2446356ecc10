package forward

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// userAgent identifies the forwarder to targets.
const userAgent = "otlp-arrow-forwarder"

// grpcTarget sends OTLP/gRPC export requests.
type grpcTarget struct {
	conn     *grpc.ClientConn
	traces   coltracepb.TraceServiceClient
	metrics  colmetricspb.MetricsServiceClient
	logs     collogspb.LogsServiceClient
	md       metadata.MD
	callOpts []grpc.CallOption
	mem      memory.Allocator
}

var _ target = (*grpcTarget)(nil)

func newGRPCTarget(c Config, ep *endpoint, hdr http.Header, mem memory.Allocator) (*grpcTarget, error) {
	conn, err := dial(c, ep)
	if err != nil {
		return nil, err
	}
	var callOpts []grpc.CallOption
	if c.Compression == "gzip" {
		callOpts = append(callOpts, grpc.UseCompressor(gzip.Name))
	}
	return &grpcTarget{
		conn:     conn,
		traces:   coltracepb.NewTraceServiceClient(conn),
		metrics:  colmetricspb.NewMetricsServiceClient(conn),
		logs:     collogspb.NewLogsServiceClient(conn),
		md:       metadataOf(hdr),
		callOpts: callOpts,
		mem:      mem,
	}, nil
}

// dial creates the gRPC client connection of a grpc or arrow_flight
// target. It does not connect yet. Reconnection backs off no longer than
// the retry's MaxInterval or the breaker's Delay, so a recovered target is
// found by the next half-open trial.
func dial(c Config, ep *endpoint) (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if ep.secure {
		tc, err := tlsConfig(c.TLS, ep.host)
		if err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(tc)
	}
	bc := backoff.DefaultConfig
	bc.BaseDelay = min(c.Retry.InitialInterval, time.Second)
	bc.MaxDelay = max(bc.BaseDelay, min(c.Retry.MaxInterval, c.Breaker.Delay))
	conn, err := grpc.NewClient(ep.addr,
		grpc.WithTransportCredentials(creds),
		grpc.WithUserAgent(userAgent),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bc, MinConnectTimeout: c.Timeout}),
	)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", ep.redacted, err)
	}
	return conn, nil
}

// metadataOf turns request headers into gRPC metadata (lowercase keys).
func metadataOf(hdr http.Header) metadata.MD {
	md := metadata.MD{}
	for k, vs := range hdr {
		md.Append(strings.ToLower(k), vs...)
	}
	return md
}

func (g *grpcTarget) prepare(sig schema.Signal, data []byte, keep func(string) bool) (*request, error) {
	msg, rows, err := otlpRequest(sig, data, g.mem, keep)
	if err != nil {
		return nil, err
	}
	return &request{sig: sig, rows: rows, msg: msg}, nil
}

func (g *grpcTarget) send(ctx context.Context, req *request) (partial, error) {
	ctx = metadata.NewOutgoingContext(ctx, g.md)
	var (
		resp proto.Message
		err  error
	)
	switch m := req.msg.(type) {
	case *coltracepb.ExportTraceServiceRequest:
		resp, err = g.traces.Export(ctx, m, g.callOpts...)
	case *colmetricspb.ExportMetricsServiceRequest:
		resp, err = g.metrics.Export(ctx, m, g.callOpts...)
	case *collogspb.ExportLogsServiceRequest:
		resp, err = g.logs.Export(ctx, m, g.callOpts...)
	default:
		return partial{}, permanentError(nil, "grpc: no request for signal %s", req.sig)
	}
	if err != nil {
		return partial{}, grpcError(ctx, err)
	}
	return partialOf(resp), nil
}

func (g *grpcTarget) close() error { return g.conn.Close() }
