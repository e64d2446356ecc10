package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// peakRSS returns the peak resident set size of process pid in bytes
// (VmHWM), or -1 where /proc does not tell.
func peakRSS(pid int) int64 {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// TestOverloadSDKClientsDeliverEverything overloads ingest: one concurrent
// stream per connection, a small in-flight limit and a trace stream of 256
// KiB that fills up because the writer starts late. SDK clients with their
// retry on (which honours RetryInfo) keep getting UNAVAILABLE until the
// writer catches up, and then every span arrives exactly once, while the
// ingest process's memory stays bounded.
func TestOverloadSDKClientsDeliverEverything(t *testing.T) {
	const (
		clients        = 4
		spansPerClient = 1500
		maxPeakRSS     = 128 << 20
	)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	natsPort, grpcPort := freePort(t), freePort(t)
	natsURL := "nats://127.0.0.1:" + strconv.Itoa(natsPort)
	grpcAddr := "127.0.0.1:" + strconv.Itoa(grpcPort)
	cfgPath := filepath.Join(dir, "ingest.yaml")
	cfgYAML := "ingest_grpc:\n  max_concurrent_streams: 1\n  max_request_bytes: 1048576\n  max_inflight_bytes: 2097152\n"
	if err := os.WriteFile(cfgPath, []byte(cfgYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"OTLP_OUTPUT_DIR=" + out,
		"OTLP_DATA_DIR=" + filepath.Join(dir, "data"),
		"OTLP_NATS_PORT=" + strconv.Itoa(natsPort),
		"OTLP_PROTOBUF_PORT=" + strconv.Itoa(grpcPort),
		"OTLP_HTTP_PORT=" + strconv.Itoa(freePort(t)),
		"OTLP_WRITE_INTERVAL_SECS=0.1",
		"OTLP_STREAM_MAX_BYTES=262144",
	}
	stageEnv := append(append([]string{}, env...), "OTLP_NATS_URL="+natsURL)
	busProc := newProc(t, dir, "bus", env, "bus")
	busProc.start(t)
	ingest := newProc(t, dir, "ingest", stageEnv, "ingest-grpc", "--config", cfgPath)
	ingest.start(t)
	writer := newProc(t, dir, "writer", append(stageEnv, "OTLP_WRITER_ID=w1"), "writer")

	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Go(func() {
			exp, err := otlptracegrpc.New(ctx,
				otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure(),
				otlptracegrpc.WithTimeout(3*time.Minute),
				otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{
					Enabled: true, InitialInterval: 100 * time.Millisecond,
					MaxInterval: 2 * time.Second, MaxElapsedTime: 3 * time.Minute,
				}))
			if err != nil {
				errs <- err
				return
			}
			tp := sdktrace.NewTracerProvider(
				sdktrace.WithBatcher(exp, sdktrace.WithBlocking(), sdktrace.WithMaxExportBatchSize(250),
					sdktrace.WithBatchTimeout(50*time.Millisecond), sdktrace.WithExportTimeout(3*time.Minute)),
				sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", fmt.Sprintf("overload-%d", c)))),
			)
			tr := tp.Tracer("overload")
			pad := strings.Repeat("p", 100)
			for i := range spansPerClient {
				_, span := tr.Start(ctx, fmt.Sprintf("c%d-%d", c, i), trace.WithAttributes(attribute.String("pad", pad), attribute.Int("i", i)))
				span.End()
			}
			if err := tp.Shutdown(ctx); err != nil { // flushes; the exporter retries until it is through
				errs <- fmt.Errorf("client %d: %w", c, err)
			}
		})
	}
	// Let the stream fill and clients be pushed back before the writer comes.
	deadline := time.Now().Add(60 * time.Second)
	const unavailable = `otlp_arrow_ingest_requests_total{code="Unavailable",protocol="grpc",signal="traces"}`
	for scrape(t, ingest, unavailable) <= 0 {
		if time.Now().After(deadline) {
			t.Fatalf("ingest never answered UNAVAILABLE:\n%s", ingest.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	t.Logf("backpressure: %v UNAVAILABLE answers before the writer started", scrape(t, ingest, unavailable))
	writer.start(t)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("SDK client: %v", err)
	}
	waitDrained(t, natsURL)
	rss := peakRSS(ingest.cmd.Process.Pid)
	t.Logf("ingest peak RSS %d MiB; %v UNAVAILABLE answers in all", rss>>20, scrape(t, ingest, unavailable))
	ingest.stop(t)
	writer.stop(t)
	busProc.stop(t)

	counts := spanCounts(t, out)
	dup := 0
	for _, n := range counts {
		if n > 1 {
			dup++
		}
	}
	if got, want := len(counts), clients*spansPerClient; got != want {
		t.Errorf("files hold %d distinct spans, want %d", got, want)
	}
	if dup > 0 {
		t.Errorf("%d spans stored more than once", dup)
	}
	if rss > maxPeakRSS {
		t.Errorf("ingest peak RSS = %d MiB, want <= %d MiB", rss>>20, maxPeakRSS>>20)
	}
}
