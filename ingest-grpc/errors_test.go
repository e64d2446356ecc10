package ingest

import (
	"context"
	"errors"
	"fmt"
	"github.com/otlp-arrow/otlp-arrow/proto/otlpstatus"
	"net/http"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		err       error
		code      codes.Code
		http      int
		retryInfo bool
	}{
		{ErrInvalidRequest, codes.InvalidArgument, http.StatusBadRequest, false},
		{schema.ErrInvalid, codes.InvalidArgument, http.StatusBadRequest, false},
		{ErrRequestTooLarge, codes.ResourceExhausted, http.StatusRequestEntityTooLarge, false},
		{ErrBusy, codes.Unavailable, http.StatusTooManyRequests, true},
		{bus.ErrFull, codes.Unavailable, http.StatusTooManyRequests, true},
		{bus.ErrUnavailable, codes.Unavailable, http.StatusServiceUnavailable, true},
		{bus.ErrTooLarge, codes.Internal, http.StatusInternalServerError, false},
		{context.Canceled, codes.Canceled, http.StatusServiceUnavailable, false},
		{context.DeadlineExceeded, codes.DeadlineExceeded, http.StatusServiceUnavailable, false},
		{errors.New("boom"), codes.Internal, http.StatusInternalServerError, false},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			err := fmt.Errorf("op: %w", tt.err)
			st, c := errorStatus(err, 3*time.Second)
			if got, want := st.Code(), tt.code; got != want {
				t.Errorf("gRPC code = %v, want %v", got, want)
			}
			if got, want := c.HTTPStatus(), tt.http; got != want {
				t.Errorf("HTTP status = %d, want %d", got, want)
			}
			var ri *errdetails.RetryInfo
			for _, d := range st.Details() {
				if r, ok := d.(*errdetails.RetryInfo); ok {
					ri = r
				}
			}
			if got, want := ri != nil, tt.retryInfo; got != want {
				t.Fatalf("has RetryInfo = %v, want %v", got, want)
			}
			if ri != nil {
				if got, want := ri.GetRetryDelay().AsDuration(), 3*time.Second; got != want {
					t.Errorf("retry delay = %v, want %v", got, want)
				}
			}
		})
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{{time.Millisecond, "1"}, {time.Second, "1"}, {1500 * time.Millisecond, "2"}, {30 * time.Second, "30"}} {
		if got := otlpstatus.RetryAfterSeconds(tt.d); got != tt.want {
			t.Errorf("otlpstatus.RetryAfterSeconds(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
