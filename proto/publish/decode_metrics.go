package publish

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// PublishMetricProto is [Publisher.PublishTraceProto] for an OTLP
// ExportMetricsServiceRequest: a resource that pdata refuses alone (an
// exemplar id of the wrong length) is refused alone.
func (p *Publisher) PublishMetricProto(ctx context.Context, b []byte, source string) (rejected int64, msg string, err error) {
	return publishProto(ctx, p, metricOps, p.metricQ, b, nil, source)
}

func decodeMetrics(b []byte) ([]pmetric.ResourceMetrics, error) {
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		return nil, err
	}
	return schema.ResourceMetricsOf(req.Metrics()), nil
}

func refuseMetrics(b []byte) (refusal, error) {
	var req colmetricspb.ExportMetricsServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		return refusal{}, err
	}
	return metricRefusal(req.GetResourceMetrics()[0]), nil
}

func metricRefusal(rm *metricspb.ResourceMetrics) refusal {
	return refusal{rows: schema.CountDataPoints(rm), service: schema.ServiceName(rm.GetResource())}
}

// PublishMetrics is [Publisher.PublishTraces] for metrics: the generated
// structs (the embedded pipeline's SDK exporter) are encoded and decoded
// with pdata, so the limits apply to that copy and req is left as it is.
func (p *Publisher) PublishMetrics(ctx context.Context, req *colmetricspb.ExportMetricsServiceRequest, source string) (rejected int64, msg string, err error) {
	b, refused := marshalEach(req.GetResourceMetrics(), func(rms []*metricspb.ResourceMetrics) proto.Message {
		return &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: rms}
	}, metricRefusal)
	return publishProto(ctx, p, metricOps, p.metricQ, b, refused, source)
}
