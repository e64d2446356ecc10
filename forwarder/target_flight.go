package forward

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// flightTarget sends the payload's record batches with Arrow Flight DoPut,
// descriptor path [signal].
type flightTarget struct {
	conn   *grpc.ClientConn
	client flight.Client
	md     metadata.MD
	mem    memory.Allocator
}

var _ target = (*flightTarget)(nil)

func newFlightTarget(c Config, ep *endpoint, hdr http.Header, mem memory.Allocator) (*flightTarget, error) {
	conn, err := dial(c, ep)
	if err != nil {
		return nil, err
	}
	return &flightTarget{conn: conn, client: flight.NewClientFromConn(conn, nil), md: metadataOf(hdr), mem: mem}, nil
}

func (t *flightTarget) prepare(sig schema.Signal, data []byte, keep func(string) bool) (*request, error) {
	s, recs, rows, err := decodePayload(data, t.mem, keep)
	if err != nil {
		return nil, err
	}
	return &request{sig: sig, rows: rows, schema: s, recs: recs}, nil
}

func (t *flightTarget) send(ctx context.Context, req *request) (partial, error) {
	ctx, cancel := context.WithCancel(metadata.NewOutgoingContext(ctx, t.md))
	defer cancel() // ends the stream whatever happens
	stream, err := t.client.DoPut(ctx)
	if err != nil {
		return partial{}, grpcError(ctx, err)
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(req.schema), ipc.WithAllocator(t.mem))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{string(req.sig)}})
	var werr error
	for _, rec := range req.recs {
		if werr = w.Write(rec); werr != nil {
			break
		}
	}
	werr = errors.Join(werr, w.Close(), stream.CloseSend())
	// The server's answer (and its status, when it failed the stream) comes
	// through Recv, also after a failed write.
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return partial{}, grpcError(ctx, err)
		}
	}
	if werr != nil {
		return partial{}, retryableError(werr, 0, "flight: write: %v", werr)
	}
	return partial{}, nil
}

func (t *flightTarget) close() error { return t.conn.Close() }
