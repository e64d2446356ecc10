package publish

import (
	"fmt"
	"math"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

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

// attrs applies the limits to one attribute set, adding the attributes it
// drops to *dropped when not nil. where names the set in errors.
func (l *limiter) attrs(kvs *[]*commonpb.KeyValue, dropped *uint32, where string) error {
	if n := len(*kvs); n > l.MaxAttributes {
		extra := n - l.MaxAttributes
		clear((*kvs)[l.MaxAttributes:])
		*kvs = (*kvs)[:l.MaxAttributes]
		l.dropped += int64(extra)
		if dropped != nil {
			*dropped = uint32(min(uint64(*dropped)+uint64(extra), math.MaxUint32))
		}
	}
	for _, kv := range *kvs {
		if err := l.value(kv.GetValue(), 1); err != nil {
			return fmt.Errorf("%w: attribute %q of %s: %w", schema.ErrInvalid, truncateUTF8(kv.GetKey(), 128), where, err)
		}
	}
	return nil
}

// errTooDeep reports a value nested beyond MaxDepth.
type errTooDeep int

func (e errTooDeep) Error() string {
	return fmt.Sprintf("value nested deeper than %d levels", int(e))
}

// value truncates v's strings and bytes and checks that v, found at the
// given nesting level, nests no deeper than MaxDepth. The recursion is
// bounded by MaxDepth (and by protobuf's own decoding limit without one).
func (l *limiter) value(v *commonpb.AnyValue, level int) error {
	if v == nil {
		return nil
	}
	if level > l.MaxDepth {
		return errTooDeep(l.MaxDepth)
	}
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		if len(x.StringValue) > l.MaxAttributeValueLength {
			x.StringValue = truncateUTF8(x.StringValue, l.MaxAttributeValueLength)
			l.truncated++
		}
	case *commonpb.AnyValue_BytesValue:
		if len(x.BytesValue) > l.MaxAttributeValueLength {
			x.BytesValue = x.BytesValue[:l.MaxAttributeValueLength:l.MaxAttributeValueLength]
			l.truncated++
		}
	case *commonpb.AnyValue_ArrayValue:
		for _, e := range x.ArrayValue.GetValues() {
			if err := l.value(e, level+1); err != nil {
				return err
			}
		}
	case *commonpb.AnyValue_KvlistValue:
		for _, kv := range x.KvlistValue.GetValues() {
			if err := l.value(kv.GetValue(), level+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// depth checks a log body's nesting without truncating its values: a body
// is the record itself, not an attribute.
func (l *limiter) depth(v *commonpb.AnyValue, level int) error {
	if v == nil {
		return nil
	}
	if level > l.MaxDepth {
		return errTooDeep(l.MaxDepth)
	}
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_ArrayValue:
		for _, e := range x.ArrayValue.GetValues() {
			if err := l.depth(e, level+1); err != nil {
				return err
			}
		}
	case *commonpb.AnyValue_KvlistValue:
		for _, kv := range x.KvlistValue.GetValues() {
			if err := l.depth(kv.GetValue(), level+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a UTF-8
// sequence. (Protobuf decoding already refused invalid UTF-8.)
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// scope applies the limits to an instrumentation scope's attributes.
func (l *limiter) scope(s *commonpb.InstrumentationScope) error {
	if s == nil {
		return nil
	}
	return l.attrs(&s.Attributes, &s.DroppedAttributesCount, "scope")
}

func limitSpans(l *limiter, rs *tracepb.ResourceSpans) error {
	if r := rs.GetResource(); r != nil {
		if err := l.attrs(&r.Attributes, &r.DroppedAttributesCount, "resource"); err != nil {
			return err
		}
	}
	for _, ss := range rs.GetScopeSpans() {
		if err := l.scope(ss.GetScope()); err != nil {
			return err
		}
		for _, s := range ss.GetSpans() {
			if s == nil {
				continue
			}
			if err := l.attrs(&s.Attributes, &s.DroppedAttributesCount, "span"); err != nil {
				return err
			}
			for _, e := range s.GetEvents() {
				if e == nil {
					continue
				}
				if err := l.attrs(&e.Attributes, &e.DroppedAttributesCount, "span event"); err != nil {
					return err
				}
			}
			for _, k := range s.GetLinks() {
				if k == nil {
					continue
				}
				if err := l.attrs(&k.Attributes, &k.DroppedAttributesCount, "span link"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func limitLogs(l *limiter, rl *logspb.ResourceLogs) error {
	if r := rl.GetResource(); r != nil {
		if err := l.attrs(&r.Attributes, &r.DroppedAttributesCount, "resource"); err != nil {
			return err
		}
	}
	for _, sl := range rl.GetScopeLogs() {
		if err := l.scope(sl.GetScope()); err != nil {
			return err
		}
		for _, rec := range sl.GetLogRecords() {
			if rec == nil {
				continue
			}
			if err := l.attrs(&rec.Attributes, &rec.DroppedAttributesCount, "log record"); err != nil {
				return err
			}
			if err := l.depth(rec.GetBody(), 1); err != nil {
				return fmt.Errorf("%w: body of log record: %w", schema.ErrInvalid, err)
			}
		}
	}
	return nil
}

// limitMetrics applies the limits to a pdata resource's metrics in place.
func limitMetrics(l *limiter, rm pmetric.ResourceMetrics) error {
	if err := l.resourceMap(rm.Resource()); err != nil {
		return err
	}
	sms := rm.ScopeMetrics()
	for i := range sms.Len() {
		sm := sms.At(i)
		if err := l.scopeMap(sm.Scope()); err != nil {
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
