package ingestflight

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// randomFlightData returns the wire bytes of a FlightData with random
// fields, sometimes repeated, empty, of a wrong wire type, or unknown.
func randomFlightData(r *rand.Rand) []byte {
	var b []byte
	randBytes := func(n int) []byte {
		v := make([]byte, n)
		for i := range v {
			v[i] = byte(r.IntN(256))
		}
		return v
	}
	for range r.IntN(7) {
		switch r.IntN(8) {
		case 0:
			d := &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"traces", string(randBytes(r.IntN(3)))}}
			if r.IntN(2) == 0 {
				d = &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: randBytes(r.IntN(5))}
			}
			m, _ := proto.Marshal(d)
			b = protowire.AppendTag(b, fieldDescriptor, protowire.BytesType)
			b = protowire.AppendBytes(b, m)
		case 1:
			b = protowire.AppendTag(b, fieldDataHeader, protowire.BytesType)
			b = protowire.AppendBytes(b, randBytes(r.IntN(300)))
		case 2:
			b = protowire.AppendTag(b, fieldAppMetadata, protowire.BytesType)
			b = protowire.AppendBytes(b, randBytes(r.IntN(4)))
		case 3, 4:
			b = protowire.AppendTag(b, fieldDataBody, protowire.BytesType)
			b = protowire.AppendBytes(b, randBytes(r.IntN(5000)))
		case 5: // known number, wrong wire type: an unknown field
			b = protowire.AppendTag(b, fieldDataHeader, protowire.VarintType)
			b = protowire.AppendVarint(b, r.Uint64())
		case 6:
			b = protowire.AppendTag(b, protowire.Number(4+r.IntN(900)), protowire.Fixed64Type)
			b = protowire.AppendFixed64(b, r.Uint64())
		case 7:
			b = protowire.AppendTag(b, 17, protowire.BytesType)
			b = protowire.AppendBytes(b, randBytes(r.IntN(20)))
		}
	}
	return b
}

// sameFlightData compares the fields the server reads (unknown fields are
// not kept by unmarshalFlightData).
func sameFlightData(t *testing.T, got, want *flight.FlightData) {
	t.Helper()
	if !proto.Equal(got.GetFlightDescriptor(), want.GetFlightDescriptor()) ||
		(got.FlightDescriptor == nil) != (want.FlightDescriptor == nil) {
		t.Fatalf("descriptor: got %v, want %v", got.FlightDescriptor, want.FlightDescriptor)
	}
	for _, f := range []struct {
		name      string
		got, want []byte
	}{
		{"data_header", got.DataHeader, want.DataHeader},
		{"app_metadata", got.AppMetadata, want.AppMetadata},
		{"data_body", got.DataBody, want.DataBody},
	} {
		if !bytes.Equal(f.got, f.want) || (f.got == nil) != (f.want == nil) {
			t.Fatalf("%s: got %x (nil %v), want %x (nil %v)", f.name, f.got, f.got == nil, f.want, f.want == nil)
		}
	}
}

// chunks splits b into a BufferSlice of random pieces, as gRPC hands a
// message read from several frames.
func chunks(r *rand.Rand, b []byte) mem.BufferSlice {
	var s mem.BufferSlice
	for len(b) > 0 {
		n := 1 + r.IntN(len(b))
		s = append(s, mem.SliceBuffer(b[:n]))
		b = b[n:]
	}
	return s
}

func TestFlightCodecMatchesProto(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	codec := flightCodec{encoding.GetCodecV2("proto")}
	for i := range 3000 {
		wire := randomFlightData(r)
		// Also every truncation of some messages: malformed input.
		cuts := []int{len(wire)}
		if i%20 == 0 {
			for c := range len(wire) {
				cuts = append(cuts, c)
			}
		}
		for _, c := range cuts {
			in := wire[:c]
			var want flight.FlightData
			wantErr := proto.Unmarshal(in, &want)
			var got flight.FlightData
			got.AppMetadata = []byte("stale") // Unmarshal resets
			gotErr := codec.Unmarshal(chunks(r, bytes.Clone(in)), &got)
			if (gotErr != nil) != (wantErr != nil) {
				t.Fatalf("message %d cut at %d: error %v, proto.Unmarshal %v", i, c, gotErr, wantErr)
			}
			if gotErr != nil {
				continue
			}
			sameFlightData(t, &got, &want)
			if b := got.DataBody; len(b) > 0 && uintptr(unsafe.Pointer(&b[0]))%bodyAlign != 0 {
				t.Fatalf("message %d: data_body not aligned", i)
			}
		}
	}
}

func TestFlightCodecAlignsBody(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	codec := flightCodec{encoding.GetCodecV2("proto")}
	for range 500 {
		var fd flight.FlightData
		fd.DataHeader = make([]byte, r.IntN(200))
		fd.AppMetadata = make([]byte, r.IntN(3))
		fd.DataBody = make([]byte, 1+r.IntN(2000))
		wire, err := proto.Marshal(&fd)
		if err != nil {
			t.Fatal(err)
		}
		var got flight.FlightData
		if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, &got); err != nil {
			t.Fatal(err)
		}
		if p := uintptr(unsafe.Pointer(&got.DataBody[0])); p%bodyAlign != 0 {
			t.Fatalf("data_body at an address %d mod %d", p%bodyAlign, bodyAlign)
		}
		if cap(got.DataBody) != len(got.DataBody) {
			t.Fatalf("data_body capacity %d beyond its length %d", cap(got.DataBody), len(got.DataBody))
		}
	}
}

// TestFlightCodecOtherMessages: messages other than FlightData go to the
// standard codec.
func TestFlightCodecOtherMessages(t *testing.T) {
	codec := flightCodec{encoding.GetCodecV2("proto")}
	want := &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"logs"}}
	wire, _ := proto.Marshal(want)
	var got flight.FlightDescriptor
	if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, &got); err != nil || !proto.Equal(&got, want) {
		t.Fatalf("got %v, %v; want %v", &got, err, want)
	}
}

// BenchmarkFlightDataUnmarshal decodes a FlightData carrying a 1 MiB body
// with the standard proto codec and with flightCodec.
func BenchmarkFlightDataUnmarshal(b *testing.B) {
	wire, err := proto.Marshal(&flight.FlightData{DataHeader: make([]byte, 2000), DataBody: make([]byte, 1<<20)})
	if err != nil {
		b.Fatal(err)
	}
	// gRPC hands a message over in 16 KiB pieces.
	var data mem.BufferSlice
	for rest := wire; len(rest) > 0; {
		n := min(len(rest), 16<<10)
		data = append(data, mem.SliceBuffer(rest[:n]))
		rest = rest[n:]
	}
	std := encoding.GetCodecV2("proto")
	for _, c := range []struct {
		name  string
		codec encoding.CodecV2
	}{{"proto", std}, {"flight", flightCodec{std}}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			for b.Loop() {
				var fd flight.FlightData
				if err := c.codec.Unmarshal(data, &fd); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
