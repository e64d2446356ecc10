package publish

import (
	"fmt"
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// The limits over pdata: the same rules as over the generated structs.

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
	var err error
	m.Range(func(k string, v pcommon.Value) bool {
		if e := l.valueMap(v, 1); e != nil {
			err = fmt.Errorf("%w: attribute %q of %s: %w", schema.ErrInvalid, truncateUTF8(k, 128), where, e)
			return false
		}
		return true
	})
	return uint32(min(dropped, math.MaxUint32)), err
}

// addDropped adds n to a dropped_attributes_count, saturating.
func addDropped(count, n uint32) uint32 {
	return uint32(min(uint64(count)+uint64(n), math.MaxUint32))
}

// valueMap is value for a pdata value.
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
		var err error
		v.Map().Range(func(_ string, e pcommon.Value) bool {
			err = l.valueMap(e, level+1)
			return err == nil
		})
		return err
	}
	return nil
}

// resourceMap applies the limits to a pdata resource's attributes.
func (l *limiter) resourceMap(r pcommon.Resource) error {
	n, err := l.attrsMap(r.Attributes(), "resource")
	if n > 0 {
		r.SetDroppedAttributesCount(addDropped(r.DroppedAttributesCount(), n))
	}
	return err
}

// scopeMap applies the limits to a pdata scope's attributes.
func (l *limiter) scopeMap(s pcommon.InstrumentationScope) error {
	n, err := l.attrsMap(s.Attributes(), "scope")
	if n > 0 {
		s.SetDroppedAttributesCount(addDropped(s.DroppedAttributesCount(), n))
	}
	return err
}
