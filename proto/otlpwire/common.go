package otlpwire

// How to decode another message with these helpers (for metrics.go):
//
//   - Embed decoder by value in a per-call struct that adds a slab[T] for each
//     message type you create (slab[metricspb.NumberDataPoint], and
//     slab[*metricspb.NumberDataPoint] for the []*T of repeated fields), and call
//     d.decoder.init(b) first. One such struct per Unmarshal call, never pooled:
//     the slabs hand out the structs the caller keeps.
//   - A message function takes its payload: for a singular message field,
//     (b []byte, dst **T) and it merges into *dst when set (allocate with
//     s.new() when nil); for an element of a repeated field, it returns a new
//     *T. Call d.enter() first and d.leave() before returning nil, so nesting
//     is limited as proto.Unmarshal limits it.
//   - Loop: num, typ, v, p, rest, err := field(b); b = rest; switch on num and
//     act only when typ is the field's wire type (else ignore it: field has
//     skipped it, as proto.Unmarshal skips a known field of the wrong type).
//     Unknown numbers are ignored the same way. Strings through d.str(p),
//     bytes through bytesNoZero(p), doubles math.Float64frombits(v).
//   - Repeated message fields: countFields(b, &c) once before the loop, then
//     dst.X = reserve(&s, dst.X, int(c[num])) and append: no reallocation.
//     Attributes: d.attrs(&dst.Attributes, c[num]) before, then
//     d.appendKeyValue(&dst.Attributes, p) in the loop.
//   - Packed repeated scalars: accept BytesType (a packed run) and the scalar's
//     own wire type (one element), appending either way.

import (
	"math"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
)

// slab hands out zeroed T from chunks allocated together, so that decoding n
// messages costs a few allocations instead of n. Chunks double in size up to
// maxChunkBytes, which keeps them small objects for the Go allocator (larger
// ones are slower to get and zero). A chunk stays alive while any T in it is
// referenced.
type slab[T any] struct {
	free []T
	size int // size of the next chunk
}

const (
	minChunk      = 16
	maxChunkBytes = 32 << 10
)

// new returns a pointer to a zero T.
func (s *slab[T]) new() *T {
	if len(s.free) == 0 {
		s.refill(1)
	}
	p := &s.free[0]
	s.free = s.free[1:]
	return p
}

// maxChunk is the number of T in a chunk of maxChunkBytes.
func (s *slab[T]) maxChunk() int {
	var zero T
	return max(maxChunkBytes/int(unsafe.Sizeof(zero)), minChunk)
}

// refill replaces the free part with a new chunk of room for need T at
// least, dropping what was left of the old one.
func (s *slab[T]) refill(need int) {
	n := max(s.size, minChunk)
	for n < 4*need {
		n *= 2
	}
	s.size = min(2*n, s.maxChunk())
	s.free = make([]T, n)
}

// take returns a slice of length 0 and capacity n (no more: an append past n
// copies instead of overwriting a neighbour).
func (s *slab[T]) take(n int) []T {
	if n > len(s.free) {
		if n > s.maxChunk()/4 {
			return make([]T, 0, n) // a chunk of its own: little left to share
		}
		s.refill(n)
	}
	r := s.free[:0:n]
	s.free = s.free[n:]
	return r
}

// reserve prepares dst, the current value of a repeated field, for n appends:
// an empty field gets a slice of capacity n from s; a field that already has
// elements (a merged message) is left to append's growth.
func reserve[T any](s *slab[T], dst []T, n int) []T {
	if len(dst) != 0 || n == 0 {
		return dst
	}
	return s.take(n)
}

// decoder is the state of one Unmarshal call: the nesting depth and the slab
// allocators for the common messages it creates. Signal decoders embed it.
type decoder struct {
	depth int

	keyValues  slab[kvPair]
	kvPtrs     slab[*commonpb.KeyValue]
	anyValues  slab[commonpb.AnyValue]
	anyPtrs    slab[*commonpb.AnyValue]
	strVals    slab[commonpb.AnyValue_StringValue]
	intVals    slab[commonpb.AnyValue_IntValue]
	doubleVals slab[commonpb.AnyValue_DoubleValue]
	boolVals   slab[commonpb.AnyValue_BoolValue]
	bytesVals  slab[commonpb.AnyValue_BytesValue]
	strIdxVals slab[commonpb.AnyValue_StringValueStrindex]
	arrayVals  slab[commonpb.AnyValue_ArrayValue]
	arrays     slab[commonpb.ArrayValue]
	kvlistVals slab[commonpb.AnyValue_KvlistValue]
	kvlists    slab[commonpb.KeyValueList]
	resources  slab[resourcepb.Resource]
	scopes     slab[commonpb.InstrumentationScope]
	entityRefs slab[commonpb.EntityRef]
	entityPtrs slab[*commonpb.EntityRef]
	strings    slab[string]
}

