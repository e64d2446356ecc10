package schema

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
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

// ResourceService is ServiceName for a pdata resource.
func ResourceService(res pcommon.Resource) string {
	if v, ok := res.Attributes().Get(ServiceNameKey); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// ServiceColumn returns the reader of rec's service_name column: row i's
// service, "" when null. A batch without the column reads "" everywhere; a
// column that is not a string (or a dictionary of strings) is ErrInvalid.
func ServiceColumn(rec arrow.RecordBatch) (func(i int) string, error) {
	idx := rec.Schema().FieldIndices("service_name")
	if len(idx) == 0 {
		return func(int) string { return "" }, nil
	}
	col := rec.Column(idx[0])
	switch c := col.(type) {
	case *array.Dictionary:
		d, ok := c.Dictionary().(*array.String)
		if !ok {
			break
		}
		return func(i int) string {
			if c.IsNull(i) {
				return ""
			}
			return d.Value(c.GetValueIndex(i))
		}, nil
	case *array.String:
		return func(i int) string {
			if c.IsNull(i) {
				return ""
			}
			return c.Value(i)
		}, nil
	}
	return nil, fmt.Errorf("%w: service_name is %s, want utf8", ErrInvalid, col.DataType())
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

// Envelope is a resource and scope, prepared once and appended to all the
// rows they own at once (see envelopeBuilder.appendN).
type Envelope struct {
	res               pcommon.Resource
	resourceSchemaURL string
	scope             pcommon.InstrumentationScope
	scopeSchemaURL    string

	service    string
	hasService bool
	entityRefs string
	hasEntity  bool
	resDropped uint32

	scopeName, scopeVersion string
	scopeDropped            uint32

	// The attribute sets, classified on the first row that needs them.
	resAttrs, scopeAttrs attrSet
	resReady, scopeReady bool
}

// entityRefsJSON is the OTLP JSON array of refs, "" when there are none.
func entityRefsJSON(refs []*commonpb.EntityRef) (string, error) {
	if len(refs) == 0 {
		return "", nil
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, r := range refs {
		js, err := protojson.Marshal(r)
		if err != nil {
			return "", fmt.Errorf("encode entity ref: %w", err)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		var c bytes.Buffer
		if err := jsonCompact(&c, js); err != nil {
			return "", err
		}
		b.Write(c.Bytes())
	}
	b.WriteByte(']')
	return b.String(), nil
}

// setResourcePdata starts the envelopes of a resource: it computes what
// every row of the resource repeats, checking its strings to be valid
// UTF-8.
func (e *Envelope) setResourcePdata(res pcommon.Resource, schemaURL string) error {
	if err := checkUTF8("resource schema_url", schemaURL); err != nil {
		return err
	}
	e.res, e.resourceSchemaURL = res, schemaURL
	e.service, e.hasService = "", false
	e.entityRefs, e.hasEntity = "", false
	e.resDropped = res.DroppedAttributesCount()
	e.resReady = false
	if v, ok := res.Attributes().Get(ServiceNameKey); ok && v.Type() == pcommon.ValueTypeStr {
		e.service, e.hasService = v.Str(), true
	}
	// The attributes are classified (and checked) before the entity refs
	// are read, so that a string that is not UTF-8 is named.
	if err := e.resAttrs.resetMap(res.Attributes()); err != nil {
		return fmt.Errorf("resource: %w", err)
	}
	e.resReady = true
	refs, err := pdataEntityRefs(res)
	if err != nil {
		return err
	}
	js, err := entityRefsJSON(refs)
	if err != nil || js == "" {
		return err
	}
	e.entityRefs, e.hasEntity = js, true
	return nil
}

// pdataEntityRefs returns the entity references of a pdata resource, which
// pdata keeps but (at the version in use) does not expose: the resource
// alone is encoded with pdata and decoded into the generated structs.
func pdataEntityRefs(res pcommon.Resource) ([]*commonpb.EntityRef, error) {
	td := ptrace.NewTraces()
	res.CopyTo(td.ResourceSpans().AppendEmpty().Resource())
	var m ptrace.ProtoMarshaler
	b, err := m.MarshalTraces(td)
	if err != nil {
		return nil, fmt.Errorf("encode resource: %w", err)
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		return nil, fmt.Errorf("%w: resource: %v", ErrInvalid, err)
	}
	if len(req.ResourceSpans) == 0 {
		return nil, nil
	}
	return req.ResourceSpans[0].GetResource().GetEntityRefs(), nil
}

// setScopePdata moves to a scope of the current resource, checking its
// strings to be valid UTF-8 (the attributes when they are classified).
func (e *Envelope) setScopePdata(scope pcommon.InstrumentationScope, schemaURL string) error {
	if err := checkUTF8("scope schema_url", schemaURL); err != nil {
		return err
	}
	if err := checkUTF8("scope name", scope.Name()); err != nil {
		return err
	}
	if err := checkUTF8("scope version", scope.Version()); err != nil {
		return err
	}
	e.scope, e.scopeSchemaURL = scope, schemaURL
	e.scopeName, e.scopeVersion = scope.Name(), scope.Version()
	e.scopeDropped = scope.DroppedAttributesCount()
	e.scopeReady = false
	return nil
}

// classify prepares the attribute sets not prepared yet.
func (e *Envelope) classify() error {
	if !e.resReady {
		if err := e.resAttrs.resetMap(e.res.Attributes()); err != nil {
			return fmt.Errorf("resource: %w", err)
		}
		e.resReady = true
	}
	if !e.scopeReady {
		if err := e.scopeAttrs.resetMap(e.scope.Attributes()); err != nil {
			return fmt.Errorf("scope: %w", err)
		}
		e.scopeReady = true
	}
	return nil
}

// clear drops every reference into the request, keeping the memory.
func (e *Envelope) clear() {
	e.resAttrs.clear()
	e.scopeAttrs.clear()
	*e = Envelope{resAttrs: e.resAttrs, scopeAttrs: e.scopeAttrs}
}

// envelopeBuilder appends the envelope columns, which are the first
// numEnvelopeFields builders of a record builder.
type envelopeBuilder struct {
	service        *array.BinaryDictionaryBuilder
	resAttrs       *attrBuilder
	resDropped     *array.Uint32Builder
	resEntity      *array.StringBuilder
	resSchemaURL   *array.BinaryDictionaryBuilder
	scopeName      *array.BinaryDictionaryBuilder
	scopeVersion   *array.BinaryDictionaryBuilder
	scopeAttrs     *attrBuilder
	scopeDropped   *array.Uint32Builder
	scopeSchemaURL *array.BinaryDictionaryBuilder

	cur Envelope // the envelope being appended, kept for its memory
	idx []int    // scratch for appendDictN, also for the signal's own columns
}

func newEnvelopeBuilder(rb *batchBuilder) envelopeBuilder {
	bs := rb.Fields()
	i := 0
	next := func() any { b := bs[i]; i++; return b }
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

// envCount sums the envelope attribute sets of a request, which every row
// repeats.
type envCount struct {
	res, scope attrCount
}

// addPdata counts a pdata envelope of rows rows.
func (c *envCount) addPdata(res pcommon.Resource, scope pcommon.InstrumentationScope, rows int) {
	c.res.addMap(res.Attributes(), rows)
	c.scope.addMap(scope.Attributes(), rows)
}

// reserve makes room for the envelope attribute sets counted in c; the
// other envelope columns are reserved with the record builder.
func (b *envelopeBuilder) reserve(c *envCount) {
	b.resAttrs.reserve(&c.res)
	b.scopeAttrs.reserve(&c.scope)
}

// appendN adds the envelope columns of n rows: the rows of a resource and
// scope are consecutive, so each column takes n copies of one value at once.
func (b *envelopeBuilder) appendN(e *Envelope, n int) error {
	if n <= 0 {
		return nil
	}
	if err := e.classify(); err != nil {
		return err
	}
	if e.hasService {
		if err := appendDictN(b.service, e.service, n, &b.idx); err != nil {
			return err
		}
	} else {
		b.service.AppendNulls(n)
	}
	b.resAttrs.appendSet(&e.resAttrs, n)
	appendU32N(b.resDropped, e.resDropped, n)
	if e.hasEntity {
		for range n {
			b.resEntity.Append(e.entityRefs)
		}
	} else {
		b.resEntity.AppendNulls(n)
	}
	if err := appendDictN(b.resSchemaURL, e.resourceSchemaURL, n, &b.idx); err != nil {
		return err
	}
	if err := appendDictN(b.scopeName, e.scopeName, n, &b.idx); err != nil {
		return err
	}
	if err := appendDictN(b.scopeVersion, e.scopeVersion, n, &b.idx); err != nil {
		return err
	}
	b.scopeAttrs.appendSet(&e.scopeAttrs, n)
	appendU32N(b.scopeDropped, e.scopeDropped, n)
	return appendDictN(b.scopeSchemaURL, e.scopeSchemaURL, n, &b.idx)
}

// flush completes the attribute columns; see attrBuilder.flush.
func (b *envelopeBuilder) flush() {
	b.resAttrs.flush()
	b.scopeAttrs.flush()
	b.cur.clear()
	b.idx = keepScratch(b.idx)
}

// appendU32N appends v n times.
func appendU32N(b *array.Uint32Builder, v uint32, n int) {
	b.Reserve(n)
	for range n {
		b.UnsafeAppend(v)
	}
}

// appendDictN appends s n times: looked up in the dictionary once, then
// appended as its index. idx is scratch memory.
func appendDictN(b *array.BinaryDictionaryBuilder, s string, n int, idx *[]int) error {
	if n <= 0 {
		return nil
	}
	if err := appendDict(b, s); err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	i := b.GetValueIndex(b.Len() - 1)
	rep := (*idx)[:0]
	for range n - 1 {
		rep = append(rep, i)
	}
	*idx = rep
	b.AppendIndices(rep, nil)
	return nil
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
// entry, and rows of equal scopes within it share one scope entry. Rows are
// keyed on their raw column bytes, so the protos of a resource and scope
// are built once per group, not once per row.
type grouper struct {
	env      *envelopeReader
	resIndex map[string]int
	scopeIdx []map[string]int
	rk, sk   []byte // keys of the current row
	lastRK   []byte
	lastSK   []byte
	lastRI   int
	lastSI   int
}

func newGrouper() *grouper {
	return &grouper{resIndex: map[string]int{}}
}

// rowGroup places one row: ri and si index its resource group and its scope
// group within it; Resource and Scope are set only when the group is new.
type rowGroup struct {
	ri, si            int
	resource          *resourcepb.Resource
	resourceSchemaURL string
	scope             *commonpb.InstrumentationScope
	scopeSchemaURL    string
}

// locate places row i.
func (g *grouper) locate(i int) (rowGroup, error) {
	g.rk = g.env.resourceKey(g.rk[:0], i)
	g.sk = g.env.scopeKey(g.sk[:0], i)
	if g.lastRK != nil && bytes.Equal(g.rk, g.lastRK) && bytes.Equal(g.sk, g.lastSK) {
		return rowGroup{ri: g.lastRI, si: g.lastSI}, nil
	}
	var rg rowGroup
	var err error
	ri, ok := g.resIndex[string(g.rk)]
	if !ok {
		if rg.resource, rg.resourceSchemaURL, err = g.env.resource(i); err != nil {
			return rg, err
		}
		ri = len(g.scopeIdx)
		g.resIndex[string(g.rk)] = ri
		g.scopeIdx = append(g.scopeIdx, map[string]int{})
	}
	si, ok := g.scopeIdx[ri][string(g.sk)]
	if !ok {
		if rg.scope, rg.scopeSchemaURL, err = g.env.scope(i); err != nil {
			return rg, err
		}
		si = len(g.scopeIdx[ri])
		g.scopeIdx[ri][string(g.sk)] = si
	}
	g.lastRK = append(g.lastRK[:0], g.rk...)
	g.lastSK = append(g.lastSK[:0], g.sk...)
	g.lastRI, g.lastSI = ri, si
	rg.ri, rg.si = ri, si
	return rg, nil
}

// walkRows reads recs row by row, in order, placing each row in its
// resource and scope group. For every batch, open prepares the signal's
// column readers and returns the function that takes one row.
func walkRows(recs []arrow.RecordBatch, open func(cols colSet) (func(i int, g rowGroup) error, error)) error {
	g := newGrouper()
	for _, rec := range recs {
		cols := recordCols(rec)
		env, err := newEnvelopeReader(cols)
		if err != nil {
			return err
		}
		row, err := open(cols)
		if err != nil {
			return err
		}
		g.env = env
		for i := range int(rec.NumRows()) {
			rg, err := g.locate(i)
			if err == nil {
				err = row(i, rg)
			}
			if err != nil {
				return fmt.Errorf("row %d: %w", i, err)
			}
		}
	}
	return nil
}

// resourceKey appends the raw bytes of row i's resource columns to b.
func (r *envelopeReader) resourceKey(b []byte, i int) []byte {
	b = r.resAttrs.appendKey(b, i)
	b = binary.AppendUvarint(b, uint64(u32At(r.resDropped, i)))
	b = appendStrKey(b, r.resEntity, i)
	return appendStrKey(b, r.resSchemaURL, i)
}

// scopeKey appends the raw bytes of row i's scope columns to b.
func (r *envelopeReader) scopeKey(b []byte, i int) []byte {
	b = appendStrKey(b, r.scopeName, i)
	b = appendStrKey(b, r.scopeVersion, i)
	b = r.scopeAttrs.appendKey(b, i)
	b = binary.AppendUvarint(b, uint64(u32At(r.scopeDropped, i)))
	return appendStrKey(b, r.scopeSchemaRL, i)
}

// appendStrKey appends a length-prefixed string, or a null marker.
func appendStrKey(b []byte, c strCol, i int) []byte {
	v, ok := c.value(i)
	if !ok {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// appendKey appends the raw bytes of row i's attribute set to b: every
// entry's kind, key and value, length-prefixed, in column order.
func (a attrReader) appendKey(b []byte, i int) []byte {
	for k := range numAttrKinds {
		m := a.maps[k]
		if m == nil || m.IsNull(i) {
			b = append(b, 0)
			continue
		}
		start, end := m.ValueOffsets(i)
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(end-start))
		keys, _ := m.Keys().(*array.String)
		items := m.Items()
		for j := int(start); j < int(end); j++ {
			if keys != nil {
				key := keys.Value(j)
				b = binary.AppendUvarint(b, uint64(len(key)))
				b = append(b, key...)
			}
			if items.IsNull(j) {
				b = append(b, 0)
				continue
			}
			b = append(b, 1)
			switch it := items.(type) {
			case *array.String:
				v := it.Value(j)
				b = binary.AppendUvarint(b, uint64(len(v)))
				b = append(b, v...)
			case *array.Binary:
				v := it.Value(j)
				b = binary.AppendUvarint(b, uint64(len(v)))
				b = append(b, v...)
			case *array.Int64:
				b = binary.LittleEndian.AppendUint64(b, uint64(it.Value(j)))
			case *array.Float64:
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(it.Value(j)))
			case *array.Boolean:
				if it.Value(j) {
					b = append(b, 1)
				} else {
					b = append(b, 0)
				}
			}
		}
	}
	return b
}

// appendDict appends s to a dictionary builder without copying it first:
// BinaryDictionaryBuilder.AppendString converts s to a new []byte on the
// heap for every row, while the memo table only hashes, compares and (for a
// new entry) copies the bytes, so a read-only view of s is enough.
func appendDict(b *array.BinaryDictionaryBuilder, s string) error {
	if s == "" {
		// A nil slice would be a null; "" converts without allocating.
		return b.AppendString("")
	}
	return b.Append(unsafe.Slice(unsafe.StringData(s), len(s)))
}
