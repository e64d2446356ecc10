package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/admit"
	"github.com/otlp-arrow/otlp-arrow/proto/otlpstatus"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// OTLP/HTTP paths and content types.
const (
	PathTraces  = "/v1/traces"
	PathMetrics = "/v1/metrics"
	PathLogs    = "/v1/logs"

	contentTypeProto = "application/x-protobuf"
	contentTypeJSON  = "application/json"
)

// HTTP server timeouts: long enough for a slow client to send MaxRequestBytes
// and for the bus to acknowledge, short enough that stuck connections go.
const (
	httpReadHeaderTimeout = 10 * time.Second
	httpReadTimeout       = 60 * time.Second
	httpWriteTimeout      = 90 * time.Second
	httpIdleTimeout       = 120 * time.Second
	httpMaxHeaderBytes    = 1 << 20
)

// emptyJSONResponse answers a fully accepted JSON request: partial_success
// stays unset, as OTLP asks (pdata would write an empty one).
var emptyJSONResponse = []byte("{}")

// errUnsupportedMedia is wrapped for a content type or encoding the server
// does not take (HTTP 415).
var errUnsupportedMedia = errors.New("unsupported media type")

// httpReceiver serves OTLP/HTTP.
type httpReceiver struct {
	pub        *Publisher
	limiter    *admit.Limiter
	metrics    *serverMetrics
	maxRequest int
	retryAfter time.Duration
	auth       *authenticator // nil: authentication off
}

// wwwAuthenticate is the challenge of a 401 answer (RFC 6750).
const wwwAuthenticate = `Bearer realm="otlp-arrow"`

func newHTTPServer(cfg Config, r *httpReceiver, tlsCfg *tls.Config, log *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.Handle(PathTraces, r.handler(schema.Traces, r.exportTraces))
	mux.Handle(PathMetrics, r.handler(schema.Metrics, r.exportMetrics))
	mux.Handle(PathLogs, r.handler(schema.Logs, r.exportLogs))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: httpReadHeaderTimeout,
		ReadTimeout:       httpReadTimeout,
		WriteTimeout:      httpWriteTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    httpMaxHeaderBytes,
		ErrorLog: stdlog.New(httpErrorLog{
			log: log, failures: r.metrics.tlsFailures.WithLabelValues(SourceHTTP),
		}, "", 0),
		TLSConfig: tlsCfg,
	}
	if cfg.MaxConcurrentStreams > 0 {
		srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: int(min(cfg.MaxConcurrentStreams, math.MaxInt32))}
	}
	return srv
}

// exportFunc decodes body (JSON or protobuf), publishes it and returns the
// encoded response.
type exportFunc func(ctx context.Context, body []byte, isJSON bool) ([]byte, error)

func (h *httpReceiver) handler(sig schema.Signal, export exportFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		code := h.serve(w, req, export)
		h.metrics.requests.WithLabelValues(SourceHTTP, string(sig), strconv.Itoa(code)).Inc()
	})
}

// serve answers one request and returns the HTTP status it sent.
func (h *httpReceiver) serve(w http.ResponseWriter, req *http.Request, export exportFunc) int {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: use POST", http.StatusMethodNotAllowed)
		return http.StatusMethodNotAllowed
	}
	isJSON, err := requestIsJSON(req.Header.Get("Content-Type"))
	if h.auth != nil {
		// Before the body is read or admitted.
		if aerr := h.auth.check(req.Header.Get("Authorization")); aerr != nil {
			h.metrics.authFailures.WithLabelValues(SourceHTTP).Inc()
			w.Header().Set("WWW-Authenticate", wwwAuthenticate)
			return h.writeError(w, aerr, isJSON)
		}
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnsupportedMediaType)
		return http.StatusUnsupportedMediaType
	}
	gzipped, err := requestIsGzip(req.Header.Get("Content-Encoding"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnsupportedMediaType)
		return http.StatusUnsupportedMediaType
	}
	body, err := h.admitAndRead(w, req, gzipped, func(body []byte) ([]byte, error) {
		return export(req.Context(), body, isJSON)
	})
	if err != nil {
		return h.writeError(w, err, isJSON)
	}
	if isJSON {
		w.Header().Set("Content-Type", contentTypeJSON)
	} else {
		w.Header().Set("Content-Type", contentTypeProto)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return http.StatusOK
}

