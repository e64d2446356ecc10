package main

import (
	"bytes"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// errInvalidData is wrapped by every error of data that cannot be decoded
// as the OTLP request it claims to be.
var errInvalidData = errors.New("invalid data")

// Format is how an exported request is encoded.
type Format int

// The formats the library takes.
const (
	Protobuf Format = 0 // OTLP protobuf (an Export*ServiceRequest)
	JSON     Format = 1 // OTLP JSON, as OTLP/HTTP carries it
	// Auto is OTLP JSON when the data starts with '{' after white space,
	// else protobuf. A protobuf request can start so too ('\n' is the tag
	// of its first field, '{' a length of 123), so data of that shape that
	// is not JSON but is protobuf is taken as protobuf.
	Auto Format = 2
)

// detect resolves [Auto] for data.
func detect(data []byte) Format {
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return JSON
	}
	return Protobuf
}

// jsonRequest is a pdata export request that reads OTLP JSON and writes
// protobuf.
type jsonRequest interface {
	UnmarshalJSON([]byte) error
	MarshalProto() ([]byte, error)
}

// decode reads data in format f into req, a request of signal sig. OTLP
// JSON is read by pdata's decoder (hex ids, enums by number or name, 64-bit
// integers as strings or numbers) and handed over as protobuf.
func decode(sig schema.Signal, f Format, data []byte, req proto.Message) error {
	if f == Auto {
		f = detect(data)
		if f == JSON {
			err := decode(sig, JSON, data, req)
			if err != nil && proto.Unmarshal(data, req) == nil {
				return nil
			}
			return err
		}
	}
	switch f {
	case Protobuf:
		if err := proto.Unmarshal(data, req); err != nil {
			return fmt.Errorf("%w: OTLP protobuf %s request: %v", errInvalidData, sig, err)
		}
		return nil
	case JSON:
		if len(bytes.TrimSpace(data)) == 0 {
			return fmt.Errorf("%w: OTLP JSON %s request: empty document", errInvalidData, sig)
		}
		var jr jsonRequest
		switch sig {
		case schema.Traces:
			jr = ptraceotlp.NewExportRequest()
		case schema.Metrics:
			jr = pmetricotlp.NewExportRequest()
		default:
			jr = plogotlp.NewExportRequest()
		}
		if err := jr.UnmarshalJSON(data); err != nil {
			return fmt.Errorf("%w: OTLP JSON %s request: %v", errInvalidData, sig, err)
		}
		pb, err := jr.MarshalProto()
		if err != nil {
			return fmt.Errorf("%w: OTLP JSON %s request: %v", errInvalidData, sig, err)
		}
		if err := proto.Unmarshal(pb, req); err != nil {
			return fmt.Errorf("%w: OTLP JSON %s request: %v", errInvalidData, sig, err)
		}
		return nil
	}
	return fmt.Errorf("%w: unknown format %d", errInvalidData, f)
}

// decodeTraces decodes a trace request and counts its spans.
func decodeTraces(f Format, data []byte) (*coltracepb.ExportTraceServiceRequest, int64, error) {
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := decode(schema.Traces, f, data, req); err != nil {
		return nil, 0, err
	}
	var n int64
	for _, rs := range req.GetResourceSpans() {
		n += schema.CountSpans(rs)
	}
	return req, n, nil
}

// decodeMetrics decodes a metrics request and counts its data points.
func decodeMetrics(f Format, data []byte) (*colmetricspb.ExportMetricsServiceRequest, int64, error) {
	req := &colmetricspb.ExportMetricsServiceRequest{}
	if err := decode(schema.Metrics, f, data, req); err != nil {
		return nil, 0, err
	}
	var n int64
	for _, rm := range req.GetResourceMetrics() {
		n += schema.CountDataPoints(rm)
	}
	return req, n, nil
}

// decodeLogs decodes a logs request and counts its log records.
func decodeLogs(f Format, data []byte) (*collogspb.ExportLogsServiceRequest, int64, error) {
	req := &collogspb.ExportLogsServiceRequest{}
	if err := decode(schema.Logs, f, data, req); err != nil {
		return nil, 0, err
	}
	var n int64
	for _, rl := range req.GetResourceLogs() {
		n += schema.CountLogRecords(rl)
	}
	return req, n, nil
}
