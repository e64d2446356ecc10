package payload

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// frame is one message of a stream: its flatbuffer metadata and its body,
// both views of the stream's bytes, and what verifyMessage read of its
// header.
type frame struct {
	meta, body []byte
	msgInfo
}

// msgInfo is what the cached decode path needs of a message's header.
type msgInfo struct {
	kind       uint8 // the header type (headerSchema, ...), 0 without a header
	dictID     int64 // a dictionary batch's id
	delta      bool  // a dictionary batch that adds to its dictionary
	compressed bool  // a record or dictionary batch with compressed buffers
	codec      uint8 // its BodyCompression codec when compressed: 0 LZ4_FRAME, 1 ZSTD
	length     int64 // a record or dictionary batch's row count
}

// verifyStream checks the framing and flatbuffer metadata of an Arrow IPC
// stream before the arrow reader sees it, and returns its messages up to
// the end-of-stream marker. The reader trusts flatbuffer vector lengths (it
// allocates slices of them) and recurses into nested fields without bounds:
// a few corrupt bytes could make it allocate gigabytes or recurse forever,
// which no recover can catch. Anything else wrong (bad offsets, bad
// buffers) only panics or errors, and Decode handles that.
func verifyStream(b []byte) ([]frame, error) {
	var frames []frame
	pos := 0
	for pos < len(b) {
		if len(b)-pos < 4 {
			return nil, errors.New("truncated message header")
		}
		metaLen := int64(binary.LittleEndian.Uint32(b[pos:]))
		pos += 4
		if metaLen == 0xFFFFFFFF { // continuation marker, then the length
			if len(b)-pos < 4 {
				return nil, errors.New("truncated message length")
			}
			metaLen = int64(int32(binary.LittleEndian.Uint32(b[pos:])))
			pos += 4
		}
		if metaLen == 0 {
			return frames, nil // end of stream
		}
		if metaLen < 4 || metaLen > int64(len(b)-pos) {
			return nil, fmt.Errorf("message metadata length %d out of bounds", metaLen)
		}
		meta := b[pos : pos+int(metaLen) : pos+int(metaLen)]
		bodyLen, info, err := verifyMessage(meta)
		if err != nil {
			return nil, fmt.Errorf("message at %d: %w", pos, err)
		}
		pos += int(metaLen)
		if bodyLen < 0 || bodyLen > int64(len(b)-pos) {
			return nil, fmt.Errorf("message body length %d out of bounds", bodyLen)
		}
		frames = append(frames, frame{meta: meta, body: b[pos : pos+int(bodyLen) : pos+int(bodyLen)], msgInfo: info})
		pos += int(bodyLen)
	}
	return frames, nil
}

// Message header union types (Message.fbs).
const (
	headerSchema          = 1
	headerDictionaryBatch = 2
	headerRecordBatch     = 3
)

// Type union members whose tables hold vectors (Schema.fbs).
const typeUnion = 14

// maxFieldDepth bounds nested fields; our schemas nest a handful deep.
const maxFieldDepth = 64

// verifyMessage checks a Message table and returns its body length and
// what the header says.
func verifyMessage(buf []byte) (int64, msgInfo, error) {
	var info msgInfo
	fb := flatbuf{buf: buf}
	root, err := fb.root()
	if err != nil {
		return 0, info, err
	}
	if err := fb.keyValues(root, 4); err != nil {
		return 0, info, err
	}
	bodyLen, err := fb.int64Field(root, 3)
	if err != nil {
		return 0, info, err
	}
	headerType, err := fb.uint8Field(root, 1)
	if err != nil {
		return 0, info, err
	}
	header, ok, err := fb.tableField(root, 2)
	if err != nil || !ok {
		return bodyLen, info, err
	}
	info.kind = headerType
	switch headerType {
	case headerSchema:
		// Every field table takes more than 4 bytes, so a tree of fields
		// cannot have more nodes than that; more means shared subtables.
		budget := len(buf) / 4
		return bodyLen, info, fb.schema(header, &budget)
	case headerRecordBatch:
		err = fb.recordBatch(header, &info)
		return bodyLen, info, err
	case headerDictionaryBatch:
		// DictionaryBatch: id (0), data (1), isDelta (2).
		if info.dictID, err = fb.int64Field(header, 0); err != nil {
			return bodyLen, info, err
		}
		delta, err := fb.uint8Field(header, 2)
		if err != nil {
			return bodyLen, info, err
		}
		info.delta = delta != 0
		rb, ok, err := fb.tableField(header, 1)
		if err != nil || !ok {
			return bodyLen, info, err
		}
		err = fb.recordBatch(rb, &info)
		return bodyLen, info, err
	}
	return bodyLen, info, nil
}