// admitAndRead admits the request by the most bytes it may take
// uncompressed (its Content-Length when plain, else MaxRequestBytes), reads
// the body within the limits, gives back the unused admission and runs
// handle on the body while the rest stays admitted.
func (h *httpReceiver) admitAndRead(w http.ResponseWriter, req *http.Request, gzipped bool, handle func([]byte) ([]byte, error)) ([]byte, error) {
	limit := int64(h.maxRequest)
	if req.ContentLength > limit {
		return nil, fmt.Errorf("read request: %w: content length %d above %d", ErrRequestTooLarge, req.ContentLength, limit)
	}
	weight := limit
	if !gzipped && req.ContentLength >= 0 {
		weight = req.ContentLength
	}
	ticket, err := h.limiter.Acquire(req.Context(), weight)
	if err != nil {
		return nil, err
	}
	defer ticket.Release()
	body, err := readBody(w, req, gzipped, limit)
	if err != nil {
		return nil, err
	}
	ticket.Shrink(int64(len(body)))
	return handle(body)
}

// readBody reads at most limit bytes of the (gzip-decoded) body; more is
// ErrRequestTooLarge. A gzip bomb is never inflated beyond limit+1 bytes.
func readBody(w http.ResponseWriter, req *http.Request, gzipped bool, limit int64) ([]byte, error) {
	var src io.Reader = http.MaxBytesReader(w, req.Body, limit)
	if gzipped {
		gz, err := gzip.NewReader(src)
		if err != nil {
			return nil, bodyError(err)
		}
		defer gz.Close()
		src = gz
	}
	buf := bytes.Buffer{}
	if !gzipped && req.ContentLength > 0 {
		buf.Grow(int(req.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(src, limit+1))
	if err != nil {
		return nil, bodyError(err)
	}
	if n > limit {
		return nil, fmt.Errorf("read request: %w: body above %d bytes", ErrRequestTooLarge, limit)
	}
	return buf.Bytes(), nil
}

func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("read request: %w: body above %d bytes", ErrRequestTooLarge, mbe.Limit)
	}
	return fmt.Errorf("read request: %w: %w", ErrInvalidRequest, err)
}

func requestIsJSON(contentType string) (bool, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false, fmt.Errorf("%w: content type %q: want %s or %s", errUnsupportedMedia, contentType, contentTypeProto, contentTypeJSON)
	}
	switch mt {
	case contentTypeProto:
		return false, nil
	case contentTypeJSON:
		return true, nil
	}
	return false, fmt.Errorf("%w: content type %q: want %s or %s", errUnsupportedMedia, mt, contentTypeProto, contentTypeJSON)
}

func requestIsGzip(contentEncoding string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
		return false, nil
	case "gzip":
		return true, nil
	}
	return false, fmt.Errorf("%w: content encoding %q: want gzip or none", errUnsupportedMedia, contentEncoding)
}

// writeError answers err with a google.rpc.Status body in the request's
// encoding and, for backpressure, a Retry-After header.
func (h *httpReceiver) writeError(w http.ResponseWriter, err error, isJSON bool) int {
	st, c := errorStatus(err, h.retryAfter)
	code := c.HTTPStatus()
	var body []byte
	var merr error
	if isJSON {
		w.Header().Set("Content-Type", contentTypeJSON)
		body, merr = protojson.Marshal(st.Proto())
	} else {
		w.Header().Set("Content-Type", contentTypeProto)
		body, merr = proto.Marshal(st.Proto())
	}
	if merr != nil {
		body = nil
	}
	if c.Retryable() {
		w.Header().Set("Retry-After", otlpstatus.RetryAfterSeconds(h.retryAfter))
	}
	w.WriteHeader(code)
	_, _ = w.Write(body)
	return code
}

// decodePdata fills a pdata request from body with its OTLP protobuf or
// OTLP JSON decoder (hex ids, enums by name or number, int64 strings). An
// empty body is an empty request.
func decodePdata(body []byte, isJSON bool, fromProto, fromJSON func([]byte) error) error {
	if len(body) == 0 {
		return nil
	}
	if isJSON {
		return fromJSON(body)
	}
	return fromProto(body)
}

