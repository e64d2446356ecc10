package dashboard

import (
	"fmt"
	"net/http"

	"github.com/apache/arrow-go/v18/arrow"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// handleTraceOTLP answers the trace as an OTLP JSON
// ExportTraceServiceRequest, for download: the rows are turned back into
// OTLP by the schema package and encoded by the Collector's pdata, whose
// JSON is the OTLP/HTTP JSON encoding (hex ids, integers as strings).
func (d *Dashboard) handleTraceOTLP(w http.ResponseWriter, r *http.Request) {
	id, err := traceIDParam(r)
	if err != nil {
		badRequest(w, err)
		return
	}
	var parts []arrow.RecordBatch
	defer func() { releaseAll(parts) }()
	err = d.traceRows(r.Context(), r, id, func(rec arrow.RecordBatch, rows []int) {
		for lo := 0; lo < len(rows); {
			hi := lo + 1
			for hi < len(rows) && rows[hi] == rows[hi-1]+1 {
				hi++
			}
			parts = append(parts, rec.NewSlice(int64(rows[lo]), int64(rows[hi-1]+1)))
			lo = hi
		}
	})
	if err != nil {
		if !badRequest(w, err) {
			writeError(w, http.StatusInternalServerError, err.Error())
		}
		return
	}
	if len(parts) == 0 {
		writeError(w, http.StatusNotFound, "no spans of trace "+hexBytes(id)+" in the files")
		return
	}
	body, err := otlpJSON(parts)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="trace-%s.otlp.json"`, hexBytes(id)))
	_, _ = w.Write(body)
}

// otlpJSON encodes the spans of recs as an OTLP JSON request.
func otlpJSON(recs []arrow.RecordBatch) ([]byte, error) {
	rss, err := schema.TracesFromArrow(recs)
	if err != nil {
		return nil, fmt.Errorf("convert to OTLP: %w", err)
	}
	pb, err := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: rss})
	if err != nil {
		return nil, fmt.Errorf("encode OTLP: %w", err)
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(pb); err != nil {
		return nil, fmt.Errorf("decode OTLP: %w", err)
	}
	return req.MarshalJSON()
}
