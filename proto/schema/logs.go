package schema

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/proto"
)

var logsSchema = func() *arrow.Schema {
	fs := envelopeFields()
	fs = append(fs,
		arrow.Field{Name: "time", Type: Timestamp, Nullable: true},
		arrow.Field{Name: "observed_time", Type: Timestamp, Nullable: true},
		arrow.Field{Name: "severity_number", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		arrow.Field{Name: "severity_text", Type: DictString, Nullable: true},
		arrow.Field{Name: "body", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "body_json", Type: arrow.BinaryTypes.String, Nullable: true},
	)
	fs = append(fs, attrFields("attributes")...)
	fs = append(fs,
		arrow.Field{Name: "dropped_attributes_count", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
		arrow.Field{Name: "flags", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
		arrow.Field{Name: "trace_id", Type: TraceID, Nullable: true},
		arrow.Field{Name: "span_id", Type: SpanID, Nullable: true},
		arrow.Field{Name: "event_name", Type: DictString, Nullable: true},
	)
	return arrow.NewSchema(fs, nil)
}()

type logBuilder struct {
	rb           *batchBuilder
	mem          memory.Allocator
	env          envelopeBuilder
	time         *array.TimestampBuilder
	observedTime *array.TimestampBuilder
	sevNumber    *array.Int32Builder
	sevText      *array.BinaryDictionaryBuilder
	body         *array.StringBuilder
	bodyJSON     *array.StringBuilder
	attrs        *attrBuilder
	dropped      *array.Uint32Builder
	flags        *array.Uint32Builder
	traceID      *array.FixedSizeBinaryBuilder
	spanID       *array.FixedSizeBinaryBuilder
	eventName    *array.BinaryDictionaryBuilder
	json         []byte // scratch for body_json
}

func newLogBuilder(mem memory.Allocator) *logBuilder {
	rb := newBatchBuilder(mem, logsSchema)
	bs := rb.Fields()
	i := numEnvelopeFields
	next := func() any { b := bs[i]; i++; return b }
	b := &logBuilder{rb: rb, mem: mem, env: newEnvelopeBuilder(rb)}
	b.time = next().(*array.TimestampBuilder)
	b.observedTime = next().(*array.TimestampBuilder)
	b.sevNumber = next().(*array.Int32Builder)
	b.sevText = next().(*array.BinaryDictionaryBuilder)
	b.body = next().(*array.StringBuilder)
	b.bodyJSON = next().(*array.StringBuilder)
	b.attrs = newAttrBuilder(bs, i)
	i += numAttrKinds
	b.dropped = next().(*array.Uint32Builder)
	b.flags = next().(*array.Uint32Builder)
	b.traceID = next().(*array.FixedSizeBinaryBuilder)
	b.spanID = next().(*array.FixedSizeBinaryBuilder)
	b.eventName = next().(*array.BinaryDictionaryBuilder)
	return b
}

func (b *logBuilder) record() *batchBuilder       { return b.rb }
func (b *logBuilder) allocator() memory.Allocator { return b.mem }

func (b *logBuilder) flush() {
	b.env.flush()
	b.attrs.flush()
	b.json = keepScratch(b.json)
}

var logBuilders = builderPool[*logBuilder]{newFunc: newLogBuilder}

// logCount is what a request needs in the builders.
type logCount struct {
	rows      int
	bodyBytes int
	env       envCount
	attrs     attrCount
}

func (c *logCount) add(l plog.LogRecord) {
	c.rows++
	if body := l.Body(); body.Type() == pcommon.ValueTypeStr {
		c.bodyBytes += len(body.Str())
	}
	c.attrs.addMap(l.Attributes(), 1)
}

// reserve makes room for the request counted in c.
func (b *logBuilder) reserve(c *logCount) {
	b.rb.Reserve(c.rows)
	b.body.ReserveData(c.bodyBytes)
	b.env.reserve(&c.env)
	b.attrs.reserve(&c.attrs)
}

// checkLogStrings checks the strings of a log record that are not
// attributes or in a structured body to be valid UTF-8.
func checkLogStrings(l plog.LogRecord) error {
	if err := checkUTF8("severity_text", l.SeverityText()); err != nil {
		return err
	}
	if err := checkUTF8("event_name", l.EventName()); err != nil {
		return err
	}
	if body := l.Body(); body.Type() == pcommon.ValueTypeStr {
		return checkUTF8("body", body.Str())
	}
	return nil
}

// append adds the log record columns of one row; the envelope columns are
// appended for all the records of a scope at once.
func (b *logBuilder) append(l plog.LogRecord) error {
	appendTime(b.time, uint64(l.Timestamp()))
	appendTime(b.observedTime, uint64(l.ObservedTimestamp()))
	b.sevNumber.Append(int32(l.SeverityNumber()))
	if err := appendDict(b.sevText, l.SeverityText()); err != nil {
		return err
	}
	// A string body goes to body, any other body to body_json; both null
	// means no body (pdata's empty value: an absent or empty AnyValue).
	switch body := l.Body(); body.Type() {
	case pcommon.ValueTypeStr:
		b.body.Append(body.Str())
		b.bodyJSON.AppendNull()
	case pcommon.ValueTypeEmpty:
		b.body.AppendNull()
		b.bodyJSON.AppendNull()
	default:
		b.body.AppendNull()
		var err error
		if b.json, err = appendPdataJSON(b.json[:0], body); err != nil {
			return fmt.Errorf("body: %w", err)
		}
		b.bodyJSON.BinaryBuilder.Append(b.json)
	}
	if err := b.attrs.appendMap(l.Attributes()); err != nil {
		return err
	}
	b.dropped.Append(l.DroppedAttributesCount())
	b.flags.Append(uint32(l.Flags()))
	tid, sid := l.TraceID(), l.SpanID()
	appendPdataID(b.traceID, tid.IsEmpty(), tid[:])
	appendPdataID(b.spanID, sid.IsEmpty(), sid[:])
	return appendDict(b.eventName, l.EventName())
}

// ResourceLogsToArrow converts pdata log records to one record batch in the
// logs schema, one row per log record. It fails, wrapping ErrInvalid, when a
// string is not valid UTF-8; nothing is converted then. The caller releases
// the batch.
func ResourceLogsToArrow(mem memory.Allocator, rls []plog.ResourceLogs) (arrow.RecordBatch, error) {
	var c logCount
	for _, rl := range rls {
		sls := rl.ScopeLogs()
		for j := range sls.Len() {
			sl := sls.At(j)
			recs := sl.LogRecords()
			c.env.addPdata(rl.Resource(), sl.Scope(), recs.Len())
			for i := range recs.Len() {
				l := recs.At(i)
				if err := checkLogStrings(l); err != nil {
					return nil, fmt.Errorf("log record %d: %w", i, err)
				}
				c.add(l)
			}
		}
	}
	b := logBuilders.get(mem)
	b.reserve(&c)
	env := &b.env.cur
	for _, rl := range rls {
		sls := rl.ScopeLogs()
		for j := range sls.Len() {
			sl := sls.At(j)
			if j == 0 {
				if err := env.setResourcePdata(rl.Resource(), rl.SchemaUrl()); err != nil {
					logBuilders.discard(b)
					return nil, err
				}
			}
			if err := env.setScopePdata(sl.Scope(), sl.SchemaUrl()); err != nil {
				logBuilders.discard(b)
				return nil, err
			}
			recs := sl.LogRecords()
			if recs.Len() == 0 {
				continue
			}
			if err := b.env.appendN(env, recs.Len()); err != nil {
				logBuilders.discard(b)
				return nil, fmt.Errorf("log record 0: %w", err)
			}
			for i := range recs.Len() {
				if err := b.append(recs.At(i)); err != nil {
					logBuilders.discard(b)
					return nil, fmt.Errorf("log record %d: %w", i, err)
				}
			}
		}
	}
	return logBuilders.finish(b), nil
}

// LogsToArrow is ResourceLogsToArrow for the generated structs, which it
// encodes and decodes with pdata. An id of the wrong length or a string
// that is not UTF-8 fails, wrapping ErrInvalid.
func LogsToArrow(mem memory.Allocator, rls []*logspb.ResourceLogs) (arrow.RecordBatch, error) {
	b, err := proto.Marshal(&collogspb.ExportLogsServiceRequest{ResourceLogs: rls})
	if err != nil {
		return nil, fmt.Errorf("%w: encode log records: %v", ErrInvalid, err)
	}
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		return nil, fmt.Errorf("%w: decode log records: %v", ErrInvalid, err)
	}
	return ResourceLogsToArrow(mem, ResourceLogsOf(req.Logs()))
}

// ResourceLogsOf returns the resources of ld.
func ResourceLogsOf(ld plog.Logs) []plog.ResourceLogs {
	rls := make([]plog.ResourceLogs, ld.ResourceLogs().Len())
	for i := range rls {
		rls[i] = ld.ResourceLogs().At(i)
	}
	return rls
}

type logReader struct {
	time, observedTime *array.Timestamp
	sevNumber          *array.Int32
	sevText            strCol
	body, bodyJSON     strCol
	attrs              attrReader
	dropped, flags     *array.Uint32
	traceID, spanID    *array.FixedSizeBinary
	eventName          strCol
}

func newLogReader(cols colSet) (*logReader, error) {
	r := &logReader{}
	var errs errList
	r.time = errs.ts(typedCol[*array.Timestamp](cols, "time"))
	r.observedTime = errs.ts(typedCol[*array.Timestamp](cols, "observed_time"))
	r.sevNumber = errs.i32(typedCol[*array.Int32](cols, "severity_number"))
	r.sevText = errs.str(newStrCol(cols, "severity_text"))
	r.body = errs.str(newStrCol(cols, "body"))
	r.bodyJSON = errs.str(newStrCol(cols, "body_json"))
	r.attrs = errs.attrs(newAttrReader(cols, "attributes"))
	r.dropped = errs.u32(typedCol[*array.Uint32](cols, "dropped_attributes_count"))
	r.flags = errs.u32(typedCol[*array.Uint32](cols, "flags"))
	r.traceID = errs.col(typedCol[*array.FixedSizeBinary](cols, "trace_id"))
	r.spanID = errs.col(typedCol[*array.FixedSizeBinary](cols, "span_id"))
	r.eventName = errs.str(newStrCol(cols, "event_name"))
	if err := errs.err(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *logReader) log(i int) (*logspb.LogRecord, error) {
	l := &logspb.LogRecord{
		TimeUnixNano:           timeAt(r.time, i),
		ObservedTimeUnixNano:   timeAt(r.observedTime, i),
		SeverityNumber:         logspb.SeverityNumber(i32At(r.sevNumber, i)),
		SeverityText:           r.sevText.str(i),
		DroppedAttributesCount: u32At(r.dropped, i),
		Flags:                  u32At(r.flags, i),
		TraceId:                idAt(r.traceID, i),
		SpanId:                 idAt(r.spanID, i),
		EventName:              r.eventName.str(i),
	}
	if s, ok := r.body.value(i); ok {
		l.Body = &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	} else if js, ok := r.bodyJSON.value(i); ok {
		v, err := anyValueFromJSON(js)
		if err != nil {
			return nil, fmt.Errorf("body_json: %w", err)
		}
		l.Body = v
	}
	var err error
	if l.Attributes, err = r.attrs.read(i); err != nil {
		return nil, err
	}
	return l, nil
}

// LogsFromArrow converts record batches in the logs schema (or a compatible
// subset: missing nullable columns read as unset) back to OTLP. Rows are
// regrouped by resource and scope in order of first appearance.
func LogsFromArrow(recs []arrow.RecordBatch) ([]*logspb.ResourceLogs, error) {
	var out []*logspb.ResourceLogs
	err := walkRows(recs, func(cols colSet) (func(int, rowGroup) error, error) {
		lr, err := newLogReader(cols)
		if err != nil {
			return nil, err
		}
		return func(i int, g rowGroup) error {
			if g.resource != nil {
				out = append(out, &logspb.ResourceLogs{Resource: g.resource, SchemaUrl: g.resourceSchemaURL})
			}
			if g.scope != nil {
				out[g.ri].ScopeLogs = append(out[g.ri].ScopeLogs, &logspb.ScopeLogs{Scope: g.scope, SchemaUrl: g.scopeSchemaURL})
			}
			l, err := lr.log(i)
			if err != nil {
				return err
			}
			sl := out[g.ri].ScopeLogs[g.si]
			sl.LogRecords = append(sl.LogRecords, l)
			return nil
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
