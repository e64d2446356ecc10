package publish

import (
	"fmt"
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// attrsMap applies the limits to one pdata attribute set in place and
// returns how many attributes it dropped. where names the set in errors.
func (l *limiter) attrsMap(m pcommon.Map, where string) (uint32, error) {
	var dropped int
	if n := m.Len(); n > l.MaxAttributes {
		i := 0
		m.RemoveIf(func(string, pcommon.Value) bool {
			i++
			return i > l.MaxAttributes
		})
		dropped = n - l.MaxAttributes
		l.dropped += int64(dropped)
	}
	n := uint32(min(dropped, math.MaxUint32))
	for k, v := range m.All() {
		if err := l.valueMap(v, 1); err != nil {
			return n, fmt.Errorf("%w: attribute %q of %s: %w", schema.ErrInvalid, truncateUTF8(k, 128), where, err)
		}
	}
	return n, nil
}

// addDropped adds n to a dropped_attributes_count, saturating.
func addDropped(count, n uint32) uint32 {
	return uint32(min(uint64(count)+uint64(n), math.MaxUint32))
}

// valueMap truncates v's strings and bytes in place and checks that v,
// found at the given nesting level, nests no deeper than MaxDepth.
func (l *limiter) valueMap(v pcommon.Value, level int) error {
	if level > l.MaxDepth {
		return errTooDeep(l.MaxDepth)
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if s := v.Str(); len(s) > l.MaxAttributeValueLength {
			v.SetStr(truncateUTF8(s, l.MaxAttributeValueLength))
			l.truncated++
		}
	case pcommon.ValueTypeBytes:
		if b := v.Bytes(); b.Len() > l.MaxAttributeValueLength {
			b.FromRaw(b.AsRaw()[:l.MaxAttributeValueLength])
			l.truncated++
		}
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		for i := range s.Len() {
			if err := l.valueMap(s.At(i), level+1); err != nil {
				return err
			}
		}
	case pcommon.ValueTypeMap:
		for _, e := range v.Map().All() {
			if err := l.valueMap(e, level+1); err != nil {
				return err
			}
		}
	}
	return nil
}
