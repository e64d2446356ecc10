package payload

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
)

// Layout is how a payload's messages lie in its bytes, for a consumer that
// appends them as they are to an Arrow IPC stream of the same schema (the
// writer's pass-through): the schema message to compare with the stream's,
// then every dictionary and record batch message, framed, which a stream
// reader takes after the stream's earlier messages. Each dictionary message
// then replaces the dictionary of its id.
type Layout struct {
	// Schema is the schema message as framed in the stream: continuation
	// marker, length, metadata and padding.
	Schema []byte
	// Batches is every message after the schema up to the end-of-stream
	// marker, framed: the dictionary batches, then the record batches (and
	// any dictionary replacements between them).
	Batches []byte
	// Compression is that of every batch's buffers: CompressionNone,
	// CompressionLZ4 or CompressionZstd.
	Compression string
	// Rows is the payload's row count; MinBatchRows that of its smallest
	// record batch.
	Rows, MinBatchRows int64
}

// ErrNotAppendable is wrapped by ReadLayout's errors: the payload is valid
// but its messages cannot be appended as they are to another stream.
var ErrNotAppendable = errors.New("payload messages cannot be appended as they are")

// ReadLayout returns the layout of the payload b, whose schema is schema,
// when its messages can be appended to another stream of that schema: each
// message starts and ends 8-byte aligned with the continuation marker (so
// the appended buffers keep Arrow's alignment), every dictionary of the
// schema is replaced (never extended: polars reads no delta dictionaries)
// before the first record batch, there is at least one record batch, and
// every batch has the same buffer compression. Otherwise the error wraps
// ErrNotAppendable, or ErrMalformed for bytes that are no stream.
//
// ReadLayout checks the framing and flatbuffer metadata only: the caller
// must have decoded b with Decode, which validates the data, first.
func ReadLayout(b []byte, schema *arrow.Schema) (Layout, error) {
	frames, err := verifyStream(b)
	if err != nil {
		return Layout{}, fmt.Errorf("payload layout: %w: %w", ErrMalformed, err)
	}
	notAppendable := func(format string, args ...any) (Layout, error) {
		return Layout{}, fmt.Errorf("payload layout: %w: %s", ErrNotAppendable, fmt.Sprintf(format, args...))
	}
	if len(frames) < 2 || frames[0].kind != headerSchema {
		return notAppendable("no schema and batch")
	}
	var start, end int
	for i, f := range frames {
		metaAt := offsetIn(b, f.meta)
		at := metaAt - 8
		if at < 0 || at%8 != 0 || len(f.meta)%8 != 0 || len(f.body)%8 != 0 ||
			b[at] != 0xFF || b[at+1] != 0xFF || b[at+2] != 0xFF || b[at+3] != 0xFF {
			return notAppendable("message %d is not framed 8-byte aligned with a continuation marker", i)
		}
		if i == 1 {
			start = at
		}
		end = metaAt + len(f.meta) + len(f.body)
	}
	l := Layout{Schema: b[:start:start], Batches: b[start:end:end], MinBatchRows: -1}
	dicts := numDicts(schema.Fields())
	seen := map[int64]bool{}
	batches := 0
	for i, f := range frames[1:] {
		switch f.kind {
		case headerDictionaryBatch:
			if f.delta {
				return notAppendable("message %d is a delta dictionary", i+1)
			}
			if f.dictID < 0 || f.dictID >= int64(dicts) {
				return notAppendable("message %d replaces dictionary %d of %d", i+1, f.dictID, dicts)
			}
			if batches == 0 {
				seen[f.dictID] = true
			}
		case headerRecordBatch:
			if batches == 0 && len(seen) != dicts {
				return notAppendable("%d of %d dictionaries before the first record batch", len(seen), dicts)
			}
			batches++
			l.Rows += f.length
			if l.MinBatchRows < 0 || f.length < l.MinBatchRows {
				l.MinBatchRows = f.length
			}
		default:
			return notAppendable("message %d is of type %d", i+1, f.kind)
		}
		c := CompressionNone
		if f.compressed {
			switch f.codec {
			case 0:
				c = CompressionLZ4
			case 1:
				c = CompressionZstd
			default:
				return notAppendable("message %d has compression codec %d", i+1, f.codec)
			}
		}
		if i == 0 {
			l.Compression = c
		} else if c != l.Compression {
			return notAppendable("messages compressed with %s and %s", l.Compression, c)
		}
	}
	if batches == 0 {
		return notAppendable("no record batch")
	}
	return l, nil
}

// numDicts counts the dictionary-encoded fields of fields, nested ones and
// dictionaries of dictionaries included: arrow-go numbers a schema's
// dictionaries from 0 in this order.
func numDicts(fields []arrow.Field) int {
	n := 0
	var visit func(t arrow.DataType)
	visit = func(t arrow.DataType) {
		if d, ok := t.(*arrow.DictionaryType); ok {
			n++
			visit(d.ValueType)
			return
		}
		if nested, ok := t.(arrow.NestedType); ok {
			for _, f := range nested.Fields() {
				visit(f.Type)
			}
		}
	}
	for _, f := range fields {
		visit(f.Type)
	}
	return n
}

// offsetIn returns the offset of s, a non-empty sub-slice of b, in b.
func offsetIn(b, s []byte) int {
	return int(uintptr(unsafe.Pointer(unsafe.SliceData(s))) - uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}
