package ingestflight

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	arrowpb "github.com/open-telemetry/otel-arrow/go/api/experimental/arrow/v1"
	"google.golang.org/grpc/tap"

	"github.com/otlp-arrow/otlp-arrow/proto/ingestauth"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// ErrUnauthenticated is wrapped when authentication is on and a call
// carries no valid bearer token. Permanent: UNAUTHENTICATED.
var ErrUnauthenticated = errors.New("ingestflight: unauthenticated")

// Full gRPC method names the server tells apart.
const (
	flightServicePrefix = "/arrow.flight.protocol.FlightService/"
	doPutMethod         = flightServicePrefix + "DoPut"
)

// otapSignals maps the OTAP stream methods to their signal.
var otapSignals = map[string]schema.Signal{
	arrowpb.ArrowTracesService_ArrowTraces_FullMethodName:   schema.Traces,
	arrowpb.ArrowMetricsService_ArrowMetrics_FullMethodName: schema.Metrics,
	arrowpb.ArrowLogsService_ArrowLogs_FullMethodName:       schema.Logs,
}

// authenticator checks authorization headers with the shared
// [ingestauth.Checker]. It is safe for concurrent use.
type authenticator struct {
	checker *ingestauth.Checker
}

// newAuthenticator returns nil when cfg turns authentication off. It fails
// when the tokens file cannot be read or no token is configured at all.
func newAuthenticator(cfg AuthConfig, log *slog.Logger) (*authenticator, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	c, err := ingestauth.NewChecker(cfg.Tokens, cfg.TokensFile, log)
	if err != nil {
		if errors.Is(err, ingestauth.ErrInvalidConfig) {
			return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		return nil, err
	}
	return &authenticator{checker: c}, nil
}

// check returns nil when header (the authorization value; "" when absent)
// carries an accepted bearer token, else an error wrapping
// [ErrUnauthenticated] that does not repeat what the client sent.
func (a *authenticator) check(header string) error {
	if header == "" {
		return fmt.Errorf("%w: missing bearer token (want authorization: Bearer <token>)", ErrUnauthenticated)
	}
	tok, ok := ingestauth.BearerToken(header)
	if !ok {
		return fmt.Errorf("%w: authorization is not a bearer token", ErrUnauthenticated)
	}
	if !a.checker.Check(tok) {
		return fmt.Errorf("%w: invalid bearer token", ErrUnauthenticated)
	}
	return nil
}

// serverTLS loads the certificate, key and client CAs of cfg; nil when TLS
// is off.
func serverTLS(cfg TLSConfig) (*tls.Config, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	tc, err := ingestauth.ServerTLS(cfg.CertFile, cfg.KeyFile, cfg.ClientCAFile)
	if errors.Is(err, ingestauth.ErrInvalidConfig) {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return tc, err
}

// tapAuth authenticates every call (Flight and OTAP alike) when its stream
// opens, from its headers, before gRPC reads a message: a client without a
// valid bearer token costs no message memory. It runs on the connection's
// reader goroutine, so it must stay quick.
type tapAuth struct {
	auth    *authenticator
	metrics *serverMetrics
}

func (a tapAuth) handle(ctx context.Context, info *tap.Info) (context.Context, error) {
	var header string
	if v := info.Header.Get("authorization"); len(v) > 0 {
		header = v[0]
	}
	err := a.auth.check(header)
	if err == nil {
		return ctx, nil
	}
	st := errorStatus(err, 0)
	protocol, sig := SourceOTAP, "unknown"
	if s, ok := otapSignals[info.FullMethodName]; ok {
		sig = string(s)
	} else if strings.HasPrefix(info.FullMethodName, flightServicePrefix) {
		protocol = SourceFlight
	}
	a.metrics.authFailures.WithLabelValues(protocol).Inc()
	if info.FullMethodName == doPutMethod || sig != "unknown" {
		a.metrics.requests.WithLabelValues(protocol, sig, st.Code().String()).Inc()
	}
	return ctx, st.Err()
}
