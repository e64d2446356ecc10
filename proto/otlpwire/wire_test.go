package otlpwire

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func TestField(t *testing.T) {
	tag := func(num protowire.Number, typ protowire.Type) []byte { return protowire.AppendTag(nil, num, typ) }
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	tests := []struct {
		name    string
		in      []byte
		num     protowire.Number
		typ     protowire.Type
		v       uint64
		payload []byte
		rest    []byte
		wantErr bool
	}{
		{name: "varint", in: cat(tag(3, protowire.VarintType), protowire.AppendVarint(nil, 300), []byte{9}), num: 3, typ: protowire.VarintType, v: 300, rest: []byte{9}},
		{name: "varint max", in: cat(tag(3, protowire.VarintType), protowire.AppendVarint(nil, 1<<64-1)), num: 3, typ: protowire.VarintType, v: 1<<64 - 1, rest: []byte{}},
		{name: "varint non-minimal", in: []byte{3 << 3, 0x81, 0x80, 0x00}, num: 3, typ: protowire.VarintType, v: 1, rest: []byte{}},
		{name: "varint overflow", in: cat(tag(3, protowire.VarintType), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}), wantErr: true},
		{name: "varint truncated", in: cat(tag(3, protowire.VarintType), []byte{0x80}), wantErr: true},
		{name: "fixed64", in: cat(tag(7, protowire.Fixed64Type), protowire.AppendFixed64(nil, 0x0102030405060708)), num: 7, typ: protowire.Fixed64Type, v: 0x0102030405060708, rest: []byte{}},
		{name: "fixed64 truncated", in: cat(tag(7, protowire.Fixed64Type), []byte{1, 2, 3, 4, 5, 6, 7}), wantErr: true},
		{name: "fixed32", in: cat(tag(16, protowire.Fixed32Type), protowire.AppendFixed32(nil, 0xdeadbeef)), num: 16, typ: protowire.Fixed32Type, v: 0xdeadbeef, rest: []byte{}},
		{name: "fixed32 truncated", in: cat(tag(16, protowire.Fixed32Type), []byte{1, 2, 3}), wantErr: true},
		{name: "bytes", in: cat(tag(5, protowire.BytesType), protowire.AppendBytes(nil, []byte("abc")), []byte{1}), num: 5, typ: protowire.BytesType, payload: []byte("abc"), rest: []byte{1}},
		{name: "bytes empty", in: cat(tag(5, protowire.BytesType), []byte{0}), num: 5, typ: protowire.BytesType, payload: []byte{}, rest: []byte{}},
		{name: "bytes truncated", in: cat(tag(5, protowire.BytesType), []byte{4, 'a', 'b', 'c'}), wantErr: true},
		{name: "bytes length overflows int", in: cat(tag(5, protowire.BytesType), protowire.AppendVarint(nil, 1<<63)), wantErr: true},
		{name: "group skipped", in: cat(tag(9, protowire.StartGroupType), tag(1, protowire.VarintType), []byte{1}, tag(9, protowire.EndGroupType), []byte{7}), num: 9, typ: protowire.StartGroupType, rest: []byte{7}},
		{name: "group unterminated", in: cat(tag(9, protowire.StartGroupType), tag(1, protowire.VarintType), []byte{1}), wantErr: true},
		{name: "group mismatched end", in: cat(tag(9, protowire.StartGroupType), tag(8, protowire.EndGroupType)), wantErr: true},
		{name: "end group alone", in: tag(9, protowire.EndGroupType), wantErr: true},
		{name: "wire type 6", in: []byte{1<<3 | 6, 0}, wantErr: true},
		{name: "wire type 7", in: []byte{1<<3 | 7, 0}, wantErr: true},
		{name: "field number zero", in: []byte{0<<3 | 0, 0}, wantErr: true},
		{name: "largest field number", in: cat(tag(protowire.MaxValidNumber, protowire.VarintType), []byte{1}), num: protowire.MaxValidNumber, typ: protowire.VarintType, v: 1, rest: []byte{}},
		{name: "field number too large", in: cat(protowire.AppendVarint(nil, uint64(protowire.MaxValidNumber+1)<<3), []byte{1}), wantErr: true},
		{name: "tag truncated", in: []byte{0x80}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			num, typ, v, payload, rest, err := field(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got field %d type %d, want an error", num, typ)
				}
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v does not wrap ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if num != tt.num || typ != tt.typ || v != tt.v || !bytes.Equal(payload, tt.payload) || !bytes.Equal(rest, tt.rest) {
				t.Fatalf("got (%d, %d, %d, %x, %x), want (%d, %d, %d, %x, %x)", num, typ, v, payload, rest, tt.num, tt.typ, tt.v, tt.payload, tt.rest)
			}
			if typ == protowire.BytesType && cap(payload) != len(payload) {
				t.Fatalf("payload cap %d, want %d", cap(payload), len(payload))
			}
		})
	}
}

func TestStr(t *testing.T) {
	var d decoder
	for _, tt := range []struct {
		in []byte
		ok bool
	}{
		{[]byte("héllo 日本語 🚀"), true},
		{[]byte{}, true},
		{[]byte("a\x00b"), true},
		{[]byte{0xff}, false},
		{[]byte{0xc0, 0x80}, false},       // overlong
		{[]byte{0xed, 0xa0, 0x80}, false}, // surrogate
		{[]byte{0xe6, 0x97}, false},       // cut rune
	} {
		s, err := d.str(tt.in)
		if (err == nil) != tt.ok || (tt.ok && s != string(tt.in)) {
			t.Errorf("str(%x) = %q, %v; want ok %v", tt.in, s, err, tt.ok)
		}
	}
}

func TestCountFields(t *testing.T) {
	var b []byte
	for _, num := range []protowire.Number{9, 9, 11, 9, 13, 40} {
		b = protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), []byte{1, 2})
	}
	b = protowire.AppendVarint(protowire.AppendTag(b, 9, protowire.VarintType), 5) // not a message
	b = protowire.AppendFixed64(protowire.AppendTag(b, 7, protowire.Fixed64Type), 5)
	b = protowire.AppendFixed32(protowire.AppendTag(b, 16, protowire.Fixed32Type), 5)
	var c [16]int32
	countFields(b, &c)
	if c[9] != 3 || c[11] != 1 || c[13] != 1 {
		t.Fatalf("counts %v, want 3 of 9, 1 of 11 and 13", c)
	}
	countFields([]byte{9<<3 | 2, 100}, &c) // truncated: stops, no panic
}

func TestSlab(t *testing.T) {
	var s slab[int64]
	seen := map[*int64]bool{}
	for range 10000 {
		p := s.new()
		if *p != 0 || seen[p] {
			t.Fatal("new returned a used element")
		}
		*p = 1
		seen[p] = true
	}
	for _, n := range []int{1, 7, 100, 5000} {
		r := s.take(n)
		if len(r) != 0 || cap(r) != n {
			t.Fatalf("take(%d): len %d cap %d", n, len(r), cap(r))
		}
		r = append(r, make([]int64, n)...)
		for i := range r {
			if seen[&r[i]] {
				t.Fatal("take shares an element new handed out")
			}
		}
	}
}
