package otlpstatus

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	"github.com/otlp-arrow/otlp-arrow/proto/admit"
	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func TestAnswers(t *testing.T) {
	tests := []struct {
		err   error
		code  codes.Code
		http  int
		retry bool
	}{
		{schema.ErrInvalid, codes.InvalidArgument, http.StatusBadRequest, false},
		{admit.ErrTooLarge, codes.ResourceExhausted, http.StatusRequestEntityTooLarge, false},
		{admit.ErrBusy, codes.Unavailable, http.StatusTooManyRequests, true},
		{bus.ErrFull, codes.Unavailable, http.StatusTooManyRequests, true},
		{bus.ErrUnavailable, codes.Unavailable, http.StatusServiceUnavailable, true},
		{context.Canceled, codes.Canceled, http.StatusServiceUnavailable, false},
		{context.DeadlineExceeded, codes.DeadlineExceeded, http.StatusServiceUnavailable, false},
		{fmt.Errorf("boom"), codes.Internal, http.StatusInternalServerError, false},
	}
	for _, tt := range tests {
		err := fmt.Errorf("publish traces: %w", tt.err)
		c := Classify(err)
		st := c.Status(err, 2*time.Second)
		if st.Code() != tt.code || c.HTTPStatus() != tt.http {
			t.Errorf("%v: %v / %d, want %v / %d", tt.err, st.Code(), c.HTTPStatus(), tt.code, tt.http)
		}
		var hasRetry bool
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok {
				hasRetry = ri.GetRetryDelay().AsDuration() == 2*time.Second
			}
		}
		if hasRetry != tt.retry {
			t.Errorf("%v: RetryInfo %v, want %v", tt.err, hasRetry, tt.retry)
		}
	}
	if got := RetryAfterSeconds(1500 * time.Millisecond); got != "2" {
		t.Errorf("RetryAfterSeconds(1.5s) = %q, want 2", got)
	}
}
