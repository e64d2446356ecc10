package schema

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// ErrInvalid is wrapped by every conversion error caused by the data itself:
// an id of the wrong length, a column of the wrong type, bad value JSON. Such
// input is rejected, never retried.
var ErrInvalid = errors.New("schema: invalid data")

// Arrow types shared by the schemas.
var (
	// DictString is the type of repetitive string columns.
	DictString arrow.DataType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	// Timestamp is the type of every time column: timestamp[ns, UTC].
	Timestamp arrow.DataType = arrow.FixedWidthTypes.Timestamp_ns
	// TraceID is the type of trace id columns.
	TraceID arrow.DataType = &arrow.FixedSizeBinaryType{ByteWidth: 16}
	// SpanID is the type of span id columns.
	SpanID arrow.DataType = &arrow.FixedSizeBinaryType{ByteWidth: 8}
)

// ServiceNameKey is the resource attribute that names the service.
const ServiceNameKey = "service.name"

// ServiceName returns the string value of the service.name resource
// attribute, or "" if there is none.
func ServiceName(res *resourcepb.Resource) string {
	for _, kv := range res.GetAttributes() {
		if kv.GetKey() == ServiceNameKey {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

// Schema returns the Arrow schema of sig, or nil for an unknown signal.
func Schema(sig Signal) *arrow.Schema {
	switch sig {
	case Traces:
		return tracesSchema
	case Metrics:
		return metricsSchema
	case Logs:
		return logsSchema
	}
	return nil
}

// envelopeFields are the resource and scope columns every signal starts with.
func envelopeFields() []arrow.Field {
	fs := []arrow.Field{{Name: "service_name", Type: DictString, Nullable: true}}
	fs = append(fs, attrFields("resource_attributes")...)
	fs = append(fs,
		arrow.Field{Name: "resource_dropped_attributes_count", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
		arrow.Field{Name: "resource_entity_refs", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "resource_schema_url", Type: DictString, Nullable: true},
		arrow.Field{Name: "scope_name", Type: DictString, Nullable: true},
		arrow.Field{Name: "scope_version", Type: DictString, Nullable: true},
	)
	fs = append(fs, attrFields("scope_attributes")...)
	fs = append(fs,
		arrow.Field{Name: "scope_dropped_attributes_count", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
		arrow.Field{Name: "scope_schema_url", Type: DictString, Nullable: true},
	)
	return fs
}

// numEnvelopeFields is len(envelopeFields()): the index of the first
// signal-specific column.
var numEnvelopeFields = len(envelopeFields())

// Envelope is a resource and scope, prepared once and appended to every row
// they own.
type Envelope struct {
	Resource          *resourcepb.Resource
	ResourceSchemaURL string
	Scope             *commonpb.InstrumentationScope
	ScopeSchemaURL    string

	service    string
	hasService bool
	entityRefs string
	hasEntity  bool
}

// prepare computes what every row of this envelope repeats.
func (e *Envelope) prepare() error {
	for _, kv := range e.Resource.GetAttributes() {
		if kv.GetKey() == ServiceNameKey {
			if sv, ok := kv.GetValue().GetValue().(*commonpb.AnyValue_StringValue); ok {
				e.service, e.hasService = sv.StringValue, true
			}
			break
		}
	}
	refs := e.Resource.GetEntityRefs()
	if len(refs) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, r := range refs {
		js, err := protojson.Marshal(r)
		if err != nil {
			return fmt.Errorf("encode entity ref: %w", err)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		var c bytes.Buffer
		if err := jsonCompact(&c, js); err != nil {
			return err
		}
		b.Write(c.Bytes())
	}
	b.WriteByte(']')
	e.entityRefs, e.hasEntity = b.String(), true
	return nil
}

// envelopeBuilder appends the envelope columns, which are the first
// numEnvelopeFields builders of a record builder.
type envelopeBuilder struct {
	service        *array.BinaryDictionaryBuilder
	resAttrs       attrBuilder
	resDropped     *array.Uint32Builder
	resEntity      *array.StringBuilder
	resSchemaURL   *array.BinaryDictionaryBuilder
	scopeName      *array.BinaryDictionaryBuilder
	scopeVersion   *array.BinaryDictionaryBuilder
	scopeAttrs     attrBuilder
	scopeDropped   *array.Uint32Builder
	scopeSchemaURL *array.BinaryDictionaryBuilder
}

func newEnvelopeBuilder(rb *array.RecordBuilder) envelopeBuilder {
	bs := rb.Fields()
	i := 0
	next := func() array.Builder { b := bs[i]; i++; return b }
	var e envelopeBuilder
	e.service = next().(*array.BinaryDictionaryBuilder)
	e.resAttrs = newAttrBuilder(bs, i)
	i += numAttrKinds
	e.resDropped = next().(*array.Uint32Builder)
	e.resEntity = next().(*array.StringBuilder)
	e.resSchemaURL = next().(*array.BinaryDictionaryBuilder)
	e.scopeName = next().(*array.BinaryDictionaryBuilder)
	e.scopeVersion = next().(*array.BinaryDictionaryBuilder)
	e.scopeAttrs = newAttrBuilder(bs, i)
	i += numAttrKinds
	e.scopeDropped = next().(*array.Uint32Builder)
	e.scopeSchemaURL = next().(*array.BinaryDictionaryBuilder)
	return e
}

// append adds the envelope columns of one row.
func (b envelopeBuilder) append(e *Envelope) error {
	if e.hasService {
		if err := b.service.AppendString(e.service); err != nil {
			return err
		}
	} else {
		b.service.AppendNull()
	}
	if err := b.resAttrs.append(e.Resource.GetAttributes()); err != nil {
		return fmt.Errorf("resource: %w", err)
	}
	b.resDropped.Append(e.Resource.GetDroppedAttributesCount())
	if e.hasEntity {
		b.resEntity.Append(e.entityRefs)
	} else {
		b.resEntity.AppendNull()
	}
	if err := b.resSchemaURL.AppendString(e.ResourceSchemaURL); err != nil {
		return err
	}
	if err := b.scopeName.AppendString(e.Scope.GetName()); err != nil {
		return err
	}
	if err := b.scopeVersion.AppendString(e.Scope.GetVersion()); err != nil {
		return err
	}
	if err := b.scopeAttrs.append(e.Scope.GetAttributes()); err != nil {
		return fmt.Errorf("scope: %w", err)
	}
	b.scopeDropped.Append(e.Scope.GetDroppedAttributesCount())
	return b.scopeSchemaURL.AppendString(e.ScopeSchemaURL)
}

// colSet finds columns by name; a missing column is nil and reads as null.
type colSet struct {
	names []string
	cols  []arrow.Array
}

func recordCols(rec arrow.RecordBatch) colSet {
	c := colSet{cols: rec.Columns()}
	for _, f := range rec.Schema().Fields() {
		c.names = append(c.names, f.Name)
	}
	return c
}

func structCols(s *array.Struct) colSet {
	st := s.DataType().(*arrow.StructType)
	c := colSet{}
	for i, f := range st.Fields() {
		c.names = append(c.names, f.Name)
		c.cols = append(c.cols, s.Field(i))
	}
	return c
}

func (c colSet) get(name string) arrow.Array {
	for i, n := range c.names {
		if n == name {
			return c.cols[i]
		}
	}
	return nil
}

// strCol reads a utf8 column, dictionary-encoded or not.
type strCol struct {
	plain *array.String
	dict  *array.Dictionary
	dvals *array.String
	large *array.LargeString
}

func newStrCol(cols colSet, name string) (strCol, error) {
	a := cols.get(name)
	var s strCol
	switch c := a.(type) {
	case nil:
	case *array.String:
		s.plain = c
	case *array.LargeString:
		s.large = c
	case *array.Dictionary:
		v, ok := c.Dictionary().(*array.String)
		if !ok {
			return s, fmt.Errorf("%w: column %s is %s, want utf8", ErrInvalid, name, a.DataType())
		}
		s.dict, s.dvals = c, v
	default:
		return s, fmt.Errorf("%w: column %s is %s, want utf8", ErrInvalid, name, a.DataType())
	}
	return s, nil
}

// value returns row i, and false when it is null or the column is missing.
func (s strCol) value(i int) (string, bool) {
	switch {
	case s.plain != nil:
		if s.plain.IsNull(i) {
			return "", false
		}
		return s.plain.Value(i), true
	case s.dict != nil:
		if s.dict.IsNull(i) {
			return "", false
		}
		return s.dvals.Value(s.dict.GetValueIndex(i)), true
	case s.large != nil:
		if s.large.IsNull(i) {
			return "", false
		}
		return s.large.Value(i), true
	}
	return "", false
}

func (s strCol) str(i int) string { v, _ := s.value(i); return v }

// typedCol returns the named column as T, or the zero T when missing.
func typedCol[T arrow.Array](cols colSet, name string) (T, error) {
	var zero T
	a := cols.get(name)
	if a == nil {
		return zero, nil
	}
	t, ok := a.(T)
	if !ok {
		return zero, fmt.Errorf("%w: column %s has type %s", ErrInvalid, name, a.DataType())
	}
	return t, nil
}

// The readers below treat a missing column (nil) and a null as the zero
// value, which is what a compatible subset of a schema relies on.

func u32At(a *array.Uint32, i int) uint32 {
	if a == nil || a.IsNull(i) {
		return 0
	}
	return a.Value(i)
}

func i32At(a *array.Int32, i int) int32 {
	if a == nil || a.IsNull(i) {
		return 0
	}
	return a.Value(i)
}

func u64At(a *array.Uint64, i int) uint64 {
	if a == nil || a.IsNull(i) {
		return 0
	}
	return a.Value(i)
}

// timeAt returns a time column's row as OTLP nanoseconds; null is 0.
func timeAt(a *array.Timestamp, i int) uint64 {
	if a == nil || a.IsNull(i) {
		return 0
	}
	return uint64(a.Value(i))
}

// idAt returns a copy of an id column's row; null is an empty id.
func idAt(a *array.FixedSizeBinary, i int) []byte {
	if a == nil || a.IsNull(i) {
		return nil
	}
	return bytes.Clone(a.Value(i))
}

// appendTime stores OTLP nanoseconds; 0 (unset) is null. Values past 2262
// wrap to negative int64 and come back unchanged.
func appendTime(b *array.TimestampBuilder, ns uint64) {
	if ns == 0 {
		b.AppendNull()
		return
	}
	b.Append(arrow.Timestamp(int64(ns)))
}

// checkID validates an id's length; empty ids are allowed (stored as null).
func checkID(id []byte, n int, what string) error {
	if len(id) != 0 && len(id) != n {
		return fmt.Errorf("%w: %s has %d bytes, want %d", ErrInvalid, what, len(id), n)
	}
	return nil
}

// appendID stores an id checked by checkID; empty is null.
func appendID(b *array.FixedSizeBinaryBuilder, id []byte) {
	if len(id) == 0 {
		b.AppendNull()
		return
	}
	b.Append(id)
}

// envelopeReader reads resources and scopes back and groups rows by them.
type envelopeReader struct {
	resAttrs      attrReader
	resDropped    *array.Uint32
	resEntity     strCol
	resSchemaURL  strCol
	scopeName     strCol
	scopeVersion  strCol
	scopeAttrs    attrReader
	scopeDropped  *array.Uint32
	scopeSchemaRL strCol
}

func newEnvelopeReader(cols colSet) (*envelopeReader, error) {
	var r envelopeReader
	var err error
	errs := []error{}
	add := func(e error) {
		if e != nil {
			errs = append(errs, e)
		}
	}
	r.resAttrs, err = newAttrReader(cols, "resource_attributes")
	add(err)
	r.resDropped, err = typedCol[*array.Uint32](cols, "resource_dropped_attributes_count")
	add(err)
	r.resEntity, err = newStrCol(cols, "resource_entity_refs")
	add(err)
	r.resSchemaURL, err = newStrCol(cols, "resource_schema_url")
	add(err)
	r.scopeName, err = newStrCol(cols, "scope_name")
	add(err)
	r.scopeVersion, err = newStrCol(cols, "scope_version")
	add(err)
	r.scopeAttrs, err = newAttrReader(cols, "scope_attributes")
	add(err)
	r.scopeDropped, err = typedCol[*array.Uint32](cols, "scope_dropped_attributes_count")
	add(err)
	r.scopeSchemaRL, err = newStrCol(cols, "scope_schema_url")
	add(err)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &r, nil
}

func (r *envelopeReader) resource(i int) (*resourcepb.Resource, string, error) {
	attrs, err := r.resAttrs.read(i)
	if err != nil {
		return nil, "", fmt.Errorf("resource: %w", err)
	}
	res := &resourcepb.Resource{Attributes: attrs, DroppedAttributesCount: u32At(r.resDropped, i)}
	if js, ok := r.resEntity.value(i); ok {
		refs, err := entityRefsFromJSON(js)
		if err != nil {
			return nil, "", err
		}
		res.EntityRefs = refs
	}
	return res, r.resSchemaURL.str(i), nil
}

func (r *envelopeReader) scope(i int) (*commonpb.InstrumentationScope, string, error) {
	attrs, err := r.scopeAttrs.read(i)
	if err != nil {
		return nil, "", fmt.Errorf("scope: %w", err)
	}
	return &commonpb.InstrumentationScope{
		Name:                   r.scopeName.str(i),
		Version:                r.scopeVersion.str(i),
		Attributes:             attrs,
		DroppedAttributesCount: u32At(r.scopeDropped, i),
	}, r.scopeSchemaRL.str(i), nil
}

func entityRefsFromJSON(js string) ([]*commonpb.EntityRef, error) {
	var wrapper resourcepb.Resource
	if err := protojson.Unmarshal([]byte(`{"entityRefs":`+js+`}`), &wrapper); err != nil {
		return nil, fmt.Errorf("%w: resource_entity_refs %q: %v", ErrInvalid, truncate(js, 64), err)
	}
	return wrapper.EntityRefs, nil
}

// grouper regroups rows by resource and scope, in order of first
// appearance: rows of equal resources (and schema URLs) share one resource
// entry, and rows of equal scopes within it share one scope entry.
type grouper struct {
	env       *envelopeReader
	resIndex  map[string]int
	scopeIdx  []map[string]int
	lastRes   string
	lastScope string
	lastRI    int
	lastSI    int
}

func newGrouper() *grouper {
	return &grouper{resIndex: map[string]int{}}
}

var deterministic = proto.MarshalOptions{Deterministic: true}

// locate returns, for row i, the index of its resource group and of its
// scope group within it, and the resource and scope when a group is new
// (nil otherwise).
func (g *grouper) locate(i int) (ri, si int, newRes *resourcepb.Resource, resURL string, newScope *commonpb.InstrumentationScope, scopeURL string, err error) {
	res, rurl, err := g.env.resource(i)
	if err != nil {
		return 0, 0, nil, "", nil, "", err
	}
	scope, surl, err := g.env.scope(i)
	if err != nil {
		return 0, 0, nil, "", nil, "", err
	}
	rb, err := deterministic.Marshal(res)
	if err != nil {
		return 0, 0, nil, "", nil, "", fmt.Errorf("resource key: %w", err)
	}
	sb, err := deterministic.Marshal(scope)
	if err != nil {
		return 0, 0, nil, "", nil, "", fmt.Errorf("scope key: %w", err)
	}
	rk := string(rb) + "\x00" + rurl
	sk := string(sb) + "\x00" + surl
	if rk == g.lastRes && sk == g.lastScope {
		return g.lastRI, g.lastSI, nil, "", nil, "", nil
	}
	ri, ok := g.resIndex[rk]
	if !ok {
		ri = len(g.scopeIdx)
		g.resIndex[rk] = ri
		g.scopeIdx = append(g.scopeIdx, map[string]int{})
		newRes, resURL = res, rurl
	}
	si, ok = g.scopeIdx[ri][sk]
	if !ok {
		si = len(g.scopeIdx[ri])
		g.scopeIdx[ri][sk] = si
		newScope, scopeURL = scope, surl
	}
	g.lastRes, g.lastScope, g.lastRI, g.lastSI = rk, sk, ri, si
	return ri, si, newRes, resURL, newScope, scopeURL, nil
}
