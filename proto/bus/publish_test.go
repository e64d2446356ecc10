package bus_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zeebo/xxh3"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func testMessage(sig schema.Signal, service, data string) bus.Message {
	return bus.Message{Signal: sig, Services: []string{service}, Source: "grpc", Rows: 3, Payload: []byte(data)}
}

func TestPublishHeadersAndDedup(t *testing.T) {
	ctx := testCtx(t)
	_, _, js := bustest.RunJetStream(t)
	m := testMessage(schema.Metrics, "shop.api", "arrow bytes")

	ack, err := bus.Publish(ctx, js, m)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	if ack.Stream != "OTLP_METRICS" || ack.Duplicate {
		t.Fatalf("first ack: got %+v", ack)
	}
	ack, err = bus.Publish(ctx, js, m)
	if err != nil {
		t.Fatalf("publish again: %v", err)
	}
	if !ack.Duplicate {
		t.Fatalf("second ack: got Duplicate false, want true")
	}
	other := m
	other.Services = []string{"other"}
	if ack, err = bus.Publish(ctx, js, other); err != nil || ack.Duplicate {
		t.Fatalf("same payload, other subject: ack %+v, err %v; want stored", ack, err)
	}
	wantMsgs(t, js, schema.Metrics, 2)

	msg := ackOne(t, js, schema.Metrics, bus.DurableWriter)
	if got, want := msg.Subject(), "otlp.metrics.shop_api"; got != want {
		t.Errorf("subject: got %q, want %q", got, want)
	}
	h := msg.Headers()
	for _, c := range []struct{ key, want string }{
		{"Content-Type", "application/vnd.apache.arrow.stream"},
		{"Otlp-Contract", "2"},
		{"Otlp-Services", `["shop.api"]`},
		{"Otlp-Signal", "metrics"},
		{"Otlp-Schema", "metrics/v1"},
		{"Otlp-Rows", "3"},
		{"Otlp-Source", "grpc"},
		{"Nats-Msg-Id", bus.MsgID("otlp.metrics.shop_api", m.Payload)},
	} {
		if got := h.Get(c.key); got != c.want {
			t.Errorf("header %s: got %q, want %q", c.key, got, c.want)
		}
	}
	if !bytes.Equal(msg.Data(), m.Payload) {
		t.Errorf("data: got %q, want %q", msg.Data(), m.Payload)
	}

	parsed, err := bus.ParseMessage(msg.Subject(), h, msg.Data())
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	want := m
	if parsed.Signal != want.Signal || !slices.Equal(parsed.Services, want.Services) || parsed.Source != want.Source ||
		parsed.Rows != want.Rows || !bytes.Equal(parsed.Payload, want.Payload) {
		t.Errorf("parsed: got %+v, want %+v", parsed, want)
	}
	// A contract 1 message: the service is the subject's token.
	h.Del(bus.HeaderContract)
	h.Del(bus.HeaderServices)
	if parsed, err = bus.ParseMessage(msg.Subject(), h, msg.Data()); err != nil || !slices.Equal(parsed.Services, []string{"shop_api"}) {
		t.Errorf("parse contract 1: services %q, err %v; want [shop_api]", parsed.Services, err)
	}
}

