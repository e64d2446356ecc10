package consume

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// fileLayout turns the bus's v1 batches into the layout of the files when
// it differs (Config.V2: schema.ToV2). The zero value keeps v1.
type fileLayout struct {
	sig schema.Signal // set: files take the v2 layout
	// The v2 schema of the last v1 schema seen: a lane's payloads share
	// one, so it is computed once.
	from, to *arrow.Schema
}

// schema returns the file schema of batches of the v1 schema s.
func (f *fileLayout) schema(s *arrow.Schema) *arrow.Schema {
	if f.sig == "" {
		return s
	}
	if f.from == nil || (f.from != s && !f.from.Equal(s)) {
		f.from, f.to = s, schema.V2Schema(f.sig, s)
	}
	return f.to
}

// writeLayout writes rec to the open file in the file layout.
func (l *Lane) writeLayout(rec arrow.RecordBatch) error {
	if l.layout.sig == "" {
		return l.file.Write(rec)
	}
	v2, err := schema.ToV2(l.cfg.Mem, l.layout.sig, rec)
	if err != nil {
		return fmt.Errorf("convert to %s: %w", l.layout.sig.V2(), err)
	}
	defer v2.Release()
	return l.file.Write(v2)
}
