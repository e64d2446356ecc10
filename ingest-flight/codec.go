package ingestflight

import (
	"bytes"
	"errors"
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// flightCodec is the standard proto codec, except that a FlightData is
// decoded with its byte fields as views of one copy of the message, its
// body at an 8-byte aligned address, instead of a copy of the message and
// then a copy of each field (protobuf's Unmarshal copies bytes fields).
// Arrow arrays then read their buffers straight from that copy. Flight's
// own definition of FlightData expects this of servers: data_body comes
// last "to help with sidecar patterns (... fetch this field off the wire
// with specialized code to avoid extra memory copies)".
//
// It accepts and rejects what proto.Unmarshal does, and decodes to the same
// fields; unknown fields are skipped, not kept.
type flightCodec struct{ encoding.CodecV2 }

func (c flightCodec) Unmarshal(data mem.BufferSlice, v any) error {
	fd, ok := v.(*flight.FlightData)
	if !ok {
		return c.CodecV2.Unmarshal(data, v)
	}
	if err := unmarshalFlightData(materializeAligned(data), fd); err != nil {
		return err
	}
	if b := fd.DataBody; len(b) > 0 && uintptr(unsafe.Pointer(&b[0]))%bodyAlign != 0 {
		// Its tag was not in the first buffer: a copy, which Go aligns.
		fd.DataBody = bytes.Clone(b)
	}
	return nil
}

// bodyAlign is the alignment Arrow buffers need to be read in place.
const bodyAlign = 8

// materializeAligned copies data into one slice placed so that the value
// of a data_body field found in the message's first buffer starts at an
// address that is a multiple of bodyAlign.
func materializeAligned(data mem.BufferSlice) []byte {
	n := data.Len()
	shift := 0
	if len(data) > 0 {
		if off, ok := bodyOffset(data[0].ReadOnlyData()); ok {
			shift = (bodyAlign - off%bodyAlign) % bodyAlign
		}
	}
	// Go aligns allocations of this size to at least 8 bytes.
	buf := make([]byte, n+shift)[shift:]
	data.CopyTo(buf)
	return buf
}

// bodyOffset returns where the value of the first data_body field starts
// in b, a prefix of a FlightData message, if it is found there.
func bodyOffset(b []byte) (int, bool) {
	off := 0
	for off < len(b) {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return 0, false
		}
		off += n
		if num == fieldDataBody && typ == protowire.BytesType {
			_, m := protowire.ConsumeVarint(b[off:])
			if m < 0 {
				return 0, false
			}
			return off + m, true
		}
		m := protowire.ConsumeFieldValue(num, typ, b[off:])
		if m < 0 {
			return 0, false
		}
		off += m
	}
	return 0, false
}

// The fields of FlightData.
const (
	fieldDescriptor  = 1
	fieldDataHeader  = 2
	fieldAppMetadata = 3
	fieldDataBody    = 1000
)

// errFlightData is how a malformed FlightData is reported; gRPC answers it
// as it answers any message that does not decode.
var errFlightData = errors.New("flight data: malformed protobuf")

// unmarshalFlightData decodes b into fd (reset first). Its byte fields are
// views of b, which the caller must leave alone from then on. As with
// proto.Unmarshal, a field seen twice keeps its last value (a descriptor is
// merged), a field of the wrong wire type is an unknown field, and a
// non-empty bytes field that is absent stays nil.
func unmarshalFlightData(b []byte, fd *flight.FlightData) error {
	fd.Reset()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %w", errFlightData, protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.BytesType {
			switch num {
			case fieldDescriptor, fieldDataHeader, fieldAppMetadata, fieldDataBody:
				v, m := protowire.ConsumeBytes(b)
				if m < 0 {
					return fmt.Errorf("%w: %w", errFlightData, protowire.ParseError(m))
				}
				b = b[m:]
				if err := setFlightField(fd, num, v); err != nil {
					return err
				}
				continue
			}
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return fmt.Errorf("%w: %w", errFlightData, protowire.ParseError(m))
		}
		b = b[m:]
	}
	return nil
}

func setFlightField(fd *flight.FlightData, num protowire.Number, v []byte) error {
	switch num {
	case fieldDescriptor:
		if fd.FlightDescriptor == nil {
			fd.FlightDescriptor = &flight.FlightDescriptor{}
		}
		if err := (proto.UnmarshalOptions{Merge: true}).Unmarshal(v, fd.FlightDescriptor); err != nil {
			return fmt.Errorf("%w: flight_descriptor: %w", errFlightData, err)
		}
	case fieldDataHeader:
		fd.DataHeader = lastBytes(v)
	case fieldAppMetadata:
		fd.AppMetadata = lastBytes(v)
	case fieldDataBody:
		fd.DataBody = lastBytes(v)
	}
	return nil
}

// lastBytes is the value of a proto3 bytes field read as v: v with its
// capacity bounded, or nil for an empty v, as proto.Unmarshal leaves it.
func lastBytes(v []byte) []byte {
	if len(v) == 0 {
		return nil
	}
	return v[:len(v):len(v)]
}
