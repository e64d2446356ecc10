package e2e

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "otlp-arrow-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "otlp-arrow")
	cmd := exec.Command("go", "build", "-o", binPath, "github.com/otlp-arrow/otlp-arrow/deploy/cmd/otlp-arrow")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build otlp-arrow:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// handedPorts are the ports freePort returned: the kernel may hand a
// closed listener's port out again before the process it was meant for
// listens on it (once the NATS and the HTTP port of one test were the same).
var handedPorts = struct {
	sync.Mutex
	m map[int]bool
}{m: map[int]bool{}}

// freePort returns a free loopback port that no earlier call returned.
func freePort(t testing.TB) int {
	t.Helper()
	handedPorts.Lock()
	defer handedPorts.Unlock()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !handedPorts.m[port] {
			handedPorts.m[port] = true
			return port
		}
	}
}

// proc is one otlp-arrow process.
type proc struct {
	name      string
	args      []string
	env       []string
	adminPort int
	cmd       *exec.Cmd
	logPath   string
	waitErr   chan error
}

func newProc(t *testing.T, dir, name string, env []string, args ...string) *proc {
	p := &proc{name: name, args: args, adminPort: freePort(t), logPath: filepath.Join(dir, name+".log")}
	p.env = append(append([]string{}, env...), "OTLP_ADMIN_PORT="+strconv.Itoa(p.adminPort), "OTLP_LOG_LEVEL=debug")
	return p
}

func (p *proc) start(t *testing.T) {
	t.Helper()
	p.startNoWait(t)
	p.waitReady(t)
}

// startNoWait starts the process without waiting for it to be ready.
func (p *proc) startNoWait(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(binPath, p.args...)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	p.waitErr = make(chan error, 1)
	cmd := p.cmd
	go func() { p.waitErr <- cmd.Wait() }()
	// Kill whatever is still running; after Wait (the goroutine above) it
	// answers os.ErrProcessDone. Reading cmd.ProcessState here instead would
	// race with that Wait.
	t.Cleanup(func() { _ = cmd.Process.Kill() })
}

func (p *proc) logs() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

func (p *proc) waitReady(t *testing.T) {
	t.Helper()
	url := "http://127.0.0.1:" + strconv.Itoa(p.adminPort) + "/readyz"
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.waitErr:
			p.waitErr <- err
			t.Fatalf("%s exited before ready (%v):\n%s", p.name, err, p.logs())
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not ready:\n%s", p.name, p.logs())
}

// kill sends SIGKILL and reaps the process.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Kill()
	<-p.waitErr
}

// stop sends SIGTERM and expects exit status 0.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.waitErr:
		if err != nil {
			t.Errorf("%s exited with %v:\n%s", p.name, err, p.logs())
		}
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("%s did not stop on SIGTERM:\n%s", p.name, p.logs())
	}
}

// topology is bus + ingest-grpc + writer as three processes.
type topology struct {
	dir, out string
	natsURL  string
	grpcAddr string
	env      []string
	bus      *proc
	ingest   *proc
	writer   *proc
}

func startTopology(t *testing.T, extraEnv ...string) *topology {
	t.Helper()
	dir := t.TempDir()
	natsPort := freePort(t)
	tp := &topology{dir: dir, out: filepath.Join(dir, "out"), natsURL: "nats://127.0.0.1:" + strconv.Itoa(natsPort)}
	grpcPort := freePort(t)
	tp.grpcAddr = "127.0.0.1:" + strconv.Itoa(grpcPort)
	tp.env = []string{
		"OTLP_OUTPUT_DIR=" + tp.out,
		"OTLP_DATA_DIR=" + filepath.Join(dir, "data"),
		"OTLP_NATS_PORT=" + strconv.Itoa(natsPort),
		"OTLP_PROTOBUF_PORT=" + strconv.Itoa(grpcPort),
		"OTLP_HTTP_PORT=" + strconv.Itoa(freePort(t)),
		"OTLP_WRITE_INTERVAL_SECS=0.1",
	}
	tp.env = append(tp.env, extraEnv...)
	stageEnv := append(append([]string{}, tp.env...), "OTLP_NATS_URL="+tp.natsURL)
	tp.bus = newProc(t, dir, "bus", tp.env, "bus")
	tp.bus.start(t)
	tp.ingest = newProc(t, dir, "ingest", stageEnv, "ingest-grpc")
	tp.ingest.start(t)
	tp.writer = newProc(t, dir, "writer", append(stageEnv, "OTLP_WRITER_ID=w1"), "writer")
	tp.writer.start(t)
	return tp
}

// sender sends trace requests with unique span ids and remembers which
// were acknowledged.
type sender struct {
	client coltracepb.TraceServiceClient
	conn   *grpc.ClientConn
	mu     sync.Mutex
	next   uint64
	acked  map[uint64]bool
	failed int
}

