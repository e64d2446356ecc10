package otlpwire

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// tracesDecoder adds the slabs of the trace messages to decoder.
type tracesDecoder struct {
	decoder
	resourceSpans slab[tracepb.ResourceSpans]
	rsPtrs        slab[*tracepb.ResourceSpans]
	scopeSpans    slab[tracepb.ScopeSpans]
	ssPtrs        slab[*tracepb.ScopeSpans]
	spans         slab[tracepb.Span]
	spanPtrs      slab[*tracepb.Span]
	events        slab[tracepb.Span_Event]
	eventPtrs     slab[*tracepb.Span_Event]
	links         slab[tracepb.Span_Link]
	linkPtrs      slab[*tracepb.Span_Link]
	statuses      slab[tracepb.Status]
}

// UnmarshalTraces replaces req's content with b decoded. Strings and byte
// fields of req alias b: b must not be modified while req is used. The result
// is that of proto.Unmarshal followed by proto.DiscardUnknown (unknown fields
// are skipped), and the inputs proto.Unmarshal rejects are rejected, with an
// error wrapping [ErrMalformed]. On error req holds a partial result.
// Concurrent calls are safe on distinct requests.
func UnmarshalTraces(b []byte, req *coltracepb.ExportTraceServiceRequest) error {
	req.Reset()
	d := &tracesDecoder{}
	d.init(b)
	if err := d.request(b, req); err != nil {
		return fmt.Errorf("unmarshal OTLP traces request: %w", err)
	}
	return nil
}

func (d *tracesDecoder) request(b []byte, req *coltracepb.ExportTraceServiceRequest) error {
	if err := d.enter(); err != nil {
		return err
	}
	var c [16]int32
	countFields(b, &c)
	req.ResourceSpans = reserve(&d.rsPtrs, req.ResourceSpans, int(c[1]))
	for len(b) > 0 {
		num, typ, _, p, rest, err := field(b)
		if err != nil {
			return err
		}
		b = rest
		if num == 1 && typ == protowire.BytesType {
			rs, err := d.resourceSpan(p)
			if err != nil {
				return err
			}
			req.ResourceSpans = append(req.ResourceSpans, rs)
		}
	}
	d.leave()
	return nil
}

func (d *tracesDecoder) resourceSpan(b []byte) (*tracepb.ResourceSpans, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	rs := d.resourceSpans.new()
	var c [16]int32
	countFields(b, &c)
	rs.ScopeSpans = reserve(&d.ssPtrs, rs.ScopeSpans, int(c[2]))
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
		case 1:
			if err := d.resource(p, &rs.Resource); err != nil {
				return nil, err
			}
		case 2:
			ss, err := d.scopeSpan(p)
			if err != nil {
				return nil, err
			}
			rs.ScopeSpans = append(rs.ScopeSpans, ss)
		case 3:
			if rs.SchemaUrl, err = d.str(p); err != nil {
				return nil, err
			}
		}
	}
	d.leave()
	return rs, nil
}

func (d *tracesDecoder) scopeSpan(b []byte) (*tracepb.ScopeSpans, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	ss := d.scopeSpans.new()
	var c [16]int32
	countFields(b, &c)
	ss.Spans = reserve(&d.spanPtrs, ss.Spans, int(c[2]))
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
		case 1:
			if err := d.scope(p, &ss.Scope); err != nil {
				return nil, err
			}
		case 2:
			s, err := d.span(p)
			if err != nil {
				return nil, err
			}
			ss.Spans = append(ss.Spans, s)
		case 3:
			if ss.SchemaUrl, err = d.str(p); err != nil {
				return nil, err
			}
		}
	}
	d.leave()
	return ss, nil
}

