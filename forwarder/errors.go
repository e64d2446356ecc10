package forward

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/failsafe-go/failsafe-go/timeout"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors returned by Ready.
var (
	// ErrNotStarted is returned by Ready before Run consumes.
	ErrNotStarted = errors.New("forward: not consuming yet")
	// ErrStopped is returned by Ready once Run has returned.
	ErrStopped = errors.New("forward: stopped")
)

// maxReasonLen bounds reasons kept from a target's answer.
const maxReasonLen = 512

// sendError is the classified failure of one attempt.
type sendError struct {
	permanent  bool
	retryAfter time.Duration // the target's hint; 0 when none
	reason     string        // short, without secrets
	err        error
}

func (e *sendError) Error() string { return e.reason }
func (e *sendError) Unwrap() error { return e.err }

// permanentError marks a rejection that retrying cannot fix.
func permanentError(err error, format string, args ...any) error {
	return &sendError{permanent: true, reason: cleanReason(fmt.Sprintf(format, args...)), err: err}
}

// retryableError marks a failure worth retrying, after at least after.
func retryableError(err error, after time.Duration, format string, args ...any) error {
	return &sendError{retryAfter: after, reason: cleanReason(fmt.Sprintf(format, args...)), err: err}
}

// isRetryable reports whether err should be retried and counted by the
// circuit breaker: a retryable sendError or an attempt timeout.
func isRetryable(err error) bool {
	if err == nil {
		return false
	}
	var se *sendError
	if errors.As(err, &se) {
		return !se.permanent
	}
	return errors.Is(err, timeout.ErrExceeded)
}

// isPermanent reports whether err is a permanent rejection.
func isPermanent(err error) bool {
	var se *sendError
	return errors.As(err, &se) && se.permanent
}

// retryAfter returns the target's retry hint carried by err, or 0.
func retryAfter(err error) time.Duration {
	var se *sendError
	if errors.As(err, &se) {
		return se.retryAfter
	}
	return 0
}

// grpcError classifies a gRPC error after the OTLP specification: only
// INVALID_ARGUMENT, and RESOURCE_EXHAUSTED without RetryInfo (an oversize
// request), are permanent. The other codes, authentication included, are
// retried: they say the target is not usable now, not that the data is bad.
func grpcError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		// The attempt was cut (timeout or shutdown): not the target's answer.
		return retryableError(err, 0, "grpc: %v", context.Cause(ctx))
	}
	st, ok := status.FromError(err)
	if !ok {
		return retryableError(err, 0, "grpc: %v", err)
	}
	after := grpcRetryInfo(st)
	reason := fmt.Sprintf("grpc %s: %s", st.Code(), st.Message())
	switch st.Code() {
	case codes.InvalidArgument:
		return permanentError(err, "%s", reason)
	case codes.ResourceExhausted:
		if after <= 0 {
			return permanentError(err, "%s", reason)
		}
	}
	return retryableError(err, after, "%s", reason)
}

func grpcRetryInfo(st *status.Status) time.Duration {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

// cleanReason makes s fit a header value and a log line: one line, at most
// maxReasonLen bytes.
func cleanReason(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxReasonLen {
		s = strings.ToValidUTF8(s[:maxReasonLen], "") + "..."
	}
	return s
}