func newSender(t *testing.T, addr string) *sender {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &sender{client: coltracepb.NewTraceServiceClient(conn), conn: conn, acked: map[uint64]bool{}}
}

func spanID(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

// send sends one request of n spans and records them when it succeeds.
func (s *sender) send(ctx context.Context, n int) error {
	s.mu.Lock()
	first := s.next + 1
	s.next += uint64(n)
	s.mu.Unlock()
	spans := make([]*tracepb.Span, n)
	for i := range spans {
		id := first + uint64(i)
		spans[i] = &tracepb.Span{
			TraceId: append(make([]byte, 8), spanID(id)...), SpanId: spanID(id), Name: "op",
			StartTimeUnixNano: uint64(time.Now().UnixNano()), EndTimeUnixNano: uint64(time.Now().UnixNano()) + 1000,
			Attributes: []*commonpb.KeyValue{{Key: "i", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: int64(id)}}}},
		}
	}
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "crash"}}}}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}},
	}}}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := s.client.Export(cctx, req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || resp.GetPartialSuccess().GetRejectedSpans() != 0 {
		s.failed++
		return err
	}
	for i := range n {
		s.acked[first+uint64(i)] = true
	}
	return nil
}

// waitDrained waits until the writer's consumers have nothing pending;
// opts carry credentials for a bus that wants them.
func waitDrained(t *testing.T, natsURL string, opts ...nats.Option) {
	t.Helper()
	nc, err := nats.Connect(natsURL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		left := uint64(0)
		for _, sig := range schema.Signals {
			c, err := js.Consumer(ctx, bus.StreamName(sig), bus.DurableWriter)
			if err != nil {
				t.Fatal(err)
			}
			info, err := c.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			left += info.NumPending + uint64(info.NumAckPending)
		}
		if left == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("writer did not drain the bus")
}

// spanCounts reads every trace file and counts each span id; every file
// must read cleanly to its end.
func spanCounts(t *testing.T, out string) map[uint64]int {
	t.Helper()
	dir := filepath.Join(out, "otlp", "traces")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[uint64]int{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".arrows") {
			t.Errorf("unexpected file left: %s", e.Name())
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		r, err := ipc.NewReader(bufio.NewReader(f))
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			f.Close()
			continue
		}
		for r.Next() {
			rss, err := schema.TracesFromArrow([]arrow.RecordBatch{r.RecordBatch()})
			if err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			for _, rs := range rss {
				for _, ss := range rs.ScopeSpans {
					for _, s := range ss.Spans {
						counts[binary.BigEndian.Uint64(s.SpanId)]++
					}
				}
			}
		}
		if err := r.Err(); err != nil {
			t.Errorf("%s does not read cleanly: %v", e.Name(), err)
		}
		r.Release()
		f.Close()
	}
	return counts
}

func checkExactlyOnce(t *testing.T, s *sender, counts map[uint64]int) {
	t.Helper()
	missing, dup := 0, 0
	for id := range s.acked {
		if counts[id] == 0 {
			missing++
		}
	}
	for _, c := range counts {
		if c > 1 {
			dup++
		}
	}
	t.Logf("acknowledged %d spans, %d requests failed, files hold %d distinct spans", len(s.acked), s.failed, len(counts))
	if missing > 0 || dup > 0 {
		t.Fatalf("%d acknowledged spans missing, %d spans duplicated", missing, dup)
	}
}

func TestThreeProcesses(t *testing.T) {
	tp := startTopology(t)
	s := newSender(t, tp.grpcAddr)
	for range 20 {
		if err := s.send(context.Background(), 50); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	waitDrained(t, tp.natsURL)
	tp.ingest.stop(t)
	tp.writer.stop(t)
	tp.bus.stop(t)
	counts := spanCounts(t, tp.out)
	if len(counts) != 1000 {
		t.Errorf("files hold %d spans, want 1000", len(counts))
	}
	checkExactlyOnce(t, s, counts)
}

func TestWriterCrashLosesNothing(t *testing.T) {
	// What a killed writer held comes back after the ack wait.
	tp := startTopology(t, "OTLP_BUS_ACK_WAIT_SECS=15")
	s := newSender(t, tp.grpcAddr)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_ = s.send(ctx, 20)
			}
		}()
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 10 {
		time.Sleep(time.Duration(100+r.IntN(400)) * time.Millisecond)
		tp.writer.kill(t)
		t.Logf("killed writer (%d)", i+1)
		tp.writer.start(t)
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	wg.Wait()
	waitDrained(t, tp.natsURL)
	tp.ingest.stop(t)
	tp.writer.stop(t)
	tp.bus.stop(t)
	if len(s.acked) == 0 {
		t.Fatal("no request was acknowledged")
	}
	checkExactlyOnce(t, s, spanCounts(t, tp.out))
}
