package publish

import (
	"fmt"
	"math"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Defaults of [Limits]. OTel SDKs limit an attribute set to 128 attributes
// and leave value length unlimited; a receiver sees many SDKs and
// collectors at once, so ours are wider for counts and bounded for length.
const (
	DefaultMaxAttributes           = 1024
	DefaultMaxAttributeValueLength = 64 << 10
	DefaultMaxDepth                = 32
)

// Limits bound what the attributes of one request may hold. They are
// applied to every resource before conversion; see docs/security.md.
type Limits struct {
	// MaxAttributes bounds each attribute set (resource, scope, span, span
	// event, span link, metric metadata, data point, exemplar, log record).
	// Attributes beyond it are dropped, keeping the first ones, and added to
	// the message's dropped_attributes_count where it has one. 0 means
	// [DefaultMaxAttributes]; negative means no limit.
	MaxAttributes int
	// MaxAttributeValueLength bounds, in bytes, every string and bytes
	// attribute value, also inside arrays and key-value lists. Longer
	// strings are cut at a UTF-8 character boundary. 0 means
	// [DefaultMaxAttributeValueLength]; negative means no limit.
	MaxAttributeValueLength int
	// MaxDepth bounds how deeply arrays and key-value lists nest in an
	// attribute value or a log body (a scalar is one level). A resource
	// holding a deeper value is refused as invalid, naming the attribute.
	// 0 means [DefaultMaxDepth]; negative means no limit.
	MaxDepth int
}

// withDefaults resolves the zero values to the defaults and negative
// values to "no limit" (math.MaxInt).
func (l Limits) withDefaults() Limits {
	res := func(v, def int) int {
		switch {
		case v == 0:
			return def
		case v < 0:
			return math.MaxInt
		}
		return v
	}
	return Limits{
		MaxAttributes:           res(l.MaxAttributes, DefaultMaxAttributes),
		MaxAttributeValueLength: res(l.MaxAttributeValueLength, DefaultMaxAttributeValueLength),
		MaxDepth:                res(l.MaxDepth, DefaultMaxDepth),
	}
}

// limiter applies Limits to one resource and counts what it changed.
type limiter struct {
	Limits
	dropped   int64 // attributes dropped by MaxAttributes
	truncated int64 // values cut by MaxAttributeValueLength
}

// errTooDeep reports a value nested beyond MaxDepth.
type errTooDeep int

func (e errTooDeep) Error() string {
	return fmt.Sprintf("value nested deeper than %d levels", int(e))
}

// truncateUTF8 cuts s to at most n bytes without splitting a UTF-8
// sequence. (Invalid UTF-8 is refused by the conversion.)
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// pdepth checks a log body's nesting without truncating its values: a body
// is the record itself, not an attribute.
func (l *limiter) pdepth(v pcommon.Value, level int) error {
	if level > l.MaxDepth {
		return errTooDeep(l.MaxDepth)
	}
	switch v.Type() {
	case pcommon.ValueTypeSlice:
		sl := v.Slice()
		for i := range sl.Len() {
			if err := l.pdepth(sl.At(i), level+1); err != nil {
				return err
			}
		}
	case pcommon.ValueTypeMap:
		for _, e := range v.Map().All() {
			if err := l.pdepth(e, level+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// droppedSetter is a pdata message with attributes and a dropped count.
type droppedSetter interface {
	Attributes() pcommon.Map
	DroppedAttributesCount() uint32
	SetDroppedAttributesCount(uint32)
}

// limitAttrsOf applies the limits to the attributes of x.
func limitAttrsOf[T droppedSetter](l *limiter, x T, where string) error {
	n, err := l.attrsMap(x.Attributes(), where)
	if n > 0 {
		x.SetDroppedAttributesCount(addDropped(x.DroppedAttributesCount(), n))
	}
	return err
}

func limitSpans(l *limiter, rs ptrace.ResourceSpans) error {
	if err := limitAttrsOf(l, rs.Resource(), "resource"); err != nil {
		return err
	}
	sss := rs.ScopeSpans()
	for i := range sss.Len() {
		ss := sss.At(i)
		if err := limitAttrsOf(l, ss.Scope(), "scope"); err != nil {
			return err
		}
		spans := ss.Spans()
		for j := range spans.Len() {
			s := spans.At(j)
			if err := limitAttrsOf(l, s, "span"); err != nil {
				return err
			}
			evs, lks := s.Events(), s.Links()
			for k := range evs.Len() {
				if err := limitAttrsOf(l, evs.At(k), "span event"); err != nil {
					return err
				}
			}
			for k := range lks.Len() {
				if err := limitAttrsOf(l, lks.At(k), "span link"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func limitLogs(l *limiter, rl plog.ResourceLogs) error {
	if err := limitAttrsOf(l, rl.Resource(), "resource"); err != nil {
		return err
	}
	sls := rl.ScopeLogs()
	for i := range sls.Len() {
		sl := sls.At(i)
		if err := limitAttrsOf(l, sl.Scope(), "scope"); err != nil {
			return err
		}
		recs := sl.LogRecords()
		for j := range recs.Len() {
			rec := recs.At(j)
			if err := limitAttrsOf(l, rec, "log record"); err != nil {
				return err
			}
			if err := l.pdepth(rec.Body(), 1); err != nil {
				return fmt.Errorf("%w: body of log record: %w", schema.ErrInvalid, err)
			}
		}
	}
	return nil
}

// limitMetrics applies the limits to a pdata resource's metrics in place.
func limitMetrics(l *limiter, rm pmetric.ResourceMetrics) error {
	if err := limitAttrsOf(l, rm.Resource(), "resource"); err != nil {
		return err
	}
	sms := rm.ScopeMetrics()
	for i := range sms.Len() {
		sm := sms.At(i)
		if err := limitAttrsOf(l, sm.Scope(), "scope"); err != nil {
			return err
		}
		ms := sm.Metrics()
		for j := range ms.Len() {
			m := ms.At(j)
			if _, err := l.attrsMap(m.Metadata(), "metric metadata"); err != nil {
				return err
			}
			if err := limitDataPoints(l, m); err != nil {
				return fmt.Errorf("metric %q: %w", truncateUTF8(m.Name(), 128), err)
			}
		}
	}
	return nil
}

// limitDataPoints applies the limits to the attributes of m's data points
// and their exemplars.
func limitDataPoints(l *limiter, m pmetric.Metric) error {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return limitPoints(l, m.Gauge().DataPoints())
	case pmetric.MetricTypeSum:
		return limitPoints(l, m.Sum().DataPoints())
	case pmetric.MetricTypeHistogram:
		return limitPoints(l, m.Histogram().DataPoints())
	case pmetric.MetricTypeExponentialHistogram:
		return limitPoints(l, m.ExponentialHistogram().DataPoints())
	case pmetric.MetricTypeSummary:
		ps := m.Summary().DataPoints()
		for i := range ps.Len() {
			if _, err := l.attrsMap(ps.At(i).Attributes(), "data point"); err != nil {
				return err
			}
		}
	}
	return nil
}

// pointSlice is a pdata slice of data points that have exemplars.
type pointSlice[P interface {
	Attributes() pcommon.Map
	Exemplars() pmetric.ExemplarSlice
}] interface {
	Len() int
	At(int) P
}

func limitPoints[P interface {
	Attributes() pcommon.Map
	Exemplars() pmetric.ExemplarSlice
}, S pointSlice[P]](l *limiter, ps S) error {
	for i := range ps.Len() {
		p := ps.At(i)
		if _, err := l.attrsMap(p.Attributes(), "data point"); err != nil {
			return err
		}
		exs := p.Exemplars()
		for j := range exs.Len() {
			if _, err := l.attrsMap(exs.At(j).FilteredAttributes(), "exemplar"); err != nil {
				return err
			}
		}
	}
	return nil
}
