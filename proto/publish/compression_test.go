package publish

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// TestPayloadCompression publishes with each payload compression: every
// span comes back from the bus as sent, and a compressed payload is a
// fraction of the same batches uncompressed.
func TestPayloadCompression(t *testing.T) {
	for _, c := range []string{"", payload.CompressionNone, payload.CompressionLZ4, payload.CompressionZstd} {
		t.Run(fmt.Sprintf("%q", c), func(t *testing.T) {
			_, _, js := bustest.RunJetStream(t)
			p := newPub(t, js, Config{Compression: c}, nil)
			var want []*tracepb.ResourceSpans
			for i := range 6 {
				rs := resourceSpans(fmt.Sprintf("svc-%d", i%2), i, 200)
				want = append(want, resourceSpans(fmt.Sprintf("svc-%d", i%2), i, 200))
				if _, _, err := p.PublishTraces(context.Background(), traceRequest(rs), "grpc"); err != nil {
					t.Fatal(err)
				}
			}
			// A Flight batch takes the record path.
			rec, err := schema.TracesToArrow(memory.DefaultAllocator, []*tracepb.ResourceSpans{resourceSpans("svc-flight", 99, 150)})
			if err != nil {
				t.Fatal(err)
			}
			defer rec.Release()
			want = append(want, resourceSpans("svc-flight", 99, 150))
			if _, err := p.PublishRecord(context.Background(), schema.Traces, rec, "flight"); err != nil {
				t.Fatal(err)
			}

			msgs := bustest.ReadMessages(t, js, schema.Traces)
			checkSpans(t, bustest.Traces(t, msgs), want)
			checkRows(t, msgs, 6*200+150)
			for _, m := range msgs {
				recs := bustest.Records(t, m.Data)
				plain, err := payload.Encode(recs, 0)
				for _, r := range recs {
					r.Release()
				}
				if err != nil {
					t.Fatal(err)
				}
				ratio := float64(len(m.Data)) / float64(len(plain[0]))
				compressed := c != payload.CompressionNone // "" is lz4
				if compressed && ratio > 0.75 || !compressed && ratio < 0.9 {
					t.Errorf("%s: payload %d bytes, %d uncompressed (%.2f) with compression %q", m.Subject, len(m.Data), len(plain[0]), ratio, c)
				}
			}
		})
	}
}

func TestPayloadCompressionInvalid(t *testing.T) {
	_, _, js := bustest.RunJetStream(t)
	_, err := NewPublisher(js, Config{MaxPayloadBytes: 1 << 20, Compression: "gzip"}, nil)
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("compression gzip: got %v, want ErrInvalidConfig", err)
	}
}