// newDecoder returns a decoder for the input b; strings and bytes it decodes
// alias b.
func newDecoder(b []byte) *decoder {
	d := new(decoder)
	d.init(b)
	return d
}

// init prepares d, the zero decoder (possibly embedded), for the input b.
// The slabs do not size their chunks from len(b): the number of messages in
// a request varies too much with the length of its strings, and doubling
// costs only a few allocations.
func (d *decoder) init(b []byte) {
	_ = b
	d.depth = 0
}

// enter counts one more level of message nesting, failing past the limit
// proto.Unmarshal has (the request is the first level); leave undoes it.
func (d *decoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return errDepth
	}
	return nil
}

func (d *decoder) leave() { d.depth-- }

// attrs reserves room for n more attributes in *dst (see reserve).
func (d *decoder) attrs(dst *[]*commonpb.KeyValue, n int32) {
	*dst = reserve(&d.kvPtrs, *dst, int(n))
}

// appendKeyValue decodes the KeyValue b and appends it to *dst.
func (d *decoder) appendKeyValue(dst *[]*commonpb.KeyValue, b []byte) error {
	kv, err := d.keyValue(b)
	if err != nil {
		return err
	}
	*dst = append(*dst, kv)
	return nil
}

// kvPair puts a KeyValue and its value side by side: one slab for both, and
// they are read together.
type kvPair struct {
	kv commonpb.KeyValue
	av commonpb.AnyValue
	sv commonpb.AnyValue_StringValue
}

// keyValue decodes a KeyValue message.
func (d *decoder) keyValue(b []byte) (*commonpb.KeyValue, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	pair := d.keyValues.new()
	kv := &pair.kv
	for len(b) > 0 {
		num, typ, v, p, rest, err := field(b)
		if err != nil {
			return nil, err
		}
		b = rest
		switch num {
		case 1:
			if typ == protowire.BytesType {
				if kv.Key, err = d.str(p); err != nil {
					return nil, err
				}
			}
		case 2:
			if typ == protowire.BytesType {
				if kv.Value == nil {
					kv.Value = &pair.av
				}
				if err := d.anyValueString(p, &kv.Value, &pair.sv); err != nil {
					return nil, err
				}
			}
		case 3:
			if typ == protowire.VarintType {
				kv.KeyStrindex = int32(v)
			}
		}
	}
	d.leave()
	return kv, nil
}

// anyValue decodes an AnyValue message into *dst, allocating it when nil.
// The oneof is last-wins, except that a message-typed member following
// itself merges into the previous one, as proto.Unmarshal does.
func (d *decoder) anyValue(b []byte, dst **commonpb.AnyValue) error {
	return d.anyValueString(b, dst, nil)
}

// anyValueString is anyValue that uses sv, when not nil, for a string value
// (attribute values are mostly strings: they come with their KeyValue).
func (d *decoder) anyValueString(b []byte, dst **commonpb.AnyValue, sv *commonpb.AnyValue_StringValue) error {
	if err := d.enter(); err != nil {
		return err
	}
	av := *dst
	if av == nil {
		av = d.anyValues.new()
		*dst = av
	}
	for len(b) > 0 {
		num, typ, v, p, rest, err := field(b)
		if err != nil {
			return err
		}
		b = rest
		switch num {
		case 1:
			if typ == protowire.BytesType {
				s, err := d.str(p)
				if err != nil {
					return err
				}
				w := sv
				if w == nil {
					w = d.strVals.new()
				}
				w.StringValue = s
				av.Value = w
			}
		case 2:
			if typ == protowire.VarintType {
				w := d.boolVals.new()
				w.BoolValue = v != 0
				av.Value = w
			}
		case 3:
			if typ == protowire.VarintType {
				w := d.intVals.new()
				w.IntValue = int64(v)
				av.Value = w
			}
		case 4:
			if typ == protowire.Fixed64Type {
				w := d.doubleVals.new()
				w.DoubleValue = math.Float64frombits(v)
				av.Value = w
			}
		case 5:
			if typ == protowire.BytesType {
				w, ok := av.Value.(*commonpb.AnyValue_ArrayValue)
				if !ok || w.ArrayValue == nil {
					w = d.arrayVals.new()
					w.ArrayValue = d.arrays.new()
				}
				if err := d.arrayValue(p, w.ArrayValue); err != nil {
					return err
				}
				av.Value = w
			}
		case 6:
			if typ == protowire.BytesType {
				w, ok := av.Value.(*commonpb.AnyValue_KvlistValue)
				if !ok || w.KvlistValue == nil {
					w = d.kvlistVals.new()
					w.KvlistValue = d.kvlists.new()
				}
				if err := d.keyValueList(p, w.KvlistValue); err != nil {
					return err
				}
				av.Value = w
			}
		case 7:
			if typ == protowire.BytesType {
				w := d.bytesVals.new()
				w.BytesValue = p // never nil: proto.Unmarshal stores an empty oneof bytes as non-nil
				if w.BytesValue == nil {
					w.BytesValue = []byte{}
				}
				av.Value = w
			}
		case 8:
			if typ == protowire.VarintType {
				w := d.strIdxVals.new()
				w.StringValueStrindex = int32(v)
				av.Value = w
			}
		}
	}
	d.leave()
	return nil
}