func (d *tracesDecoder) span(b []byte) (*tracepb.Span, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	s := d.spans.new()
	var c [16]int32
	countFields(b, &c)
	d.attrs(&s.Attributes, c[9])
	s.Events = reserve(&d.eventPtrs, s.Events, int(c[11]))
	s.Links = reserve(&d.linkPtrs, s.Links, int(c[13]))
	for len(b) > 0 {
		num, typ, v, p, rest, err := field(b)
		if err != nil {
			return nil, err
		}
		b = rest
		switch typ {
		case protowire.BytesType:
			switch num {
			case 1:
				s.TraceId = bytesNoZero(p)
			case 2:
				s.SpanId = bytesNoZero(p)
			case 3:
				if s.TraceState, err = d.str(p); err != nil {
					return nil, err
				}
			case 4:
				s.ParentSpanId = bytesNoZero(p)
			case 5:
				if s.Name, err = d.str(p); err != nil {
					return nil, err
				}
			case 9:
				if err := d.appendKeyValue(&s.Attributes, p); err != nil {
					return nil, err
				}
			case 11:
				e, err := d.event(p)
				if err != nil {
					return nil, err
				}
				s.Events = append(s.Events, e)
			case 13:
				l, err := d.link(p)
				if err != nil {
					return nil, err
				}
				s.Links = append(s.Links, l)
			case 15:
				if err := d.status(p, &s.Status); err != nil {
					return nil, err
				}
			}
		case protowire.VarintType:
			switch num {
			case 6:
				s.Kind = tracepb.Span_SpanKind(int32(v))
			case 10:
				s.DroppedAttributesCount = uint32(v)
			case 12:
				s.DroppedEventsCount = uint32(v)
			case 14:
				s.DroppedLinksCount = uint32(v)
			}
		case protowire.Fixed64Type:
			switch num {
			case 7:
				s.StartTimeUnixNano = v
			case 8:
				s.EndTimeUnixNano = v
			}
		case protowire.Fixed32Type:
			if num == 16 {
				s.Flags = uint32(v)
			}
		}
	}
	d.leave()
	return s, nil
}

func (d *tracesDecoder) event(b []byte) (*tracepb.Span_Event, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	e := d.events.new()
	var c [16]int32
	countFields(b, &c)
	d.attrs(&e.Attributes, c[3])
	for len(b) > 0 {
		num, typ, v, p, rest, err := field(b)
		if err != nil {
			return nil, err
		}
		b = rest
		switch num {
		case 1:
			if typ == protowire.Fixed64Type {
				e.TimeUnixNano = v
			}
		case 2:
			if typ == protowire.BytesType {
				if e.Name, err = d.str(p); err != nil {
					return nil, err
				}
			}
		case 3:
			if typ == protowire.BytesType {
				if err := d.appendKeyValue(&e.Attributes, p); err != nil {
					return nil, err
				}
			}
		case 4:
			if typ == protowire.VarintType {
				e.DroppedAttributesCount = uint32(v)
			}
		}
	}
	d.leave()
	return e, nil
}

func (d *tracesDecoder) link(b []byte) (*tracepb.Span_Link, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	l := d.links.new()
	var c [16]int32
	countFields(b, &c)
	d.attrs(&l.Attributes, c[4])
	for len(b) > 0 {
		num, typ, v, p, rest, err := field(b)
		if err != nil {
			return nil, err
		}
		b = rest
		switch num {
		case 1:
			if typ == protowire.BytesType {
				l.TraceId = bytesNoZero(p)
			}
		case 2:
			if typ == protowire.BytesType {
				l.SpanId = bytesNoZero(p)
			}
		case 3:
			if typ == protowire.BytesType {
				if l.TraceState, err = d.str(p); err != nil {
					return nil, err
				}
			}
		case 4:
			if typ == protowire.BytesType {
				if err := d.appendKeyValue(&l.Attributes, p); err != nil {
					return nil, err
				}
			}
		case 5:
			if typ == protowire.VarintType {
				l.DroppedAttributesCount = uint32(v)
			}
		case 6:
			if typ == protowire.Fixed32Type {
				l.Flags = uint32(v)
			}
		}
	}
	d.leave()
	return l, nil
}

// status decodes a Status message into *dst, allocating it when nil.
func (d *tracesDecoder) status(b []byte, dst **tracepb.Status) error {
	if err := d.enter(); err != nil {
		return err
	}
	st := *dst
	if st == nil {
		st = d.statuses.new()
		*dst = st
	}
	for len(b) > 0 {
		num, typ, v, p, rest, err := field(b)
		if err != nil {
			return err
		}
		b = rest
		switch num {
		case 2:
			if typ == protowire.BytesType {
				if st.Message, err = d.str(p); err != nil {
					return err
				}
			}
		case 3:
			if typ == protowire.VarintType {
				st.Code = tracepb.Status_StatusCode(int32(v))
			}
		}
	}
	d.leave()
	return nil
}