// schema checks a Schema table: fields (1), custom_metadata (2),
// features (3).
func (fb flatbuf) schema(t int, budget *int) error {
	if err := fb.keyValues(t, 2); err != nil {
		return err
	}
	if _, _, err := fb.vector(t, 3, 8); err != nil {
		return err
	}
	return fb.fields(t, 1, 0, budget)
}

// fields checks the vector of Field tables in slot of table t.
func (fb flatbuf) fields(t, slot, depth int, budget *int) error {
	start, n, err := fb.vector(t, slot, 4)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		f, err := fb.indirect(start + 4*i)
		if err != nil {
			return err
		}
		if err := fb.field(f, depth, budget); err != nil {
			return err
		}
	}
	return nil
}

// field checks a Field table: type_type (2), type (3), dictionary (4),
// children (5), custom_metadata (6).
func (fb flatbuf) field(t, depth int, budget *int) error {
	*budget--
	if *budget < 0 {
		return errors.New("too many fields")
	}
	if depth > maxFieldDepth {
		return errors.New("fields nested too deep")
	}
	if err := fb.table(t); err != nil {
		return err
	}
	if err := fb.keyValues(t, 6); err != nil {
		return err
	}
	typeType, err := fb.uint8Field(t, 2)
	if err != nil {
		return err
	}
	if typ, ok, err := fb.tableField(t, 3); err != nil {
		return err
	} else if ok && typeType == typeUnion {
		if _, _, err := fb.vector(typ, 1, 4); err != nil { // typeIds
			return err
		}
	}
	if dict, ok, err := fb.tableField(t, 4); err != nil {
		return err
	} else if ok {
		if _, _, err := fb.tableField(dict, 1); err != nil { // indexType
			return err
		}
	}
	return fb.fields(t, 5, depth+1, budget)
}

// recordBatch checks a RecordBatch table: length (0), nodes (1, 16-byte
// structs), buffers (2, 16-byte structs), compression (3, a BodyCompression:
// codec (0), method (1)), variadicBufferCounts (4). It records the row count
// and whether and how the batch's buffers are compressed in info.
func (fb flatbuf) recordBatch(t int, info *msgInfo) error {
	var err error
	if info.length, err = fb.int64Field(t, 0); err != nil {
		return err
	}
	if _, _, err := fb.vector(t, 1, 16); err != nil {
		return err
	}
	if _, _, err := fb.vector(t, 2, 16); err != nil {
		return err
	}
	bc, compressed, err := fb.tableField(t, 3)
	if err != nil {
		return err
	}
	info.compressed = compressed
	if compressed {
		if info.codec, err = fb.uint8Field(bc, 0); err != nil {
			return err
		}
	}
	_, _, err = fb.vector(t, 4, 8)
	return err
}

