package bus_test

import (
	"context"
	"crypto/rand"
	"strconv"
	"testing"
	"time"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// The cost of the embedded server's sync policy: every write synced before
// it is acknowledged (the default) against JetStream's periodic sync.
//
//	go test -run XXX -bench BenchmarkPublishSync -benchtime 3s ./bus/
func BenchmarkPublishSync(b *testing.B) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
	}{{"always", 0}, {"every_2m", 2 * time.Minute}} {
		for _, size := range []int{16 << 10, 256 << 10} {
			b.Run(tc.name+"/"+byteSize(size), func(b *testing.B) {
				_, _, js := bustest.RunJetStream(b,
					bustest.WithServerConfig(func(c *bus.ServerConfig) { c.SyncInterval = tc.interval }),
					bustest.WithMaxBytes(8<<30))
				payload := make([]byte, size)
				ctx := context.Background()
				b.SetBytes(int64(size))
				b.ResetTimer()
				for i := range b.N {
					_, _ = rand.Read(payload[:16]) // distinct messages, no dedup
					payload[16] = byte(i)
					if _, err := bus.Publish(ctx, js, bus.Message{Signal: schema.Traces, Services: []string{"bench"}, Source: "bench", Rows: 1, Payload: payload}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}

func byteSize(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.Itoa(n>>20) + "MiB"
	}
	return strconv.Itoa(n>>10) + "KiB"
}
