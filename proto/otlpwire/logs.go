package otlpwire

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
)

// logsDecoder adds the slabs of the log messages to decoder.
type logsDecoder struct {
	decoder
	resourceLogs slab[logspb.ResourceLogs]
	rlPtrs       slab[*logspb.ResourceLogs]
	scopeLogs    slab[logspb.ScopeLogs]
	slPtrs       slab[*logspb.ScopeLogs]
	records      slab[logspb.LogRecord]
	recordPtrs   slab[*logspb.LogRecord]
}

// UnmarshalLogs replaces req's content with b decoded, with the contract of
// [UnmarshalTraces]: req aliases b, the result and the rejected inputs are
// those of proto.Unmarshal (unknown fields discarded), errors wrap
// [ErrMalformed].
func UnmarshalLogs(b []byte, req *collogspb.ExportLogsServiceRequest) error {
	req.Reset()
	d := &logsDecoder{}
	d.init(b)
	if err := d.request(b, req); err != nil {
		return fmt.Errorf("unmarshal OTLP logs request: %w", err)
	}
	return nil
}

func (d *logsDecoder) request(b []byte, req *collogspb.ExportLogsServiceRequest) error {
	if err := d.enter(); err != nil {
		return err
	}
	var c [16]int32
	countFields(b, &c)
	req.ResourceLogs = reserve(&d.rlPtrs, req.ResourceLogs, int(c[1]))
	for len(b) > 0 {
		num, typ, _, p, rest, err := field(b)
		if err != nil {
			return err
		}
		b = rest
		if num == 1 && typ == protowire.BytesType {
			rl, err := d.resourceLog(p)
			if err != nil {
				return err
			}
			req.ResourceLogs = append(req.ResourceLogs, rl)
		}
	}
	d.leave()
	return nil
}

func (d *logsDecoder) resourceLog(b []byte) (*logspb.ResourceLogs, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	rl := d.resourceLogs.new()
	var c [16]int32
	countFields(b, &c)
	rl.ScopeLogs = reserve(&d.slPtrs, rl.ScopeLogs, int(c[2]))
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
			if err := d.resource(p, &rl.Resource); err != nil {
				return nil, err
			}
		case 2:
			sl, err := d.scopeLog(p)
			if err != nil {
				return nil, err
			}
			rl.ScopeLogs = append(rl.ScopeLogs, sl)
		case 3:
			if rl.SchemaUrl, err = d.str(p); err != nil {
				return nil, err
			}
		}
	}
	d.leave()
	return rl, nil
}

func (d *logsDecoder) scopeLog(b []byte) (*logspb.ScopeLogs, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	sl := d.scopeLogs.new()
	var c [16]int32
	countFields(b, &c)
	sl.LogRecords = reserve(&d.recordPtrs, sl.LogRecords, int(c[2]))
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
			if err := d.scope(p, &sl.Scope); err != nil {
				return nil, err
			}
		case 2:
			r, err := d.logRecord(p)
			if err != nil {
				return nil, err
			}
			sl.LogRecords = append(sl.LogRecords, r)
		case 3:
			if sl.SchemaUrl, err = d.str(p); err != nil {
				return nil, err
			}
		}
	}
	d.leave()
	return sl, nil
}

func (d *logsDecoder) logRecord(b []byte) (*logspb.LogRecord, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	r := d.records.new()
	var c [16]int32
	countFields(b, &c)
	d.attrs(&r.Attributes, c[6])
	for len(b) > 0 {
		num, typ, v, p, rest, err := field(b)
		if err != nil {
			return nil, err
		}
		b = rest
		switch typ {
		case protowire.BytesType:
			switch num {
			case 3:
				if r.SeverityText, err = d.str(p); err != nil {
					return nil, err
				}
			case 5:
				if err := d.anyValue(p, &r.Body); err != nil {
					return nil, err
				}
			case 6:
				if err := d.appendKeyValue(&r.Attributes, p); err != nil {
					return nil, err
				}
			case 9:
				r.TraceId = bytesNoZero(p)
			case 10:
				r.SpanId = bytesNoZero(p)
			case 12:
				if r.EventName, err = d.str(p); err != nil {
					return nil, err
				}
			}
		case protowire.VarintType:
			switch num {
			case 2:
				r.SeverityNumber = logspb.SeverityNumber(int32(v))
			case 7:
				r.DroppedAttributesCount = uint32(v)
			}
		case protowire.Fixed64Type:
			switch num {
			case 1:
				r.TimeUnixNano = v
			case 11:
				r.ObservedTimeUnixNano = v
			}
		case protowire.Fixed32Type:
			if num == 8 {
				r.Flags = uint32(v)
			}
		}
	}
	d.leave()
	return r, nil
}
