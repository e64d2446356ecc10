package otlpwire

import (
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
)

// ErrMalformed is wrapped by every error the decoders return: the input is
// not a valid protobuf encoding of the request (truncated, a bad varint, a
// bad field number or wire type, invalid UTF-8 in a string field, or nested
// deeper than the recursion limit). A client sending it must fix its encoder;
// retrying the same bytes fails the same way.
var ErrMalformed = errors.New("otlpwire: malformed protobuf")

var (
	errTruncated   = fmt.Errorf("%w: truncated input", ErrMalformed)
	errVarint      = fmt.Errorf("%w: bad varint", ErrMalformed)
	errFieldNumber = fmt.Errorf("%w: invalid field number", ErrMalformed)
	errInvalidUTF8 = fmt.Errorf("%w: string field contains invalid UTF-8", ErrMalformed)
	errDepth       = fmt.Errorf("%w: messages nested deeper than %d", ErrMalformed, maxDepth)
)

// maxDepth is proto.Unmarshal's default recursion limit: the request itself
// counts as one level.
const maxDepth = protowire.DefaultRecursionLimit

// varint reads a varint from b, the same values protowire.ConsumeVarint
// accepts (non-minimal encodings included), and returns it with the number of
// bytes read, or n < 0.
func varint(b []byte) (v uint64, n int) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	if len(b) > 1 && b[1] < 0x80 {
		return uint64(b[0]&0x7f) | uint64(b[1])<<7, 2
	}
	return protowire.ConsumeVarint(b)
}

// field reads the next field of b: its number, wire type, the value (for
// VarintType, Fixed32Type, Fixed64Type) or the payload (BytesType), and the
// rest of b. A group (StartGroupType) is skipped whole, as proto.Unmarshal
// skips it as an unknown field: it comes back with its type and no payload,
// so that callers, which only know non-group fields, ignore it.
//
// Callers switch on num and check typ: a known number with another wire type
// is an unknown field for proto.Unmarshal, already skipped here, so ignoring
// it is right. The payload aliases b with its capacity cut to its length.
func field(b []byte) (num protowire.Number, typ protowire.Type, v uint64, payload []byte, rest []byte, err error) {
	tag, n := varint(b)
	if n < 0 {
		return 0, 0, 0, nil, nil, errVarint
	}
	b = b[n:]
	if t := tag >> 3; t < uint64(protowire.MinValidNumber) || t > uint64(protowire.MaxValidNumber) {
		return 0, 0, 0, nil, nil, errFieldNumber
	}
	num, typ = protowire.Number(tag>>3), protowire.Type(tag&7)
	switch typ {
	case protowire.VarintType:
		v, n = varint(b)
		if n < 0 {
			return 0, 0, 0, nil, nil, errVarint
		}
		return num, typ, v, nil, b[n:], nil
	case protowire.BytesType:
		l, n := varint(b)
		if n < 0 {
			return 0, 0, 0, nil, nil, errVarint
		}
		b = b[n:]
		if l > uint64(len(b)) {
			return 0, 0, 0, nil, nil, errTruncated
		}
		return num, typ, 0, b[:l:l], b[l:], nil
	case protowire.Fixed64Type:
		if len(b) < 8 {
			return 0, 0, 0, nil, nil, errTruncated
		}
		return num, typ, uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56, nil, b[8:], nil
	case protowire.Fixed32Type:
		if len(b) < 4 {
			return 0, 0, 0, nil, nil, errTruncated
		}
		return num, typ, uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24, nil, b[4:], nil
	}
	rest, err = skip(num, typ, b)
	return num, typ, 0, nil, rest, err
}

// skip consumes the value of a field whose tag has been read, the way
// proto.Unmarshal consumes an unknown field (protowire.ConsumeFieldValue):
// groups are skipped with everything nested in them, an end-group or a
// reserved wire type is an error.
func skip(num protowire.Number, typ protowire.Type, b []byte) ([]byte, error) {
	n := protowire.ConsumeFieldValue(num, typ, b)
	if n < 0 {
		return nil, fmt.Errorf("%w: field %d: %v", ErrMalformed, num, protowire.ParseError(n))
	}
	return b[n:], nil
}

// str returns the string field payload b as a string that aliases b, after
// checking it is valid UTF-8 as proto3 strings must be.
func (d *decoder) str(b []byte) (string, error) {
	if len(b) == 0 {
		return "", nil
	}
	if !utf8.Valid(b) {
		return "", errInvalidUTF8
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), nil
}

// bytesNoZero returns a proto3 bytes field's payload the way proto.Unmarshal
// stores it: nil when empty, else the payload itself (aliasing the input).
func bytesNoZero(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// countFields counts, for each field number below len(c), the length-delimited
// occurrences in the message b, so that repeated fields can be given slices of
// the right size up front. It stops quietly at malformed input: the decoding
// pass reports that.
func countFields(b []byte, c *[16]int32) {
	for len(b) > 0 {
		tag, n := varint(b)
		if n < 0 {
			return
		}
		b = b[n:]
		switch protowire.Type(tag & 7) {
		case protowire.VarintType:
			_, n = varint(b)
		case protowire.Fixed64Type:
			n = 8
		case protowire.Fixed32Type:
			n = 4
		case protowire.BytesType:
			l, m := varint(b)
			if m < 0 || l > uint64(len(b)-m) {
				return
			}
			if t := tag >> 3; t < uint64(len(c)) {
				c[t]++
			}
			n = m + int(l)
		default:
			return
		}
		if n < 0 || n > len(b) {
			return
		}
		b = b[n:]
	}
}
