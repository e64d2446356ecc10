package forward

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// target sends prepared requests to one remote endpoint. Its methods are
// safe for concurrent use (one lane per signal calls them).
type target interface {
	// prepare turns a bus payload into a request: the rows of the services
	// keep accepts, or all of them when keep is nil. An error means the
	// payload can never be sent (it is dead-lettered).
	prepare(sig schema.Signal, data []byte, keep func(service string) bool) (*request, error)
	// send makes one attempt. Errors are classified with permanentError or
	// retryableError.
	send(ctx context.Context, req *request) (partial, error)
	close() error
}

// request is one message ready to send.
type request struct {
	sig  schema.Signal
	rows int64

	msg  proto.Message // grpc: the Export*ServiceRequest
	body []byte        // http: the encoded (and maybe gzipped) request

	schema *arrow.Schema       // arrow_flight
	recs   []arrow.RecordBatch // arrow_flight; owned, released by release
}

func (r *request) release() {
	for _, rec := range r.recs {
		rec.Release()
	}
	r.recs = nil
}

// partial is a partial success answer: items the target rejected.
type partial struct {
	rejected int64
	message  string
}

// decodePayload decodes a bus payload, keeps the rows of the services keep
// accepts (all when keep is nil), and counts them. The caller releases the
// batches.
func decodePayload(data []byte, mem memory.Allocator, keep func(string) bool) (*arrow.Schema, []arrow.RecordBatch, int64, error) {
	s, recs, err := payload.Decode(data, mem)
	if err != nil {
		return nil, nil, 0, err
	}
	if keep != nil {
		if recs, err = selectServices(recs, keep); err != nil {
			return nil, nil, 0, err
		}
	}
	var rows int64
	for _, rec := range recs {
		rows += rec.NumRows()
	}
	return s, recs, rows, nil
}

// selectServices returns slices of recs holding the rows whose service_name
// keep accepts, and releases recs.
func selectServices(recs []arrow.RecordBatch, keep func(string) bool) ([]arrow.RecordBatch, error) {
	defer releaseAll(recs)
	var out []arrow.RecordBatch
	for _, rec := range recs {
		service, err := schema.ServiceColumn(rec)
		if err != nil {
			releaseAll(out)
			return nil, err
		}
		n := int(rec.NumRows())
		for i := 0; i < n; {
			j, name := i+1, service(i)
			for j < n && service(j) == name {
				j++
			}
			if keep(name) {
				out = append(out, rec.NewSlice(int64(i), int64(j)))
			}
			i = j
		}
	}
	return out, nil
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, rec := range recs {
		rec.Release()
	}
}

// otlpRequest converts a bus payload (the rows keep accepts) to the OTLP
// export request of sig.
func otlpRequest(sig schema.Signal, data []byte, mem memory.Allocator, keep func(string) bool) (proto.Message, int64, error) {
	_, recs, rows, err := decodePayload(data, mem, keep)
	if err != nil {
		return nil, 0, err
	}
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	switch sig {
	case schema.Traces:
		rss, err := schema.TracesFromArrow(recs)
		if err != nil {
			return nil, 0, fmt.Errorf("convert traces: %w", err)
		}
		return &coltracepb.ExportTraceServiceRequest{ResourceSpans: rss}, rows, nil
	case schema.Metrics:
		rms, err := schema.MetricsFromArrow(recs)
		if err != nil {
			return nil, 0, fmt.Errorf("convert metrics: %w", err)
		}
		return &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: rms}, rows, nil
	case schema.Logs:
		rls, err := schema.LogsFromArrow(recs)
		if err != nil {
			return nil, 0, fmt.Errorf("convert logs: %w", err)
		}
		return &collogspb.ExportLogsServiceRequest{ResourceLogs: rls}, rows, nil
	}
	return nil, 0, fmt.Errorf("convert: unknown signal %q", sig)
}

// newResponse returns an empty OTLP export response of sig.
func newResponse(sig schema.Signal) proto.Message {
	switch sig {
	case schema.Traces:
		return &coltracepb.ExportTraceServiceResponse{}
	case schema.Metrics:
		return &colmetricspb.ExportMetricsServiceResponse{}
	default:
		return &collogspb.ExportLogsServiceResponse{}
	}
}

// partialOf reads the partial success of an OTLP export response.
func partialOf(resp proto.Message) partial {
	switch r := resp.(type) {
	case *coltracepb.ExportTraceServiceResponse:
		return partial{r.GetPartialSuccess().GetRejectedSpans(), r.GetPartialSuccess().GetErrorMessage()}
	case *colmetricspb.ExportMetricsServiceResponse:
		return partial{r.GetPartialSuccess().GetRejectedDataPoints(), r.GetPartialSuccess().GetErrorMessage()}
	case *collogspb.ExportLogsServiceResponse:
		return partial{r.GetPartialSuccess().GetRejectedLogRecords(), r.GetPartialSuccess().GetErrorMessage()}
	}
	return partial{}
}
