package conform

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ErrIncompatible is wrapped by NewPlan when a schema does not fit the
// target; the message names the offending column.
var ErrIncompatible = errors.New("conform: incompatible schema")

// ServiceColumn is the column the bus subject is taken from.
const ServiceColumn = "service_name"

// serviceAttrs is the resource attribute map service_name can be derived
// from, and the key looked up in it.
const (
	serviceAttrs   = "resource_attributes_str"
	serviceAttrKey = "service.name"
)

type conv int

const (
	convNone   conv = iota // same type: the column as it is
	convNull               // missing: all null
	convToDict             // string-like to dictionary<int32, utf8>
	convToStr              // string-like to utf8
	convDerive             // service_name from resource_attributes_str
)

type colPlan struct {
	src  int // index in the incoming schema, -1 when missing
	conv conv
}

// Plan turns batches of one incoming schema into the target schema. It is
// immutable and safe for concurrent use.
type Plan struct {
	target    *arrow.Schema
	identical bool
	cols      []colPlan
}

var dictString = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

// NewPlan checks in against target. Every problem found is reported, each
// naming its column, in one error wrapping [ErrIncompatible].
func NewPlan(target, in *arrow.Schema) (*Plan, error) {
	p := &Plan{target: target, identical: in.Equal(target)}
	if p.identical {
		return p, nil
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrIncompatible}, args...)...))
	}
	seen := map[string]bool{}
	for _, f := range in.Fields() {
		if seen[f.Name] {
			bad("column %q appears twice", f.Name)
		}
		seen[f.Name] = true
		if !target.HasField(f.Name) {
			bad("unknown column %q", f.Name)
		}
	}
	p.cols = make([]colPlan, target.NumFields())
	for i, tf := range target.Fields() {
		idx := in.FieldIndices(tf.Name)
		if len(idx) == 0 {
			switch {
			case tf.Name == ServiceColumn && canDeriveService(in):
				p.cols[i] = colPlan{src: in.FieldIndices(serviceAttrs)[0], conv: convDerive}
			case !tf.Nullable:
				bad("missing column %q is required", tf.Name)
			default:
				p.cols[i] = colPlan{src: -1, conv: convNull}
			}
			continue
		}
		src := idx[0]
		dt := in.Field(src).Type
		switch {
		case arrow.TypeEqual(dt, tf.Type):
			p.cols[i] = colPlan{src: src, conv: convNone}
		case isStringLike(dt) && arrow.TypeEqual(tf.Type, dictString):
			p.cols[i] = colPlan{src: src, conv: convToDict}
		case isStringLike(dt) && tf.Type.ID() == arrow.STRING:
			p.cols[i] = colPlan{src: src, conv: convToStr}
		default:
			bad("column %q has type %s, want %s", tf.Name, dt, tf.Type)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// Identical reports whether the incoming schema equals the target: Apply
// then returns the batch's own columns.
func (p *Plan) Identical() bool { return p.identical }

// Apply returns rec in the target schema; the caller releases the result.
// Columns of the target's type are shared, not copied.
func (p *Plan) Apply(mem memory.Allocator, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if p.identical {
		// The same columns under the target's *arrow.Schema: the payload
		// encoder keeps its writers per schema pointer (a client's stream
		// brings its own), and schema-level metadata of a client's stream
		// is not part of the contract.
		return array.NewRecordBatch(p.target, rec.Columns(), rec.NumRows()), nil
	}
	n := int(rec.NumRows())
	cols := make([]arrow.Array, len(p.cols))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, cp := range p.cols {
		tf := p.target.Field(i)
		var err error
		switch cp.conv {
		case convNone:
			cols[i] = rec.Column(cp.src)
			cols[i].Retain()
		case convNull:
			cols[i] = array.MakeArrayOfNull(mem, tf.Type, n)
		case convToDict:
			cols[i], err = toDict(mem, rec.Column(cp.src))
		case convToStr:
			cols[i], err = toStr(mem, rec.Column(cp.src))
		case convDerive:
			cols[i], err = deriveService(mem, rec.Column(cp.src))
		}
		if err != nil {
			return nil, fmt.Errorf("conform column %q: %w", tf.Name, err)
		}
	}
	return array.NewRecordBatch(p.target, cols, int64(n)), nil
}

// isStringLike reports whether dt holds strings: utf8, large_utf8 or a
// dictionary of utf8 with integer indices.
func isStringLike(dt arrow.DataType) bool {
	switch t := dt.(type) {
	case *arrow.StringType, *arrow.LargeStringType:
		return true
	case *arrow.DictionaryType:
		return t.ValueType.ID() == arrow.STRING || t.ValueType.ID() == arrow.LARGE_STRING
	}
	return false
}

// canDeriveService reports whether in has resource_attributes_str as a
// map<utf8, utf8>.
func canDeriveService(in *arrow.Schema) bool {
	idx := in.FieldIndices(serviceAttrs)
	if len(idx) != 1 {
		return false
	}
	mt, ok := in.Field(idx[0]).Type.(*arrow.MapType)
	return ok && mt.KeyType().ID() == arrow.STRING && mt.ItemType().ID() == arrow.STRING
}

// strings reads a string-like array.
type stringReader func(i int) (string, bool)

func newStringReader(a arrow.Array) (stringReader, error) {
	switch c := a.(type) {
	case *array.String:
		return func(i int) (string, bool) { return c.Value(i), c.IsValid(i) }, nil
	case *array.LargeString:
		return func(i int) (string, bool) { return c.Value(i), c.IsValid(i) }, nil
	case *array.Dictionary:
		vals, err := newStringReader(c.Dictionary())
		if err != nil {
			return nil, err
		}
		return func(i int) (string, bool) {
			if c.IsNull(i) {
				return "", false
			}
			return vals(c.GetValueIndex(i))
		}, nil
	}
	return nil, fmt.Errorf("%w: type %s is not a string", ErrIncompatible, a.DataType())
}

func toDict(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
	read, err := newStringReader(a)
	if err != nil {
		return nil, err
	}
	b := array.NewDictionaryBuilder(mem, dictString).(*array.BinaryDictionaryBuilder)
	defer b.Release()
	for i := range a.Len() {
		s, ok := read(i)
		if !ok {
			b.AppendNull()
			continue
		}
		if err := b.AppendString(s); err != nil {
			return nil, err
		}
	}
	return b.NewArray(), nil
}

func toStr(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
	read, err := newStringReader(a)
	if err != nil {
		return nil, err
	}
	b := array.NewStringBuilder(mem)
	defer b.Release()
	for i := range a.Len() {
		if s, ok := read(i); ok {
			b.Append(s)
		} else {
			b.AppendNull()
		}
	}
	return b.NewArray(), nil
}

// deriveService builds service_name from a map<utf8, utf8> of resource
// attributes: the value of service.name, null when absent.
func deriveService(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
	m, ok := a.(*array.Map)
	if !ok {
		return nil, fmt.Errorf("%w: %s is %s, want a map", ErrIncompatible, serviceAttrs, a.DataType())
	}
	keys, ok1 := m.Keys().(*array.String)
	items, ok2 := m.Items().(*array.String)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: %s is %s, want map<utf8, utf8>", ErrIncompatible, serviceAttrs, a.DataType())
	}
	b := array.NewDictionaryBuilder(mem, dictString).(*array.BinaryDictionaryBuilder)
	defer b.Release()
	for i := range m.Len() {
		found := false
		if m.IsValid(i) {
			start, end := m.ValueOffsets(i)
			for j := int(start); j < int(end); j++ {
				if keys.Value(j) == serviceAttrKey && items.IsValid(j) {
					if err := b.AppendString(items.Value(j)); err != nil {
						return nil, err
					}
					found = true
					break
				}
			}
		}
		if !found {
			b.AppendNull()
		}
	}
	return b.NewArray(), nil
}
