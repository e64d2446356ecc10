package bus

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zeebo/xxh3"

	"github.com/otlp-arrow/otlp-arrow/proto/payload"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Publish errors. Publish and PublishAll wrap one of them (beside the
// original error) whenever the cause is known, so ingest can answer OTLP
// clients with the right retry semantics.
var (
	// ErrFull means the stream is at its limits (max_bytes, storage): the
	// bus applies backpressure. Retryable later.
	ErrFull = errors.New("bus: stream full")
	// ErrUnavailable means the bus cannot be reached or did not answer in
	// time. Retryable.
	ErrUnavailable = errors.New("bus: unavailable")
	// ErrTooLarge means a message exceeds the server's max payload or the
	// stream's max message size. Permanent. It is payload.ErrTooLarge, so
	// one errors.Is test covers a row too large to encode as well.
	ErrTooLarge = payload.ErrTooLarge
)

// DefaultPublishTimeout bounds PublishAll when ctx has no deadline.
const DefaultPublishTimeout = 30 * time.Second

// HeaderAllowance is the room PayloadLimit keeps for subject and headers.
const HeaderAllowance = 1024

// Message is one bus message before publishing.
type Message struct {
	Signal schema.Signal
	// Services are the exact service.name values of the payload's rows
	// (the service_name column), each once, in the order they first appear;
	// "" for rows without one. They make the subject (see MessageSubject)
	// and the Otlp-Services header.
	Services []string
	Source   string // ingest path: grpc, http, flight, otap, sdk
	Rows     int
	Payload  []byte // one Arrow IPC stream, see package payload
}

// HeadersLen bounds the bytes that NewMsg adds to a payload of a message
// with these services beside the HeaderAllowance: the Otlp-Services
// header's.
func HeadersLen(services []string) int {
	return len(HeaderServices) + len(": \r\n") + len(EncodeServices(services))
}

// NewMsg builds the NATS message for m: its subject (MessageSubject), the
// Otlp-* and Content-Type headers, Nats-Msg-Id, a hash of subject and
// payload (see [MsgID]), so a retried request is deduplicated within the
// stream's duplicate window, Nats-Expected-Stream, and last Otlp-Pad (see
// padding).
func NewMsg(m Message) *nats.Msg {
	subject := MessageSubject(m.Signal, m.Services)
	msg := nats.NewMsg(subject)
	msg.Data = m.Payload
	msg.Header.Set(HeaderContentType, ContentType)
	msg.Header.Set(HeaderContract, ContractVersion)
	msg.Header.Set(HeaderSignal, string(m.Signal))
	msg.Header.Set(HeaderSchema, m.Signal.Version())
	msg.Header.Set(HeaderRows, strconv.Itoa(m.Rows))
	services := m.Services
	if len(services) == 0 {
		services = []string{""}
	}
	msg.Header.Set(HeaderServices, EncodeServices(services))
	if m.Source != "" {
		msg.Header.Set(HeaderSource, m.Source)
	}
	msg.Header.Set(jetstream.MsgIDHeader, MsgID(subject, m.Payload))
	// What jetstream.WithExpectStream sets, here so the padding counts it.
	msg.Header.Set(jetstream.ExpectedStreamHeader, StreamName(m.Signal))
	msg.Header.Set(HeaderPad, padding(msg.Header))
	return msg
}

// padding returns the Otlp-Pad value that makes the header block of a
// message with headers h and that header a multiple of 8 bytes long. A
// subscriber's client library (nats.go among them) receives a message's
// header block and payload into one allocation, payload after headers, so
// the payload then starts 8-byte aligned and an Arrow reader can use its
// buffers in place instead of copying them (see payload.Decode). The size
// is the NATS header block's: "NATS/1.0\r\n", "Key: value\r\n" for
// each value (trimmed), and a final "\r\n".
func padding(h nats.Header) string {
	size := len("NATS/1.0\r\n") + len("\r\n")
	for k, vs := range h {
		if k == HeaderPad {
			continue
		}
		for _, v := range vs {
			size += len(k) + len(": ") + len(strings.TrimSpace(v)) + len("\r\n")
		}
	}
	size += len(HeaderPad) + len(": ") + len("\r\n")
	n := (8 - size%8) % 8
	if n == 0 {
		n = 8 // a header value is not empty
	}
	return "00000000"[:n]
}

// MsgID returns the deduplication id of a payload on a subject: the hex
// XXH3-128 (seed 0, the digest's 16 bytes big-endian) of the subject, a zero
// byte and the payload.
//
// XXH3 rather than SHA-256: it hashes every payload byte that goes on the
// bus, and SHA-256 cost 4 % of the pipeline's CPU at 1000-span requests. The
// id needs no collision resistance against crafted input: whoever can make
// two payloads collide controls the payloads, and could as well send the
// same one twice, which content-addressed deduplication also drops.
func MsgID(subject string, data []byte) string {
	h := xxh3.New128()
	_, _ = h.WriteString(subject)
	_, _ = h.Write([]byte{0})
	_, _ = h.Write(data)
	b := h.Sum128().Bytes()
	return hex.EncodeToString(b[:])
}

// ParseMessage reads a bus message back from its subject, headers and data,
// as a consumer receives it. Services come from the Otlp-Services header;
// for a contract 1 message, which has none, they are the subject's service
// token, not necessarily the original service.name. Payload aliases data.
func ParseMessage(subject string, h nats.Header, data []byte) (Message, error) {
	sig, err := schema.ParseSignal(h.Get(HeaderSignal))
	if err != nil {
		return Message{}, fmt.Errorf("parse bus message on %s: %w", subject, err)
	}
	rows, err := strconv.Atoi(h.Get(HeaderRows))
	if err != nil || rows < 0 {
		return Message{}, fmt.Errorf("parse bus message on %s: bad %s header %q", subject, HeaderRows, h.Get(HeaderRows))
	}
	services := []string{serviceFromSubject(subject)}
	if v := h.Get(HeaderServices); v != "" || h.Get(HeaderContract) != "" {
		if services, err = ParseServices(v); err != nil {
			return Message{}, fmt.Errorf("parse bus message on %s: %w", subject, err)
		}
	}
	return Message{
		Signal:   sig,
		Services: services,
		Source:   h.Get(HeaderSource),
		Rows:     rows,
		Payload:  data,
	}, nil
}

// PayloadLimit returns the largest payload to publish on nc: the smaller of
// the server's max payload and the stream's max message size (maxMsgSize,
// <= 0 for DefaultMaxMsgSize), less HeaderAllowance. Use it as Encode's
// maxBytes.
func PayloadLimit(nc *nats.Conn, maxMsgSize int32) int {
	limit := int64(DefaultMaxMsgSize)
	if maxMsgSize > 0 {
		limit = int64(maxMsgSize)
	}
	if mp := nc.MaxPayload(); mp > 0 && mp < limit {
		limit = mp
	}
	return int(limit) - HeaderAllowance
}

// Publish publishes m to the stream of its signal and waits for the
// acknowledgement. Errors wrap ErrFull, ErrUnavailable or ErrTooLarge when
// the cause is one of those (see MapError). A PubAck with Duplicate set
// means the stream already held this payload.
func Publish(ctx context.Context, js jetstream.Publisher, m Message) (*jetstream.PubAck, error) {
	msg := NewMsg(m)
	ack, err := js.PublishMsg(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", msg.Subject, MapError(err))
	}
	return ack, nil
}

// PublishAll publishes msgs concurrently and waits for every
// acknowledgement, or for ctx (DefaultPublishTimeout when ctx has no
// deadline). It returns the first error, mapped as in Publish; messages
// before and after it may have been stored, and a retry of the same
// messages is deduplicated.
func PublishAll(ctx context.Context, js jetstream.Publisher, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultPublishTimeout)
		defer cancel()
	}
	if len(msgs) == 1 {
		_, err := Publish(ctx, js, msgs[0])
		return err
	}
	type pending struct {
		subject string
		future  jetstream.PubAckFuture
	}
	futures := make([]pending, 0, len(msgs))
	var first error
	for _, m := range msgs {
		msg := NewMsg(m)
		f, err := js.PublishMsgAsync(msg)
		if err != nil {
			first = fmt.Errorf("publish %s: %w", msg.Subject, MapError(err))
			break
		}
		futures = append(futures, pending{msg.Subject, f})
	}
	for _, p := range futures {
		select {
		case <-p.future.Ok():
		case err := <-p.future.Err():
			if first == nil {
				first = fmt.Errorf("publish %s: %w", p.subject, MapError(err))
			}
		case <-ctx.Done():
			if first == nil {
				first = fmt.Errorf("publish %s: %w", p.subject, MapError(context.Cause(ctx)))
			}
			return first
		}
	}
	return first
}
