package schema

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/protobuf/proto"
)

// BenchmarkDecodeMetrics takes benchMetrics' export request from protobuf
// bytes to a record batch in the metrics schema: pdata's
// pmetricotlp.ExportRequest.UnmarshalProto, then ResourceMetricsToArrow
// (what ingest does). Figures are per data point (reported as "/span", see
// perSpan).
//
// Run: cd proto && go test -run '^$' -bench 'DecodeMetrics' -benchmem -count 5 ./schema/
func BenchmarkDecodeMetrics(b *testing.B) {
	rms := benchMetrics()
	in, err := proto.Marshal(&colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: rms})
	if err != nil {
		b.Fatal(err)
	}
	var n int
	for _, rm := range rms {
		n += int(CountDataPoints(rm))
	}
	mem := memory.NewGoAllocator()
	b.Run(fmt.Sprintf("points=%d/pdata", n), func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		perSpan(b, n, func() {
			for b.Loop() {
				req := pmetricotlp.NewExportRequest()
				if err := req.UnmarshalProto(in); err != nil {
					b.Fatal(err)
				}
				rec, err := ResourceMetricsToArrow(mem, ResourceMetricsOf(req.Metrics()))
				if err != nil {
					b.Fatal(err)
				}
				rec.Release()
			}
		})
	})
}