// TestMixedMessage: a message of several services goes on the signal's
// mixed subject, which a consumer of otlp.<signal>.> receives, and lists
// every name exactly, whatever characters it holds.
func TestMixedMessage(t *testing.T) {
	ctx := testCtx(t)
	_, _, js := bustest.RunJetStream(t)
	services := []string{"shop.api", "a,b", `quo"te\`, "", "é ü 日本", "\x01tab\t", "🙂", bus.MixedToken}
	m := bus.Message{Signal: schema.Traces, Services: services, Source: "grpc", Rows: 8, Payload: []byte("x")}
	if _, err := bus.Publish(ctx, js, m); err != nil {
		t.Fatal(err)
	}
	msg := ackOne(t, js, schema.Traces, bus.DurableWriter)
	if got, want := msg.Subject(), "otlp.traces._mixed"; got != want {
		t.Errorf("subject: got %q, want %q", got, want)
	}
	v := msg.Headers().Get(bus.HeaderServices)
	for _, r := range v {
		if r < 0x20 || r > 0x7e {
			t.Errorf("%s is not printable ASCII: %q", bus.HeaderServices, v)
			break
		}
	}
	var decoded []string // any JSON parser reads it
	if err := json.Unmarshal([]byte(v), &decoded); err != nil || !slices.Equal(decoded, services) {
		t.Errorf("%s %s: decoded %q (%v), want %q", bus.HeaderServices, v, decoded, err, services)
	}
	parsed, err := bus.ParseMessage(msg.Subject(), msg.Headers(), msg.Data())
	if err != nil || !slices.Equal(parsed.Services, services) {
		t.Errorf("parsed services %q (%v), want %q", parsed.Services, err, services)
	}
	if got := bus.ServiceToken(bus.MixedToken); got == bus.MixedToken {
		t.Errorf("ServiceToken(%q) is the mixed token", bus.MixedToken)
	}
}

func TestParseMessageErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    nats.Header
	}{
		{"no signal", nats.Header{"Otlp-Rows": {"1"}}},
		{"bad signal", nats.Header{"Otlp-Signal": {"spans"}, "Otlp-Rows": {"1"}}},
		{"bad rows", nats.Header{"Otlp-Signal": {"logs"}, "Otlp-Rows": {"x"}}},
		{"negative rows", nats.Header{"Otlp-Signal": {"logs"}, "Otlp-Rows": {"-1"}}},
		{"bad services", nats.Header{"Otlp-Signal": {"logs"}, "Otlp-Rows": {"1"}, "Otlp-Services": {"a,b"}}},
		{"contract 2 without services", nats.Header{"Otlp-Signal": {"logs"}, "Otlp-Rows": {"1"}, "Otlp-Contract": {"2"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := bus.ParseMessage("otlp.logs.a", tt.h, nil); err == nil {
				t.Fatal("got nil error")
			}
		})
	}
}

func TestPublishFull(t *testing.T) {
	ctx := testCtx(t)
	_, _, js := bustest.RunJetStream(t, bustest.WithMaxBytes(4096))
	var err error
	for i := range 100 {
		_, err = bus.Publish(ctx, js, testMessage(schema.Logs, "svc", fmt.Sprintf("%04d%s", i, bytes.Repeat([]byte("x"), 500))))
		if err != nil {
			break
		}
	}
	if !errors.Is(err, bus.ErrFull) {
		t.Fatalf("publish to a full stream: got %v, want ErrFull", err)
	}
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("publish to a full stream: %v does not keep the API error", err)
	}
	t.Logf("full: %v", err)

	// PublishAll reports the same (for messages no smaller than the one
	// refused).
	err = bus.PublishAll(ctx, js, []bus.Message{
		testMessage(schema.Logs, "svc", "more-1"+strings.Repeat("x", 500)),
		testMessage(schema.Logs, "svc", "more-2"+strings.Repeat("x", 500)),
	})
	if !errors.Is(err, bus.ErrFull) {
		t.Fatalf("PublishAll to a full stream: got %v, want ErrFull", err)
	}
}

func TestPublishTooLarge(t *testing.T) {
	ctx := testCtx(t)
	_, nc, js := bustest.RunJetStream(t, bustest.WithStreamsConfig(func(c *bus.StreamsConfig) {
		c.MaxMsgSize = 64 << 10
	}))
	if got, want := nc.MaxPayload(), int64(8<<20); got != want {
		t.Fatalf("server max payload: got %d, want %d", got, want)
	}
	if got, want := bus.PayloadLimit(nc, 64<<10), 64<<10-bus.HeaderAllowance; got != want {
		t.Errorf("PayloadLimit with a small stream: got %d, want %d", got, want)
	}
	if got, want := bus.PayloadLimit(nc, 0), 8<<20-bus.HeaderAllowance; got != want {
		t.Errorf("PayloadLimit default: got %d, want %d", got, want)
	}

	for _, tt := range []struct {
		name string
		size int
	}{
		{"over the stream's max message size", 100 << 10},
		{"over the server's max payload", 9 << 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := testMessage(schema.Traces, "svc", "")
			m.Payload = make([]byte, tt.size)
			_, err := bus.Publish(ctx, js, m)
			if !errors.Is(err, bus.ErrTooLarge) {
				t.Fatalf("publish %d bytes: got %v, want ErrTooLarge", tt.size, err)
			}
			err = bus.PublishAll(ctx, js, []bus.Message{testMessage(schema.Traces, "svc", "small"), m})
			if !errors.Is(err, bus.ErrTooLarge) {
				t.Fatalf("PublishAll with %d bytes: got %v, want ErrTooLarge", tt.size, err)
			}
		})
	}
}

func TestPublishUnavailable(t *testing.T) {
	ctx := testCtx(t)
	srv, _, js := bustest.RunJetStream(t)
	if _, err := bus.Publish(ctx, js, testMessage(schema.Logs, "svc", "before")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	srv.Shutdown()

	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := bus.Publish(short, js, testMessage(schema.Logs, "svc", "after"))
	if !errors.Is(err, bus.ErrUnavailable) {
		t.Fatalf("publish with the server down: got %v, want ErrUnavailable", err)
	}
	t.Logf("unavailable: %v", err)
	err = bus.PublishAll(short, js, []bus.Message{
		testMessage(schema.Logs, "svc", "after-1"),
		testMessage(schema.Logs, "svc", "after-2"),
	})
	if !errors.Is(err, bus.ErrUnavailable) {
		t.Fatalf("PublishAll with the server down: got %v, want ErrUnavailable", err)
	}
}

// TestPublishNoStream: a signal's stream missing (never declared) means
// nobody answers: unavailable, retryable.
func TestPublishNoStream(t *testing.T) {
	ctx := testCtx(t)
	_, _, js := bustest.RunJetStream(t, bustest.WithoutStreams())
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := bus.Publish(short, js, testMessage(schema.Logs, "svc", "x"))
	if !errors.Is(err, bus.ErrUnavailable) {
		t.Fatalf("publish without a stream: got %v, want ErrUnavailable", err)
	}
}

func TestPublishAll(t *testing.T) {
	ctx := testCtx(t)
	_, _, js := bustest.RunJetStream(t)
	if err := bus.PublishAll(ctx, js, nil); err != nil {
		t.Fatalf("PublishAll(nil): %v", err)
	}
	var msgs []bus.Message
	for i := range 20 {
		sig := schema.Signals[i%3]
		msgs = append(msgs, testMessage(sig, fmt.Sprintf("svc-%d", i), fmt.Sprintf("payload-%d", i)))
	}
	if err := bus.PublishAll(ctx, js, msgs); err != nil {
		t.Fatalf("PublishAll: %v", err)
	}
	wantMsgs(t, js, schema.Traces, 7)
	wantMsgs(t, js, schema.Metrics, 7)
	wantMsgs(t, js, schema.Logs, 6)
	// A retry of the same request stores nothing new.
	if err := bus.PublishAll(ctx, js, msgs); err != nil {
		t.Fatalf("PublishAll again: %v", err)
	}
	wantMsgs(t, js, schema.Traces, 7)
}

func TestMapError(t *testing.T) {
	api := func(code jetstream.ErrorCode, status int, desc string) error {
		return fmt.Errorf("nats: %w", &jetstream.APIError{ErrorCode: code, Code: status, Description: desc})
	}
	for _, tt := range []struct {
		name string
		err  error
		want error // nil: unchanged
	}{
		{"store full", api(10077, 503, "maximum bytes exceeded"), bus.ErrFull},
		{"store msgs", api(10077, 503, "maximum messages exceeded"), bus.ErrFull},
		{"store too large", api(10077, 503, "message too large"), bus.ErrTooLarge},
		{"storage resources", api(10047, 500, "insufficient storage resources available"), bus.ErrFull},
		{"account resources", api(10002, 400, "resource limits exceeded for account"), bus.ErrFull},
		{"exceeds maximum", api(10054, 400, "message size exceeds maximum allowed"), bus.ErrTooLarge},
		{"cluster unavailable", api(10008, 503, "JetStream system temporarily unavailable"), bus.ErrUnavailable},
		{"other 5xx", api(10999, 503, "something"), bus.ErrUnavailable},
		{"other 4xx", api(10060, 400, "expected stream does not match"), nil},
		{"max payload", nats.ErrMaxPayload, bus.ErrTooLarge},
		{"no responders", jetstream.ErrNoStreamResponse, bus.ErrUnavailable},
		{"timeout", context.DeadlineExceeded, bus.ErrUnavailable},
		{"closed", nats.ErrConnectionClosed, bus.ErrUnavailable},
		{"reconnect buffer", nats.ErrReconnectBufExceeded, bus.ErrUnavailable},
		{"stalled", jetstream.ErrTooManyStalledMsgs, bus.ErrFull},
		{"canceled", context.Canceled, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := bus.MapError(tt.err)
			if !errors.Is(got, tt.err) {
				t.Fatalf("MapError(%v) = %v lost the original error", tt.err, got)
			}
			for _, class := range []error{bus.ErrFull, bus.ErrUnavailable, bus.ErrTooLarge} {
				if is, want := errors.Is(got, class), class == tt.want; is != want {
					t.Errorf("MapError(%v) = %v: errors.Is %v = %v, want %v", tt.err, got, class, is, want)
				}
			}
		})
	}
	if bus.MapError(nil) != nil {
		t.Error("MapError(nil) != nil")
	}
}

// TestMsgIDFormat pins the documented Nats-Msg-Id: the hex XXH3-128 (seed 0,
// big-endian) of subject, a zero byte and payload, so a consumer in another
// language can compute it.
func TestMsgIDFormat(t *testing.T) {
	// XXH3_128bits of no input, from the reference implementation's tests.
	if got, want := fmt.Sprintf("%x", xxh3.Hash128(nil).Bytes()), "99aa06d3014798d86001c324468d497f"; got != want {
		t.Fatalf("xxh3 of nothing: got %s, want %s", got, want)
	}
	payload := bytes.Repeat([]byte("arrow"), 1000)
	whole := append([]byte("otlp.traces.checkout\x00"), payload...)
	if got, want := bus.MsgID("otlp.traces.checkout", payload), fmt.Sprintf("%x", xxh3.Hash128(whole).Bytes()); got != want {
		t.Errorf("MsgID: got %s, want %s", got, want)
	}
	if a, b := bus.MsgID("otlp.traces.a", []byte("x")), bus.MsgID("otlp.traces.ax", nil); a == b {
		t.Errorf("subject and payload are not separated: both %s", a)
	}
}

// TestPayloadArrivesAligned: whatever the header values, a consumer gets a
// message's payload at an 8-byte aligned address (the header block before
// it is padded to a multiple of 8), so payload.Decode reads it in place.
func TestPayloadArrivesAligned(t *testing.T) {
	ctx := testCtx(t)
	_, _, js := bustest.RunJetStream(t)
	for i, rows := range []int{1, 12, 999, 123456} {
		for j, source := range []string{"grpc", "flight", "sdk", ""} {
			m := bus.Message{Signal: schema.Logs, Services: []string{"svc"}, Source: source, Rows: rows,
				Payload: []byte(fmt.Sprintf("payload %d %d %s", i, j, bytes.Repeat([]byte("x"), i*7+j)))}
			if _, err := bus.Publish(ctx, js, m); err != nil {
				t.Fatalf("publish: %v", err)
			}
			msg := ackOne(t, js, schema.Logs, bus.DurableWriter)
			if pad := msg.Headers().Get(bus.HeaderPad); len(pad) < 1 || len(pad) > 8 {
				t.Errorf("rows %d, source %q: %s %q", rows, source, bus.HeaderPad, pad)
			}
			if !bytes.Equal(msg.Data(), m.Payload) {
				t.Fatalf("rows %d, source %q: payload changed", rows, source)
			}
			if p := uintptr(unsafe.Pointer(&msg.Data()[0])); p%8 != 0 {
				t.Errorf("rows %d, source %q: payload at an address %d mod 8", rows, source, p%8)
			}
		}
	}
}