// arrayValue decodes an ArrayValue message into dst (merging: values append).
func (d *decoder) arrayValue(b []byte, dst *commonpb.ArrayValue) error {
	if err := d.enter(); err != nil {
		return err
	}
	var c [16]int32
	countFields(b, &c)
	dst.Values = reserve(&d.anyPtrs, dst.Values, int(c[1]))
	for len(b) > 0 {
		num, typ, _, p, rest, err := field(b)
		if err != nil {
			return err
		}
		b = rest
		if num == 1 && typ == protowire.BytesType {
			var av *commonpb.AnyValue
			if err := d.anyValue(p, &av); err != nil {
				return err
			}
			dst.Values = append(dst.Values, av)
		}
	}
	d.leave()
	return nil
}

// keyValueList decodes a KeyValueList message into dst (values append).
func (d *decoder) keyValueList(b []byte, dst *commonpb.KeyValueList) error {
	if err := d.enter(); err != nil {
		return err
	}
	var c [16]int32
	countFields(b, &c)
	d.attrs(&dst.Values, c[1])
	for len(b) > 0 {
		num, typ, _, p, rest, err := field(b)
		if err != nil {
			return err
		}
		b = rest
		if num == 1 && typ == protowire.BytesType {
			if err := d.appendKeyValue(&dst.Values, p); err != nil {
				return err
			}
		}
	}
	d.leave()
	return nil
}

// resource decodes a Resource message into *dst, allocating it when nil.
func (d *decoder) resource(b []byte, dst **resourcepb.Resource) error {
	if err := d.enter(); err != nil {
		return err
	}
	r := *dst
	if r == nil {
		r = d.resources.new()
		*dst = r
	}
	var c [16]int32
	countFields(b, &c)
	d.attrs(&r.Attributes, c[1])
	r.EntityRefs = reserve(&d.entityPtrs, r.EntityRefs, int(c[3]))
	for len(b) > 0 {
		num, typ, v, p, rest, err := field(b)
		if err != nil {
			return err
		}
		b = rest
		switch num {
		case 1:
			if typ == protowire.BytesType {
				if err := d.appendKeyValue(&r.Attributes, p); err != nil {
					return err
				}
			}
		case 2:
			if typ == protowire.VarintType {
				r.DroppedAttributesCount = uint32(v)
			}
		case 3:
			if typ == protowire.BytesType {
				e, err := d.entityRef(p)
				if err != nil {
					return err
				}
				r.EntityRefs = append(r.EntityRefs, e)
			}
		}
	}
	d.leave()
	return nil
}

// entityRef decodes an EntityRef message.
func (d *decoder) entityRef(b []byte) (*commonpb.EntityRef, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	e := d.entityRefs.new()
	var c [16]int32
	countFields(b, &c)
	e.IdKeys = reserve(&d.strings, e.IdKeys, int(c[3]))
	e.DescriptionKeys = reserve(&d.strings, e.DescriptionKeys, int(c[4]))
	for len(b) > 0 {
		num, typ, _, p, rest, err := field(b)
		if err != nil {
			return nil, err
		}
		b = rest
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case 1, 2, 3, 4:
			s, err := d.str(p)
			if err != nil {
				return nil, err
			}
			switch num {
			case 1:
				e.SchemaUrl = s
			case 2:
				e.Type = s
			case 3:
				e.IdKeys = append(e.IdKeys, s)
			case 4:
				e.DescriptionKeys = append(e.DescriptionKeys, s)
			}
		}
	}
	d.leave()
	return e, nil
}

// scope decodes an InstrumentationScope message into *dst, allocating it
// when nil.
func (d *decoder) scope(b []byte, dst **commonpb.InstrumentationScope) error {
	if err := d.enter(); err != nil {
		return err
	}
	s := *dst
	if s == nil {
		s = d.scopes.new()
		*dst = s
	}
	var c [16]int32
	countFields(b, &c)
	d.attrs(&s.Attributes, c[3])
	for len(b) > 0 {
		num, typ, v, p, rest, err := field(b)
		if err != nil {
			return err
		}
		b = rest
		switch num {
		case 1:
			if typ == protowire.BytesType {
				if s.Name, err = d.str(p); err != nil {
					return err
				}
			}
		case 2:
			if typ == protowire.BytesType {
				if s.Version, err = d.str(p); err != nil {
					return err
				}
			}
		case 3:
			if typ == protowire.BytesType {
				if err := d.appendKeyValue(&s.Attributes, p); err != nil {
					return err
				}
			}
		case 4:
			if typ == protowire.VarintType {
				s.DroppedAttributesCount = uint32(v)
			}
		}
	}
	d.leave()
	return nil
}
