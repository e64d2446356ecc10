package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// sender sends requests on one worker's behalf. It is used by one goroutine.
type sender interface {
	// send sends r and returns the rows the server accepted, or the answer
	// code ("OK" on success; a gRPC code name, "HTTP 429", ...) and the error.
	send(ctx context.Context, r *request) (accepted int64, code string, err error)
	// done releases the sender's own resources (not its connection's).
	done()
}

// conn is one client connection, shared by the workers assigned to it.
type conn interface {
	newSender() (sender, error)
	close() error
}

// dial opens connection number i to the target of cfg.
func dial(cfg Config, schemaMsg *flight.FlightData) (conn, error) {
	switch cfg.Protocol {
	case ProtoGRPC:
		cc, err := grpc.NewClient(cfg.Endpoint,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(256<<20)))
		if err != nil {
			return nil, fmt.Errorf("dial grpc %s: %w", cfg.Endpoint, err)
		}
		return &grpcConn{cc: cc, method: exportMethod(cfg.Signal), signal: cfg.Signal, timeout: cfg.Timeout}, nil
	case ProtoHTTP:
		tr := &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 1,
			MaxConnsPerHost:     1,
			DisableCompression:  true,
		}
		return &httpConn{client: &http.Client{Transport: tr, Timeout: cfg.Timeout}, url: "http://" + cfg.Endpoint + httpPath(cfg.Signal), signal: cfg.Signal}, nil
	case ProtoFlight:
		c, err := flight.NewClientWithMiddleware(cfg.Endpoint, nil, nil,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(256<<20)))
		if err != nil {
			return nil, fmt.Errorf("dial flight %s: %w", cfg.Endpoint, err)
		}
		return &flightConn{c: c, schema: schemaMsg, timeout: cfg.Timeout}, nil
	}
	return nil, fmt.Errorf("dial: unknown protocol %q", cfg.Protocol)
}

func exportMethod(sig schema.Signal) string {
	switch sig {
	case schema.Metrics:
		return "/" + colmetricspb.MetricsService_ServiceDesc.ServiceName + "/Export"
	case schema.Logs:
		return "/" + collogspb.LogsService_ServiceDesc.ServiceName + "/Export"
	}
	return "/" + coltracepb.TraceService_ServiceDesc.ServiceName + "/Export"
}

func httpPath(sig schema.Signal) string { return "/v1/" + string(sig) }

// rejected returns the rows a decoded Export*ServiceResponse reports as
// rejected (partial success).
func rejected(sig schema.Signal, body []byte) (int64, error) {
	switch sig {
	case schema.Metrics:
		var r colmetricspb.ExportMetricsServiceResponse
		err := proto.Unmarshal(body, &r)
		return r.GetPartialSuccess().GetRejectedDataPoints(), err
	case schema.Logs:
		var r collogspb.ExportLogsServiceResponse
		err := proto.Unmarshal(body, &r)
		return r.GetPartialSuccess().GetRejectedLogRecords(), err
	}
	var r coltracepb.ExportTraceServiceResponse
	err := proto.Unmarshal(body, &r)
	return r.GetPartialSuccess().GetRejectedSpans(), err
}

// rawMsg is a message already encoded: rawCodec sends its bytes as they are
// and keeps a response's bytes undecoded.
type rawMsg struct{ b []byte }

