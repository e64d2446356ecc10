package bus_test

import (
	"strings"
	"testing"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func TestServiceToken(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
	}{
		{"plain", "checkout", "checkout"},
		{"empty", "", "unknown"},
		{"dots", "api.v2.orders", "api_v2_orders"},
		{"wildcards", "a*b>c", "a_b_c"},
		{"spaces", "my service\tname\n", "my_service_name_"},
		{"unicode space", "a\u00a0b", "a_b"},
		{"control", "a\x00b\x7f", "a_b_"},
		{"dashes and case kept", "Front-End_1", "Front-End_1"},
		{"non-ascii kept", "café", "café"},
		{"invalid utf8", "a\xffb", "a_b"},
		{"dollar kept", "$svc", "$svc"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := bus.ServiceToken(tt.in); got != tt.want {
				t.Fatalf("ServiceToken(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestServiceTokenLong(t *testing.T) {
	got := bus.ServiceToken(strings.Repeat("é", 200)) // 400 bytes
	if len(got) > 255 {
		t.Fatalf("token length: got %d, want <= 255", len(got))
	}
	if got != strings.Repeat("é", 127) {
		t.Fatalf("token not cut at a character boundary: %q", got)
	}
}

func TestNames(t *testing.T) {
	for _, tt := range []struct {
		sig                                   schema.Signal
		stream, subject, filter, dead, schema string
	}{
		{schema.Traces, "OTLP_TRACES", "otlp.traces.svc_a", "otlp.traces.>", "otlp.dead.traces", "traces/v1"},
		{schema.Metrics, "OTLP_METRICS", "otlp.metrics.svc_a", "otlp.metrics.>", "otlp.dead.metrics", "metrics/v1"},
		{schema.Logs, "OTLP_LOGS", "otlp.logs.svc_a", "otlp.logs.>", "otlp.dead.logs", "logs/v1"},
	} {
		t.Run(string(tt.sig), func(t *testing.T) {
			for _, c := range []struct{ what, got, want string }{
				{"StreamName", bus.StreamName(tt.sig), tt.stream},
				{"Subject", bus.Subject(tt.sig, "svc.a"), tt.subject},
				{"SubjectFilter", bus.SubjectFilter(tt.sig), tt.filter},
				{"DeadSubject", bus.DeadSubject(tt.sig), tt.dead},
				{"Version", tt.sig.Version(), tt.schema},
			} {
				if c.got != c.want {
					t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
				}
			}
		})
	}
}
