package bus_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// The bus's own cost per message, with nothing of the pipeline around it:
// eight publishers, one message in flight each (as ingest publishes a
// request), through the embedded server, to a durable consumer that fetches
// (at most 8 MiB at a time, as the writer does) and acknowledges each
// message as the writer does (the server then removes it from the stream).
// Publishers and consumer share one connection: in-process, as in
// `otlp-arrow run`, or TCP loopback.
//
// "sync" is the default store, every write synced before it is
// acknowledged (what makes a client's OK durable); "interval" is
// JetStream's periodic sync (bus.sync_interval 2m), to tell the fsyncs'
// share from the rest.
//
// "limits" is the streams' retention (acknowledged messages removed by a
// bus.Purger that the consumer tells of its acknowledgements, the last purge
// included in the time); "interest" the retention before issue 19, where the
// server removes each message on its acknowledgement (a synced tombstone
// write with the default store).
//
// cpu_us/msg is the process's CPU (server and both clients, getrusage) per
// message, from the first publish to the last acknowledgement. The sizes are
// the payloads of the load tool's realistic spans (docs/BENCHMARKS.md):
// 100 spans with LZ4 bus compression (35 KiB) and as uncompressed Arrow IPC
// (142 KiB), 1000 spans with LZ4 (349 KiB) and uncompressed (1253 KiB).
// With a rate, publishers send at that many messages per second in all and
// the figures include the publish latency percentiles.
//
//	go test -run '^$' -bench BenchmarkBusFloor -benchtime 1000x ./bus/
func BenchmarkBusFloor(b *testing.B) {
	// retentions runs one configuration under each retention, one after
	// the other, so that the two are compared on a machine in the same state.
	retentions := func(b *testing.B, name string, f func(*testing.B, jetstream.RetentionPolicy)) {
		for _, ret := range []jetstream.RetentionPolicy{jetstream.LimitsPolicy, jetstream.InterestPolicy} {
			b.Run(name+"/"+strings.ToLower(ret.String()), func(b *testing.B) { f(b, ret) })
		}
	}
	for _, store := range []struct {
		name     string
		interval time.Duration
	}{{"sync", 0}, {"interval", 2 * time.Minute}} {
		for _, size := range []int{35 << 10, 142 << 10, 349 << 10, 1253 << 10} {
			for _, tcp := range []bool{false, true} {
				conn := "in_process"
				if tcp {
					conn = "tcp"
				}
				retentions(b, store.name+"/"+byteSize(size)+"/"+conn, func(b *testing.B, ret jetstream.RetentionPolicy) {
					busFloor(b, ret, store.interval, size, tcp, 0)
				})
			}
		}
	}
	// Half the throughput of 100-span requests end to end (about 24 000
	// spans/s on the machine of docs/BENCHMARKS.md).
	retentions(b, "sync/142KiB/in_process/240_per_s", func(b *testing.B, ret jetstream.RetentionPolicy) {
		busFloor(b, ret, 0, 142<<10, false, 240)
	})
	retentions(b, "sync/142KiB/tcp/240_per_s", func(b *testing.B, ret jetstream.RetentionPolicy) {
		busFloor(b, ret, 0, 142<<10, true, 240)
	})
}

// setRetention updates the traces stream to retention r.
func setRetention(b *testing.B, js jetstream.JetStream, r jetstream.RetentionPolicy) {
	ctx := context.Background()
	s, err := js.Stream(ctx, bus.StreamName(schema.Traces))
	if err != nil {
		b.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	if cfg.Retention == r {
		return
	}
	cfg.Retention = r
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		b.Fatal(err)
	}
}

// busFloor measures one configuration: the streams' retention, the store's
// sync interval, the payload size, the connection (in-process, or one TCP
// loopback connection as a stage outside the bus's process has) and the rate
// (0: full speed).
func busFloor(b *testing.B, ret jetstream.RetentionPolicy, interval time.Duration, size int, tcp bool, rate float64) {
	srv, _, js := bustest.RunJetStream(b, bustest.WithListen(),
		bustest.WithServerConfig(func(c *bus.ServerConfig) { c.SyncInterval = interval }),
		bustest.WithMaxBytes(8<<30), bustest.WithDurables("w"))
	setRetention(b, js, ret)
	if tcp {
		js = bustest.ConnectTCP(b, srv.ClientURL())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cons, err := js.Consumer(ctx, bus.StreamName(schema.Traces), "w")
	if err != nil {
		b.Fatal(err)
	}
	var purger *bus.Purger // nil (no purge) on an interest stream
	if ret == jetstream.LimitsPolicy {
		purger = bus.NewPurger(js, []schema.Signal{schema.Traces}, nil)
		go purger.Run(ctx)
	}
	var acked atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for acked.Load() < int64(b.N) && ctx.Err() == nil {
			batch, err := cons.Fetch(256, jetstream.FetchMaxWait(100*time.Millisecond), jetstream.FetchMaxBytes(8<<20))
			if err != nil {
				continue
			}
			for m := range batch.Messages() {
				if err := m.DoubleAck(ctx); err == nil {
					acked.Add(1)
					purger.Acked(schema.Traces)
				}
			}
		}
	}()

	const publishers = 8
	var every time.Duration // each publisher's interval between sends
	if rate > 0 {
		every = time.Duration(float64(time.Second) * publishers / rate)
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	lat := publishPaced(ctx, b, js, publishers, size, every, true)
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("acknowledged %d of %d messages", acked.Load(), b.N)
	}
	if purger != nil { // the last purge
		if _, err := bus.PurgeAcknowledged(ctx, js, bus.StreamName(schema.Traces)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	b.SetBytes(int64(size))
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu_us/msg")
	if rate > 0 {
		reportLatency(b, lat)
	}
}

// publishPaced sends b.N messages of size random bytes (the first 16 changed
// for each, so the bus deduplicates none) from publishers goroutines, each
// with one message in flight, to a service of its own on the traces
// stream; every > 0 spaces each publisher's sends by that much, spread over
// the publishers. all publishes through bus.PublishAll, as ingest does, and
// bus.Publish otherwise. It returns each publish's latency.
func publishPaced(ctx context.Context, b *testing.B, js jetstream.JetStream, publishers, size int, every time.Duration, all bool) []time.Duration {
	var (
		mu  sync.Mutex
		lat []time.Duration
		wg  sync.WaitGroup
	)
	start := time.Now()
	for w := range publishers {
		wg.Go(func() {
			payload := make([]byte, size)
			_, _ = rand.Read(payload)
			next := start.Add(every * time.Duration(w) / time.Duration(publishers))
			for i := w; i < b.N; i += publishers {
				if every > 0 {
					time.Sleep(time.Until(next))
					next = next.Add(every)
				}
				_, _ = rand.Read(payload[:16]) // distinct messages, no dedup
				msg := bus.Message{Signal: schema.Traces, Services: []string{fmt.Sprint("s", w)}, Source: "bench", Rows: 1, Payload: payload}
				t := time.Now()
				var err error
				if all {
					err = bus.PublishAll(ctx, js, []bus.Message{msg})
				} else {
					_, err = bus.Publish(ctx, js, msg)
				}
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				lat = append(lat, time.Since(t))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return lat
}

// reportLatency reports the 50th, 90th and 99th percentiles of lat in ms.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		b.ReportMetric(float64(lat[int(q*float64(len(lat)-1))].Microseconds())/1000, fmt.Sprintf("p%g_ms", q*100))
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