type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	r, ok := v.(*rawMsg)
	if !ok {
		return nil, fmt.Errorf("raw codec: marshal %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(r.b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	r, ok := v.(*rawMsg)
	if !ok {
		return fmt.Errorf("raw codec: unmarshal into %T", v)
	}
	r.b = data.Materialize()
	return nil
}

var _ encoding.CodecV2 = rawCodec{}

type grpcConn struct {
	cc      *grpc.ClientConn
	method  string
	signal  schema.Signal
	timeout time.Duration
}

func (c *grpcConn) newSender() (sender, error) { return c, nil }
func (c *grpcConn) close() error               { return c.cc.Close() }
func (c *grpcConn) done()                      {}

func (c *grpcConn) send(ctx context.Context, r *request) (int64, string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var resp rawMsg
	if err := c.cc.Invoke(ctx, c.method, &rawMsg{b: r.pb}, &resp, grpc.ForceCodecV2(rawCodec{})); err != nil {
		return 0, status.Code(err).String(), err
	}
	n, err := rejected(c.signal, resp.b)
	if err != nil {
		return 0, "BadResponse", fmt.Errorf("decode response: %w", err)
	}
	return int64(r.rows) - n, codes.OK.String(), nil
}

type httpConn struct {
	client *http.Client
	url    string
	signal schema.Signal
}

func (c *httpConn) newSender() (sender, error) { return c, nil }
func (c *httpConn) close() error               { c.client.CloseIdleConnections(); return nil }
func (c *httpConn) done()                      {}

func (c *httpConn) send(ctx context.Context, r *request) (int64, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(r.pb))
	if err != nil {
		return 0, "BadRequest", err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := c.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return 0, "timeout", err
		}
		return 0, "transport", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, "transport", err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, "HTTP " + strconv.Itoa(resp.StatusCode), fmt.Errorf("http %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	n, err := rejected(c.signal, body)
	if err != nil {
		return 0, "BadResponse", fmt.Errorf("decode response: %w", err)
	}
	return int64(r.rows) - n, codes.OK.String(), nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

type flightConn struct {
	c       flight.Client
	schema  *flight.FlightData
	timeout time.Duration
}

func (c *flightConn) newSender() (sender, error) { return &flightSender{conn: c}, nil }
func (c *flightConn) close() error               { return c.c.Close() }

// flightSender keeps one DoPut stream open and sends a request's batch on
// it, waiting for its PutResult; after an error it opens a new stream.
type flightSender struct {
	conn   *flightConn
	stream flight.FlightService_DoPutClient
	cancel context.CancelFunc
}

func (s *flightSender) open(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	st, err := s.conn.c.DoPut(sctx)
	if err != nil {
		cancel()
		return err
	}
	if err := st.Send(s.conn.schema); err != nil {
		cancel()
		return err
	}
	s.stream, s.cancel = st, cancel
	return nil
}

func (s *flightSender) send(ctx context.Context, r *request) (int64, string, error) {
	if s.stream == nil {
		if err := s.open(ctx); err != nil {
			return 0, status.Code(err).String(), err
		}
	}
	res, timedOut, err := s.roundTrip(r)
	if err != nil {
		s.done()
		if timedOut {
			return 0, codes.DeadlineExceeded.String(), err
		}
		return 0, status.Code(err).String(), err
	}
	var meta struct {
		Rows int64 `json:"rows"`
	}
	if err := json.Unmarshal(res.GetAppMetadata(), &meta); err != nil {
		return int64(r.rows), codes.OK.String(), nil // the server does not say: count the batch
	}
	return meta.Rows, codes.OK.String(), nil
}

// roundTrip sends r's messages and waits for one PutResult, at most the
// request timeout.
func (s *flightSender) roundTrip(r *request) (*flight.PutResult, bool, error) {
	var fired atomic.Bool
	cancel := s.cancel
	timer := time.AfterFunc(s.conn.timeout, func() { fired.Store(true); cancel() })
	defer timer.Stop()
	for _, m := range r.msgs {
		if err := s.stream.Send(m); err != nil {
			if errors.Is(err, io.EOF) {
				// The server ended the stream: its status is in Recv.
				if _, rerr := s.stream.Recv(); rerr != nil {
					err = rerr
				}
			}
			return nil, fired.Load(), err
		}
	}
	res, err := s.stream.Recv()
	return res, fired.Load(), err
}

func (s *flightSender) done() {
	if s.stream != nil {
		_ = s.stream.CloseSend()
		s.cancel()
		s.stream, s.cancel = nil, nil
	}
}
