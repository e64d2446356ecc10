package payload

import (
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// Size is the bytes of memory the buffers of recs hold, dictionaries
// included: what decoded batches cost, whatever their payload's
// compression, and an upper bound of their uncompressed IPC bodies except
// for padding (sliced batches count their whole buffers, so they
// overestimate).
func Size(recs []arrow.RecordBatch) int64 {
	var n int64
	for _, rec := range recs {
		for _, col := range rec.Columns() {
			n += dataSize(col.Data())
		}
	}
	return n
}

func dataSize(d arrow.ArrayData) int64 {
	if d == nil {
		return 0
	}
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len()) + 8 // padding to 8 bytes
		}
	}
	for _, c := range d.Children() {
		n += dataSize(c)
	}
	if d.DataType().ID() == arrow.DICTIONARY {
		n += dataSize(d.Dictionary())
	}
	return n
}

// metaSize remembers, per schema, how many bytes an uncompressed payload
// needed beyond its buffers (schema message, batch and dictionary headers,
// end-of-stream marker) for one batch, and for each further batch.
type metaSize struct {
	mu    sync.Mutex
	sizes map[*arrow.Schema]int
}

var metaSizes = &metaSize{sizes: map[*arrow.Schema]int{}}

// maxSchemas bounds the map: schemas are few (one per signal and version),
// but a Flight client may send any schema.
const maxSchemas = 64

// defaultMeta is the guess before a schema's first payload.
const defaultMeta = 16 << 10

func (m *metaSize) get(s *arrow.Schema, batches int) int {
	m.mu.Lock()
	per, ok := m.sizes[s]
	m.mu.Unlock()
	if !ok {
		per = defaultMeta
	}
	return per * max(batches, 1)
}

func (m *metaSize) put(s *arrow.Schema, batches, extra int) {
	per := extra / max(batches, 1)
	if per <= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sizes[s]; !ok && len(m.sizes) >= maxSchemas {
		clear(m.sizes)
	}
	m.sizes[s] = per + per/8
}
