package pubshim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/otlp-arrow/otlp-arrow/ingest-flight/internal/conform"
	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Errors as in ingest-grpc.
var (
	// ErrInvalidConfig is wrapped for a bad publisher configuration.
	ErrInvalidConfig = errors.New("publish: invalid config")
	// ErrInvalidRequest is wrapped when every row of a request is invalid.
	ErrInvalidRequest = errors.New("publish: invalid request")
)

// Config is what the publisher needs.
type Config struct {
	// MaxPayloadBytes bounds one bus message payload.
	MaxPayloadBytes int
}

// PublishRecord splits rec, in the full schema of sig, per service_name
// value and publishes it; rows is the number of rows acknowledged.
func (p *Publisher) PublishRecord(ctx context.Context, sig schema.Signal, rec arrow.RecordBatch, source string) (int64, error) {
	total := rec.NumRows()
	p.m.rowsReceived.WithLabelValues(source, string(sig)).Add(float64(total))
	groups, err := conform.Split(rec)
	if err != nil {
		p.m.rowsRejected.WithLabelValues(source, string(sig), reasonInvalid).Add(float64(total))
		return 0, fmt.Errorf("publish %s: %w: %w", sig, ErrInvalidRequest, err)
	}
	defer conform.Release(groups)
	var msgs []bus.Message
	for _, g := range groups {
		pls, err := payload.Encode(g.Slices, p.maxPayload)
		if err != nil {
			reason := reasonError
			if errors.Is(err, payload.ErrTooLarge) {
				reason = reasonTooLarge
			}
			p.m.rowsRejected.WithLabelValues(source, string(sig), reason).Add(float64(total))
			return 0, fmt.Errorf("publish %s: %w", sig, err)
		}
		rows, err := payloadRows(pls, g.Rows)
		if err != nil {
			return 0, err
		}
		for i, pl := range pls {
			msgs = append(msgs, bus.Message{Signal: sig, Service: g.Service, Source: source, Rows: rows[i], Payload: pl})
		}
	}
	start := time.Now()
	err = bus.PublishAll(ctx, p.js, msgs)
	p.m.publishDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		reason := reasonError
		switch {
		case errors.Is(err, bus.ErrFull):
			reason = reasonFull
		case errors.Is(err, bus.ErrUnavailable):
			reason = reasonUnavailable
		}
		p.m.rowsRejected.WithLabelValues(source, string(sig), reason).Add(float64(total))
		return 0, fmt.Errorf("publish %s: %w", sig, err)
	}
	return total, nil
}
