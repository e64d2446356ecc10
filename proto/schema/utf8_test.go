package schema

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestInvalidUTF8 checks that a string pdata decoded without checking (it
// does not validate UTF-8) is refused by the conversion, naming the field,
// and that nothing is converted then.
func TestInvalidUTF8(t *testing.T) {
	const bad = "a\xffb"
	span := func(set func(ptrace.ResourceSpans, ptrace.Span)) func() error {
		return func() error {
			td := ptrace.NewTraces()
			rs := td.ResourceSpans().AppendEmpty()
			s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			s.SetName("ok")
			set(rs, s)
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			rec, err := ResourceSpansToArrow(mem, ResourceSpansOf(td))
			if rec != nil {
				rec.Release()
			}
			return err
		}
	}
	log := func(set func(plog.LogRecord)) func() error {
		return func() error {
			ld := plog.NewLogs()
			set(ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty())
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			rec, err := ResourceLogsToArrow(mem, ResourceLogsOf(ld))
			if rec != nil {
				rec.Release()
			}
			return err
		}
	}
	for _, tt := range []struct {
		name, field string
		convert     func() error
	}{
		{"span name", "name", span(func(_ ptrace.ResourceSpans, s ptrace.Span) { s.SetName(bad) })},
		{"attribute key", "attribute key", span(func(_ ptrace.ResourceSpans, s ptrace.Span) { s.Attributes().PutStr(bad, "v") })},
		{"attribute value", `attribute "k"`, span(func(_ ptrace.ResourceSpans, s ptrace.Span) { s.Attributes().PutStr("k", bad) })},
		{"nested value", `attribute "k"`, span(func(_ ptrace.ResourceSpans, s ptrace.Span) {
			s.Attributes().PutEmptySlice("k").AppendEmpty().SetStr(bad)
		})},
		{"event name", "event name", span(func(_ ptrace.ResourceSpans, s ptrace.Span) { s.Events().AppendEmpty().SetName(bad) })},
		{"status message", "status message", span(func(_ ptrace.ResourceSpans, s ptrace.Span) { s.Status().SetMessage(bad) })},
		{"resource attribute", `attribute "host"`, span(func(rs ptrace.ResourceSpans, _ ptrace.Span) {
			rs.Resource().Attributes().PutStr("host", bad)
		})},
		{"scope name", "scope name", span(func(rs ptrace.ResourceSpans, _ ptrace.Span) {
			rs.ScopeSpans().At(0).Scope().SetName(bad)
		})},
		{"log body", "body", log(func(l plog.LogRecord) { l.Body().SetStr(bad) })},
		{"log kvlist body", "key", log(func(l plog.LogRecord) { l.Body().SetEmptyMap().PutInt(bad, 1) })},
		{"severity text", "severity_text", log(func(l plog.LogRecord) { l.SetSeverityText(bad) })},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.convert()
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.field) || !strings.Contains(err.Error(), "invalid UTF-8") {
				t.Errorf("error %q does not name %s as invalid UTF-8", err, tt.field)
			}
		})
	}
}
