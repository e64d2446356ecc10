package payload

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Option configures Encode.
type Option func(*options)

type options struct {
	mem   memory.Allocator
	codec codec
	fresh bool // a new writer for every payload, as before the cache (tests)
}

// codec is a buffer compression: comparable, so that it can key the cache
// of stream writers.
type codec uint8

const (
	codecNone codec = iota
	codecLZ4
	codecZstd
)

// WithZstd compresses the record batch buffers with zstd. Bus payloads are
// uncompressed by default; readers must ship a zstd codec to read them.
func WithZstd() Option { return func(o *options) { o.codec = codecZstd } }

// WithLZ4 compresses the record batch buffers with LZ4 frames.
func WithLZ4() Option { return func(o *options) { o.codec = codecLZ4 } }

// WithoutCompression writes uncompressed buffers (the default). It undoes an
// earlier WithZstd or WithLZ4.
func WithoutCompression() Option { return func(o *options) { o.codec = codecNone } }

// WithAllocator sets the allocator Encode uses for its scratch memory.
// The default is memory.DefaultAllocator.
func WithAllocator(mem memory.Allocator) Option { return func(o *options) { o.mem = mem } }

func newOptions(opts []Option) options {
	o := options{mem: memory.DefaultAllocator}
	for _, opt := range opts {
		opt(&o)
	}
	if o.mem == nil {
		o.mem = memory.DefaultAllocator
	}
	return o
}

func (o options) ipcOptions(extra ...ipc.Option) []ipc.Option {
	out := append([]ipc.Option{ipc.WithAllocator(o.mem)}, extra...)
	switch o.codec {
	case codecLZ4:
		out = append(out, ipc.WithLZ4())
	case codecZstd:
		out = append(out, ipc.WithZstd())
	}
	return out
}

// Compression names, as configured (bus.payload_compression).
const (
	CompressionNone = "none"
	CompressionLZ4  = "lz4"
	CompressionZstd = "zstd"
)

// Compression returns the Option that writes payloads with the named buffer
// compression: CompressionNone (or ""), CompressionLZ4 or CompressionZstd.
// Any Arrow IPC reader with that codec reads the result; Decode reads all
// three.
func Compression(name string) (Option, error) {
	switch name {
	case "", CompressionNone:
		return WithoutCompression(), nil
	case CompressionLZ4:
		return WithLZ4(), nil
	case CompressionZstd:
		return WithZstd(), nil
	}
	return nil, fmt.Errorf("payload compression %q: want %s, %s or %s", name, CompressionNone, CompressionLZ4, CompressionZstd)
}
