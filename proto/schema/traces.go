package schema

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

var tracesSchema = func() *arrow.Schema {
	fs := envelopeFields()
	fs = append(fs,
		arrow.Field{Name: "trace_id", Type: TraceID, Nullable: true},
		arrow.Field{Name: "span_id", Type: SpanID, Nullable: true},
		arrow.Field{Name: "trace_state", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "parent_span_id", Type: SpanID, Nullable: true},
		arrow.Field{Name: "flags", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
		arrow.Field{Name: "name", Type: DictString, Nullable: true},
		arrow.Field{Name: "kind", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		arrow.Field{Name: "start_time", Type: Timestamp, Nullable: true},
		arrow.Field{Name: "end_time", Type: Timestamp, Nullable: true},
	)
	fs = append(fs, attrFields("attributes")...)
	eventFields := []arrow.Field{
		{Name: "time", Type: Timestamp, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}
	eventFields = append(eventFields, attrFields("attributes")...)
	eventFields = append(eventFields, arrow.Field{Name: "dropped_attributes_count", Type: arrow.PrimitiveTypes.Uint32, Nullable: true})
	linkFields := []arrow.Field{
		{Name: "trace_id", Type: TraceID, Nullable: true},
		{Name: "span_id", Type: SpanID, Nullable: true},
		{Name: "trace_state", Type: arrow.BinaryTypes.String, Nullable: true},
	}
	linkFields = append(linkFields, attrFields("attributes")...)
	linkFields = append(linkFields,
		arrow.Field{Name: "dropped_attributes_count", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
		arrow.Field{Name: "flags", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
	)
	fs = append(fs,
		arrow.Field{Name: "dropped_attributes_count", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
		arrow.Field{Name: "events", Type: arrow.ListOf(arrow.StructOf(eventFields...)), Nullable: true},
		arrow.Field{Name: "dropped_events_count", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
		arrow.Field{Name: "links", Type: arrow.ListOf(arrow.StructOf(linkFields...)), Nullable: true},
		arrow.Field{Name: "dropped_links_count", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
		arrow.Field{Name: "status_code", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		arrow.Field{Name: "status_message", Type: arrow.BinaryTypes.String, Nullable: true},
	)
	return arrow.NewSchema(fs, nil)
}()

type spanBuilder struct {
	rb           *batchBuilder
	mem          memory.Allocator
	env          envelopeBuilder
	traceID      *array.FixedSizeBinaryBuilder
	spanID       *array.FixedSizeBinaryBuilder
	traceState   *array.StringBuilder
	parentSpanID *array.FixedSizeBinaryBuilder
	flags        *array.Uint32Builder
	name         *array.BinaryDictionaryBuilder
	kind         *array.Int32Builder
	start, end   *array.TimestampBuilder
	attrs        *attrBuilder
	dropped      *array.Uint32Builder

	events        *listCol
	evStruct      *structCol
	evTime        *array.TimestampBuilder
	evName        *array.StringBuilder
	evAttrs       *attrBuilder
	evDropped     *array.Uint32Builder
	droppedEvents *array.Uint32Builder

	links        *listCol
	lkStruct     *structCol
	lkTraceID    *array.FixedSizeBinaryBuilder
	lkSpanID     *array.FixedSizeBinaryBuilder
	lkTraceState *array.StringBuilder
	lkAttrs      *attrBuilder
	lkDropped    *array.Uint32Builder
	lkFlags      *array.Uint32Builder
	droppedLinks *array.Uint32Builder

	statusCode    *array.Int32Builder
	statusMessage *array.StringBuilder
}

func newSpanBuilder(mem memory.Allocator) *spanBuilder {
	rb := newBatchBuilder(mem, tracesSchema)
	bs := rb.Fields()
	i := numEnvelopeFields
	next := func() any { b := bs[i]; i++; return b }
	b := &spanBuilder{rb: rb, mem: mem, env: newEnvelopeBuilder(rb)}
	b.traceID = next().(*array.FixedSizeBinaryBuilder)
	b.spanID = next().(*array.FixedSizeBinaryBuilder)
	b.traceState = next().(*array.StringBuilder)
	b.parentSpanID = next().(*array.FixedSizeBinaryBuilder)
	b.flags = next().(*array.Uint32Builder)
	b.name = next().(*array.BinaryDictionaryBuilder)
	b.kind = next().(*array.Int32Builder)
	b.start = next().(*array.TimestampBuilder)
	b.end = next().(*array.TimestampBuilder)
	b.attrs = newAttrBuilder(bs, i)
	i += numAttrKinds
	b.dropped = next().(*array.Uint32Builder)

	b.events = next().(*listCol)
	b.evStruct = b.events.ValueBuilder().(*structCol)
	evb := b.evStruct.Fields()
	b.evTime = evb[0].(*array.TimestampBuilder)
	b.evName = evb[1].(*array.StringBuilder)
	b.evAttrs = newAttrBuilder(evb, 2)
	b.evDropped = evb[2+numAttrKinds].(*array.Uint32Builder)
	b.droppedEvents = next().(*array.Uint32Builder)

	b.links = next().(*listCol)
	b.lkStruct = b.links.ValueBuilder().(*structCol)
	lkb := b.lkStruct.Fields()
	b.lkTraceID = lkb[0].(*array.FixedSizeBinaryBuilder)
	b.lkSpanID = lkb[1].(*array.FixedSizeBinaryBuilder)
	b.lkTraceState = lkb[2].(*array.StringBuilder)
	b.lkAttrs = newAttrBuilder(lkb, 3)
	b.lkDropped = lkb[3+numAttrKinds].(*array.Uint32Builder)
	b.lkFlags = lkb[4+numAttrKinds].(*array.Uint32Builder)
	b.droppedLinks = next().(*array.Uint32Builder)

	b.statusCode = next().(*array.Int32Builder)
	b.statusMessage = next().(*array.StringBuilder)
	return b
}

func (b *spanBuilder) record() *batchBuilder       { return b.rb }
func (b *spanBuilder) allocator() memory.Allocator { return b.mem }

func (b *spanBuilder) flush() {
	b.env.flush()
	b.attrs.flush()
	b.evAttrs.flush()
	b.lkAttrs.flush()
}

var spanBuilders = builderPool[*spanBuilder]{newFunc: newSpanBuilder}

// spanCount is what a request needs in the builders.
type spanCount struct {
	rows                    int
	env                     envCount
	attrs, evAttrs, lkAttrs attrCount
}

// reserve makes room for the request counted in c.
func (b *spanBuilder) reserve(c *spanCount) {
	b.rb.Reserve(c.rows)
	b.env.reserve(&c.env)
	b.attrs.reserve(&c.attrs)
	b.evStruct.Reserve(c.evAttrs.rows)
	b.evAttrs.reserve(&c.evAttrs)
	b.lkStruct.Reserve(c.lkAttrs.rows)
	b.lkAttrs.reserve(&c.lkAttrs)
}

// add counts a span.
func (c *spanCount) add(s ptrace.Span) {
	c.rows++
	c.attrs.addMap(s.Attributes(), 1)
	evs, lks := s.Events(), s.Links()
	for i := range evs.Len() {
		c.evAttrs.addMap(evs.At(i).Attributes(), 1)
	}
	for i := range lks.Len() {
		c.lkAttrs.addMap(lks.At(i).Attributes(), 1)
	}
}

// checkSpanStrings checks the strings of a span that are not attributes to
// be valid UTF-8.
func checkSpanStrings(s ptrace.Span) error {
	if err := checkUTF8("name", s.Name()); err != nil {
		return err
	}
	if err := checkUTF8("trace_state", s.TraceState().AsRaw()); err != nil {
		return err
	}
	if err := checkUTF8("status message", s.Status().Message()); err != nil {
		return err
	}
	evs, lks := s.Events(), s.Links()
	for i := range evs.Len() {
		if err := checkUTF8("event name", evs.At(i).Name()); err != nil {
			return err
		}
	}
	for i := range lks.Len() {
		if err := checkUTF8("link trace_state", lks.At(i).TraceState().AsRaw()); err != nil {
			return err
		}
	}
	return nil
}

// append adds the span columns of one span; the envelope columns
// are appended for all the spans of a scope at once.
func (b *spanBuilder) append(s ptrace.Span) error {
	tid, sid, pid := s.TraceID(), s.SpanID(), s.ParentSpanID()
	appendPdataID(b.traceID, tid.IsEmpty(), tid[:])
	appendPdataID(b.spanID, sid.IsEmpty(), sid[:])
	b.traceState.Append(s.TraceState().AsRaw())
	appendPdataID(b.parentSpanID, pid.IsEmpty(), pid[:])
	b.flags.Append(s.Flags())
	if err := appendDict(b.name, s.Name()); err != nil {
		return err
	}
	b.kind.Append(int32(s.Kind()))
	appendTime(b.start, uint64(s.StartTimestamp()))
	appendTime(b.end, uint64(s.EndTimestamp()))
	if err := b.attrs.appendMap(s.Attributes()); err != nil {
		return err
	}
	b.dropped.Append(s.DroppedAttributesCount())

	b.events.Append(true)
	evs := s.Events()
	for i := range evs.Len() {
		e := evs.At(i)
		b.evStruct.Append(true)
		appendTime(b.evTime, uint64(e.Timestamp()))
		b.evName.Append(e.Name())
		if err := b.evAttrs.appendMap(e.Attributes()); err != nil {
			return fmt.Errorf("event %q: %w", e.Name(), err)
		}
		b.evDropped.Append(e.DroppedAttributesCount())
	}
	b.droppedEvents.Append(s.DroppedEventsCount())

	b.links.Append(true)
	lks := s.Links()
	for i := range lks.Len() {
		l := lks.At(i)
		b.lkStruct.Append(true)
		ltid, lsid := l.TraceID(), l.SpanID()
		appendPdataID(b.lkTraceID, ltid.IsEmpty(), ltid[:])
		appendPdataID(b.lkSpanID, lsid.IsEmpty(), lsid[:])
		b.lkTraceState.Append(l.TraceState().AsRaw())
		if err := b.lkAttrs.appendMap(l.Attributes()); err != nil {
			return fmt.Errorf("link: %w", err)
		}
		b.lkDropped.Append(l.DroppedAttributesCount())
		b.lkFlags.Append(l.Flags())
	}
	b.droppedLinks.Append(s.DroppedLinksCount())

	// pdata cannot tell an absent status from an empty one: both are null.
	if st := s.Status(); st.Code() == ptrace.StatusCodeUnset && st.Message() == "" {
		b.statusCode.AppendNull()
		b.statusMessage.AppendNull()
	} else {
		b.statusCode.Append(int32(st.Code()))
		b.statusMessage.Append(st.Message())
	}
	return nil
}

// appendPdataID appends a pdata trace or span id; pdata keeps an absent id
// as zeros, which the schema stores as null.
func appendPdataID(b *array.FixedSizeBinaryBuilder, empty bool, id []byte) {
	if empty {
		b.AppendNull()
		return
	}
	b.Append(id)
}

// ResourceSpansToArrow converts pdata spans to one record batch in the
// traces schema, one row per span. It fails, wrapping ErrInvalid, when a
// string is not valid UTF-8; nothing is converted then. The caller releases
// the batch.
func ResourceSpansToArrow(mem memory.Allocator, rss []ptrace.ResourceSpans) (arrow.RecordBatch, error) {
	var c spanCount
	for _, rs := range rss {
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			ss := sss.At(j)
			spans := ss.Spans()
			c.env.addPdata(rs.Resource(), ss.Scope(), spans.Len())
			for k := range spans.Len() {
				s := spans.At(k)
				if err := checkSpanStrings(s); err != nil {
					return nil, fmt.Errorf("span %q: %w", s.Name(), err)
				}
				c.add(s)
			}
		}
	}
	b := spanBuilders.get(mem)
	b.reserve(&c)
	env := &b.env.cur
	for _, rs := range rss {
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			ss := sss.At(j)
			if j == 0 {
				if err := env.setResourcePdata(rs.Resource(), rs.SchemaUrl()); err != nil {
					spanBuilders.discard(b)
					return nil, err
				}
			}
			if err := env.setScopePdata(ss.Scope(), ss.SchemaUrl()); err != nil {
				spanBuilders.discard(b)
				return nil, err
			}
			spans := ss.Spans()
			if spans.Len() == 0 {
				continue
			}
			if err := b.env.appendN(env, spans.Len()); err != nil {
				spanBuilders.discard(b)
				return nil, fmt.Errorf("span %q: %w", spans.At(0).Name(), err)
			}
			for k := range spans.Len() {
				if err := b.append(spans.At(k)); err != nil {
					spanBuilders.discard(b)
					return nil, fmt.Errorf("span %q: %w", spans.At(k).Name(), err)
				}
			}
		}
	}
	return spanBuilders.finish(b), nil
}

// TracesToArrow is ResourceSpansToArrow for the generated structs, which it
// encodes and decodes with pdata. An id of the wrong length or a string
// that is not UTF-8 fails, wrapping ErrInvalid.
func TracesToArrow(mem memory.Allocator, rss []*tracepb.ResourceSpans) (arrow.RecordBatch, error) {
	b, err := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: rss})
	if err != nil {
		return nil, fmt.Errorf("%w: encode spans: %v", ErrInvalid, err)
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		return nil, fmt.Errorf("%w: decode spans: %v", ErrInvalid, err)
	}
	return ResourceSpansToArrow(mem, ResourceSpansOf(req.Traces()))
}

// ResourceSpansOf returns the resources of td.
func ResourceSpansOf(td ptrace.Traces) []ptrace.ResourceSpans {
	rss := make([]ptrace.ResourceSpans, td.ResourceSpans().Len())
	for i := range rss {
		rss[i] = td.ResourceSpans().At(i)
	}
	return rss
}

type spanReader struct {
	traceID, spanID, parentSpanID *array.FixedSizeBinary
	traceState                    strCol
	flags                         *array.Uint32
	name                          strCol
	kind                          *array.Int32
	start, end                    *array.Timestamp
	attrs                         attrReader
	dropped                       *array.Uint32
	events                        *array.List
	evTime                        *array.Timestamp
	evName                        strCol
	evAttrs                       attrReader
	evDropped                     *array.Uint32
	droppedEvents                 *array.Uint32
	links                         *array.List
	lkTraceID, lkSpanID           *array.FixedSizeBinary
	lkTraceState                  strCol
	lkAttrs                       attrReader
	lkDropped, lkFlags            *array.Uint32
	droppedLinks                  *array.Uint32
	statusCode                    *array.Int32
	statusMessage                 strCol
}

func newSpanReader(cols colSet) (*spanReader, error) {
	r := &spanReader{}
	var errs errList
	r.traceID = errs.col(typedCol[*array.FixedSizeBinary](cols, "trace_id"))
	r.spanID = errs.col(typedCol[*array.FixedSizeBinary](cols, "span_id"))
	r.parentSpanID = errs.col(typedCol[*array.FixedSizeBinary](cols, "parent_span_id"))
	r.traceState = errs.str(newStrCol(cols, "trace_state"))
	r.flags = errs.u32(typedCol[*array.Uint32](cols, "flags"))
	r.name = errs.str(newStrCol(cols, "name"))
	r.kind = errs.i32(typedCol[*array.Int32](cols, "kind"))
	r.start = errs.ts(typedCol[*array.Timestamp](cols, "start_time"))
	r.end = errs.ts(typedCol[*array.Timestamp](cols, "end_time"))
	r.attrs = errs.attrs(newAttrReader(cols, "attributes"))
	r.dropped = errs.u32(typedCol[*array.Uint32](cols, "dropped_attributes_count"))
	r.droppedEvents = errs.u32(typedCol[*array.Uint32](cols, "dropped_events_count"))
	r.droppedLinks = errs.u32(typedCol[*array.Uint32](cols, "dropped_links_count"))
	r.statusCode = errs.i32(typedCol[*array.Int32](cols, "status_code"))
	r.statusMessage = errs.str(newStrCol(cols, "status_message"))
	if ev, st := errs.listOfStruct(cols, "events"); ev != nil {
		ec := structCols(st)
		r.events = ev
		r.evTime = errs.ts(typedCol[*array.Timestamp](ec, "time"))
		r.evName = errs.str(newStrCol(ec, "name"))
		r.evAttrs = errs.attrs(newAttrReader(ec, "attributes"))
		r.evDropped = errs.u32(typedCol[*array.Uint32](ec, "dropped_attributes_count"))
	}
	if lk, st := errs.listOfStruct(cols, "links"); lk != nil {
		lc := structCols(st)
		r.links = lk
		r.lkTraceID = errs.col(typedCol[*array.FixedSizeBinary](lc, "trace_id"))
		r.lkSpanID = errs.col(typedCol[*array.FixedSizeBinary](lc, "span_id"))
		r.lkTraceState = errs.str(newStrCol(lc, "trace_state"))
		r.lkAttrs = errs.attrs(newAttrReader(lc, "attributes"))
		r.lkDropped = errs.u32(typedCol[*array.Uint32](lc, "dropped_attributes_count"))
		r.lkFlags = errs.u32(typedCol[*array.Uint32](lc, "flags"))
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *spanReader) span(i int) (*tracepb.Span, error) {
	s := &tracepb.Span{
		TraceId:                idAt(r.traceID, i),
		SpanId:                 idAt(r.spanID, i),
		TraceState:             r.traceState.str(i),
		ParentSpanId:           idAt(r.parentSpanID, i),
		Flags:                  u32At(r.flags, i),
		Name:                   r.name.str(i),
		Kind:                   tracepb.Span_SpanKind(i32At(r.kind, i)),
		StartTimeUnixNano:      timeAt(r.start, i),
		EndTimeUnixNano:        timeAt(r.end, i),
		DroppedAttributesCount: u32At(r.dropped, i),
		DroppedEventsCount:     u32At(r.droppedEvents, i),
		DroppedLinksCount:      u32At(r.droppedLinks, i),
	}
	var err error
	if s.Attributes, err = r.attrs.read(i); err != nil {
		return nil, err
	}
	if r.events != nil && r.events.IsValid(i) {
		start, end := r.events.ValueOffsets(i)
		for j := int(start); j < int(end); j++ {
			e := &tracepb.Span_Event{
				TimeUnixNano:           timeAt(r.evTime, j),
				Name:                   r.evName.str(j),
				DroppedAttributesCount: u32At(r.evDropped, j),
			}
			if e.Attributes, err = r.evAttrs.read(j); err != nil {
				return nil, fmt.Errorf("event: %w", err)
			}
			s.Events = append(s.Events, e)
		}
	}
	if r.links != nil && r.links.IsValid(i) {
		start, end := r.links.ValueOffsets(i)
		for j := int(start); j < int(end); j++ {
			l := &tracepb.Span_Link{
				TraceId:                idAt(r.lkTraceID, j),
				SpanId:                 idAt(r.lkSpanID, j),
				TraceState:             r.lkTraceState.str(j),
				DroppedAttributesCount: u32At(r.lkDropped, j),
				Flags:                  u32At(r.lkFlags, j),
			}
			if l.Attributes, err = r.lkAttrs.read(j); err != nil {
				return nil, fmt.Errorf("link: %w", err)
			}
			s.Links = append(s.Links, l)
		}
	}
	if r.statusCode != nil && r.statusCode.IsValid(i) {
		s.Status = &tracepb.Status{Code: tracepb.Status_StatusCode(r.statusCode.Value(i)), Message: r.statusMessage.str(i)}
	}
	return s, nil
}

// TracesFromArrow converts record batches in the traces schema (or a
// compatible subset: missing nullable columns read as unset) back to OTLP.
// Rows are regrouped by resource and scope in order of first appearance.
func TracesFromArrow(recs []arrow.RecordBatch) ([]*tracepb.ResourceSpans, error) {
	var out []*tracepb.ResourceSpans
	err := walkRows(recs, func(cols colSet) (func(int, rowGroup) error, error) {
		sr, err := newSpanReader(cols)
		if err != nil {
			return nil, err
		}
		return func(i int, g rowGroup) error {
			if g.resource != nil {
				out = append(out, &tracepb.ResourceSpans{Resource: g.resource, SchemaUrl: g.resourceSchemaURL})
			}
			if g.scope != nil {
				out[g.ri].ScopeSpans = append(out[g.ri].ScopeSpans, &tracepb.ScopeSpans{Scope: g.scope, SchemaUrl: g.scopeSchemaURL})
			}
			s, err := sr.span(i)
			if err != nil {
				return err
			}
			ss := out[g.ri].ScopeSpans[g.si]
			ss.Spans = append(ss.Spans, s)
			return nil
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
