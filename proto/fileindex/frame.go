package fileindex

import (
	"encoding/binary"
	"errors"
)

// IPC message header types (the MessageHeader union of Message.fbs).
const (
	headerSchema          = 1
	headerDictionaryBatch = 2
	headerRecordBatch     = 3
)

// errBadMessage reports an IPC message whose framing cannot be read.
var errBadMessage = errors.New("malformed IPC message")

// frame is the position of one complete IPC message in a buffer.
type frame struct {
	meta, body []byte
	kind       byte
	size       int // bytes the message takes, prefix and padding included
}

// nextFrame frames the message at the start of b. ok is false when b does
// not hold a whole message yet; eos is true at the end-of-stream marker.
func nextFrame(b []byte) (f frame, eos, ok bool, err error) {
	pos := 0
	if len(b) < 4 {
		return f, false, false, nil
	}
	n := binary.LittleEndian.Uint32(b)
	if n == 0xFFFFFFFF { // continuation token, then the length
		if len(b) < 8 {
			return f, false, false, nil
		}
		n = binary.LittleEndian.Uint32(b[4:])
		pos = 8
	} else {
		pos = 4
	}
	if n == 0 {
		return f, true, true, nil
	}
	if int64(n) > int64(len(b)-pos) {
		return f, false, false, nil
	}
	meta := b[pos : pos+int(n)]
	kind, bodyLen, err := messageInfo(meta)
	if err != nil {
		return f, false, false, err
	}
	end := int64(pos) + int64(n) + bodyLen
	if end > int64(len(b)) {
		return f, false, false, nil
	}
	return frame{meta: meta, body: b[pos+int(n) : end], kind: kind, size: int(end)}, false, true, nil
}

// messageInfo reads the header type and body length of a Message flatbuffer
// (table fields 1 and 3).
func messageInfo(meta []byte) (kind byte, bodyLen int64, err error) {
	if len(meta) < 4 {
		return 0, 0, errBadMessage
	}
	table := int(binary.LittleEndian.Uint32(meta))
	if table < 0 || table+4 > len(meta) {
		return 0, 0, errBadMessage
	}
	vtable := table - int(int32(binary.LittleEndian.Uint32(meta[table:])))
	if vtable < 0 || vtable+4 > len(meta) {
		return 0, 0, errBadMessage
	}
	vlen := int(binary.LittleEndian.Uint16(meta[vtable:]))
	field := func(i int) int {
		at := vtable + 4 + 2*i
		if 4+2*i+2 > vlen || at+2 > len(meta) {
			return 0
		}
		return int(binary.LittleEndian.Uint16(meta[at:]))
	}
	if off := field(1); off != 0 {
		if table+off >= len(meta) {
			return 0, 0, errBadMessage
		}
		kind = meta[table+off]
	}
	if off := field(3); off != 0 {
		if table+off+8 > len(meta) {
			return 0, 0, errBadMessage
		}
		bodyLen = int64(binary.LittleEndian.Uint64(meta[table+off:]))
	}
	if bodyLen < 0 {
		return 0, 0, errBadMessage
	}
	return kind, bodyLen, nil
}