func (h *httpReceiver) exportTraces(ctx context.Context, body []byte, isJSON bool) ([]byte, error) {
	var rejected int64
	var msg string
	var err error
	if isJSON {
		req := ptraceotlp.NewExportRequest()
		if err := decodePdata(body, true, req.UnmarshalProto, req.UnmarshalJSON); err != nil {
			return nil, fmt.Errorf("decode traces request: %w: %w", ErrInvalidRequest, err)
		}
		rejected, msg, err = h.pub.PublishTraceData(ctx, req.Traces(), SourceHTTP)
	} else {
		rejected, msg, err = h.pub.PublishTraceProto(ctx, body, SourceHTTP)
	}
	if err != nil {
		return nil, err
	}
	if isJSON {
		if rejected == 0 {
			return emptyJSONResponse, nil
		}
		resp := ptraceotlp.NewExportResponse()
		resp.PartialSuccess().SetRejectedSpans(rejected)
		resp.PartialSuccess().SetErrorMessage(msg)
		return resp.MarshalJSON()
	}
	resp := &coltracepb.ExportTraceServiceResponse{}
	if rejected > 0 {
		resp.PartialSuccess = &coltracepb.ExportTracePartialSuccess{RejectedSpans: rejected, ErrorMessage: msg}
	}
	return proto.Marshal(resp)
}

func (h *httpReceiver) exportMetrics(ctx context.Context, body []byte, isJSON bool) ([]byte, error) {
	var rejected int64
	var msg string
	var err error
	if isJSON {
		req := pmetricotlp.NewExportRequest()
		if err := decodePdata(body, true, req.UnmarshalProto, req.UnmarshalJSON); err != nil {
			return nil, fmt.Errorf("decode metrics request: %w: %w", ErrInvalidRequest, err)
		}
		rejected, msg, err = h.pub.PublishMetricData(ctx, req.Metrics(), SourceHTTP)
	} else {
		rejected, msg, err = h.pub.PublishMetricProto(ctx, body, SourceHTTP)
	}
	if err != nil {
		return nil, err
	}
	if isJSON {
		if rejected == 0 {
			return emptyJSONResponse, nil
		}
		resp := pmetricotlp.NewExportResponse()
		resp.PartialSuccess().SetRejectedDataPoints(rejected)
		resp.PartialSuccess().SetErrorMessage(msg)
		return resp.MarshalJSON()
	}
	resp := &colmetricspb.ExportMetricsServiceResponse{}
	if rejected > 0 {
		resp.PartialSuccess = &colmetricspb.ExportMetricsPartialSuccess{RejectedDataPoints: rejected, ErrorMessage: msg}
	}
	return proto.Marshal(resp)
}

func (h *httpReceiver) exportLogs(ctx context.Context, body []byte, isJSON bool) ([]byte, error) {
	var rejected int64
	var msg string
	var err error
	if isJSON {
		req := plogotlp.NewExportRequest()
		if err := decodePdata(body, true, req.UnmarshalProto, req.UnmarshalJSON); err != nil {
			return nil, fmt.Errorf("decode logs request: %w: %w", ErrInvalidRequest, err)
		}
		rejected, msg, err = h.pub.PublishLogData(ctx, req.Logs(), SourceHTTP)
	} else {
		rejected, msg, err = h.pub.PublishLogProto(ctx, body, SourceHTTP)
	}
	if err != nil {
		return nil, err
	}
	if isJSON {
		if rejected == 0 {
			return emptyJSONResponse, nil
		}
		resp := plogotlp.NewExportResponse()
		resp.PartialSuccess().SetRejectedLogRecords(rejected)
		resp.PartialSuccess().SetErrorMessage(msg)
		return resp.MarshalJSON()
	}
	resp := &collogspb.ExportLogsServiceResponse{}
	if rejected > 0 {
		resp.PartialSuccess = &collogspb.ExportLogsPartialSuccess{RejectedLogRecords: rejected, ErrorMessage: msg}
	}
	return proto.Marshal(resp)
}