// keyValues checks a vector of KeyValue tables (two strings each).
func (fb flatbuf) keyValues(t, slot int) error {
	start, n, err := fb.vector(t, slot, 4)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		kv, err := fb.indirect(start + 4*i)
		if err != nil {
			return err
		}
		if err := fb.table(kv); err != nil {
			return err
		}
		for slot := range 2 {
			if _, _, err := fb.vector(kv, slot, 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// flatbuf reads a flatbuffer with every access bounds-checked.
type flatbuf struct{ buf []byte }

var errBounds = errors.New("flatbuffer offset out of bounds")

func (fb flatbuf) u32(pos int) (uint32, error) {
	if pos < 0 || pos > len(fb.buf)-4 {
		return 0, errBounds
	}
	return binary.LittleEndian.Uint32(fb.buf[pos:]), nil
}

func (fb flatbuf) u16(pos int) (uint16, error) {
	if pos < 0 || pos > len(fb.buf)-2 {
		return 0, errBounds
	}
	return binary.LittleEndian.Uint16(fb.buf[pos:]), nil
}

// indirect follows the uoffset stored at pos.
func (fb flatbuf) indirect(pos int) (int, error) {
	off, err := fb.u32(pos)
	if err != nil {
		return 0, err
	}
	target := int64(pos) + int64(off)
	if target >= int64(len(fb.buf)) {
		return 0, errBounds
	}
	return int(target), nil
}

func (fb flatbuf) root() (int, error) {
	t, err := fb.indirect(0)
	if err != nil {
		return 0, err
	}
	return t, fb.table(t)
}

// table checks the table at t and its vtable.
func (fb flatbuf) table(t int) error {
	soff, err := fb.u32(t)
	if err != nil {
		return err
	}
	vt := int64(t) - int64(int32(soff))
	if vt < 0 || vt > int64(len(fb.buf))-4 {
		return errBounds
	}
	vtSize, _ := fb.u16(int(vt))
	tSize, _ := fb.u16(int(vt) + 2)
	if vtSize < 4 || vtSize%2 != 0 || vt+int64(vtSize) > int64(len(fb.buf)) ||
		tSize < 4 || int64(t)+int64(tSize) > int64(len(fb.buf)) {
		return errBounds
	}
	return nil
}

// fieldPos returns the position of slot in table t, or 0 when absent.
func (fb flatbuf) fieldPos(t, slot int) (int, error) {
	soff, err := fb.u32(t)
	if err != nil {
		return 0, err
	}
	vt := t - int(int32(soff))
	vtSize, err := fb.u16(vt)
	if err != nil {
		return 0, err
	}
	entry := 4 + 2*slot
	if entry+2 > int(vtSize) {
		return 0, nil
	}
	off, err := fb.u16(vt + entry)
	if err != nil || off == 0 {
		return 0, err
	}
	return t + int(off), nil
}

func (fb flatbuf) uint8Field(t, slot int) (uint8, error) {
	pos, err := fb.fieldPos(t, slot)
	if err != nil || pos == 0 {
		return 0, err
	}
	if pos >= len(fb.buf) {
		return 0, errBounds
	}
	return fb.buf[pos], nil
}

func (fb flatbuf) int64Field(t, slot int) (int64, error) {
	pos, err := fb.fieldPos(t, slot)
	if err != nil || pos == 0 {
		return 0, err
	}
	if pos > len(fb.buf)-8 {
		return 0, errBounds
	}
	return int64(binary.LittleEndian.Uint64(fb.buf[pos:])), nil
}

// tableField returns the table in slot of t, checked.
func (fb flatbuf) tableField(t, slot int) (int, bool, error) {
	pos, err := fb.fieldPos(t, slot)
	if err != nil || pos == 0 {
		return 0, false, err
	}
	sub, err := fb.indirect(pos)
	if err != nil {
		return 0, false, err
	}
	return sub, true, fb.table(sub)
}

// vector returns the start of the elements and the length of the vector
// (or string, elemSize 1) in slot of t, checking it fits in the buffer.
func (fb flatbuf) vector(t, slot, elemSize int) (int, int, error) {
	pos, err := fb.fieldPos(t, slot)
	if err != nil || pos == 0 {
		return 0, 0, err
	}
	v, err := fb.indirect(pos)
	if err != nil {
		return 0, 0, err
	}
	n, err := fb.u32(v)
	if err != nil {
		return 0, 0, err
	}
	if int64(v)+4+int64(n)*int64(elemSize) > int64(len(fb.buf)) {
		return 0, 0, errBounds
	}
	return v + 4, int(n), nil
}
