package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// scaledTopology is a bus (one node, or a cluster of three), two
// ingest-grpc processes and two writers sharing the durable consumer.
type scaledTopology struct {
	out      string
	natsURL  string // every bus node's client URL, comma-separated
	names    []string
	buses    []*proc
	ingests  []*proc
	writers  []*proc
	grpcAddr []string
}

// startScaled starts the topology; nodes is 1 (a single bus, R1) or 3 (a
// cluster with R3 streams).
func startScaled(t *testing.T, nodes int) *scaledTopology {
	t.Helper()
	dir := t.TempDir()
	tp := &scaledTopology{out: filepath.Join(dir, "out")}
	replicas := "1"
	if nodes > 1 {
		replicas = "3"
	}
	common := []string{
		"OTLP_OUTPUT_DIR=" + tp.out,
		"OTLP_WRITE_INTERVAL_SECS=0.1",
		// Acks lost in a failover come back sooner.
		"OTLP_BUS_ACK_WAIT_SECS=15",
		"OTLP_STREAM_REPLICAS=" + replicas,
	}
	var clientURLs, routes []string
	clientPorts, clusterPorts := make([]int, nodes), make([]int, nodes)
	for i := range nodes {
		clientPorts[i], clusterPorts[i] = freePort(t), freePort(t)
		clientURLs = append(clientURLs, "nats://127.0.0.1:"+strconv.Itoa(clientPorts[i]))
		routes = append(routes, "nats-route://127.0.0.1:"+strconv.Itoa(clusterPorts[i]))
	}
	tp.natsURL = strings.Join(clientURLs, ",")
	for i := range nodes {
		name := fmt.Sprintf("bus%d", i)
		env := append(append([]string{}, common...),
			"OTLP_DATA_DIR="+filepath.Join(dir, name),
			"OTLP_NATS_PORT="+strconv.Itoa(clientPorts[i]),
		)
		if nodes > 1 {
			env = append(env,
				"OTLP_NATS_CLUSTER_NAME=e2e",
				"OTLP_NATS_CLUSTER_PORT="+strconv.Itoa(clusterPorts[i]),
				"OTLP_NATS_ROUTES="+strings.Join(routes, ","),
				"OTLP_NATS_SERVER_NAME="+name,
			)
		}
		p := newProc(t, dir, name, env, "bus")
		p.startNoWait(t) // a cluster node is ready only once enough nodes have joined
		tp.buses = append(tp.buses, p)
		tp.names = append(tp.names, name)
	}
	for _, p := range tp.buses {
		p.waitReady(t)
	}
	stageEnv := append(append([]string{}, common...), "OTLP_NATS_URL="+tp.natsURL)
	for i := range 2 {
		grpcPort := freePort(t)
		tp.grpcAddr = append(tp.grpcAddr, "127.0.0.1:"+strconv.Itoa(grpcPort))
		p := newProc(t, dir, fmt.Sprintf("ingest%d", i), append(append([]string{}, stageEnv...),
			"OTLP_PROTOBUF_PORT="+strconv.Itoa(grpcPort), "OTLP_HTTP_PORT="+strconv.Itoa(freePort(t))), "ingest-grpc")
		p.start(t)
		tp.ingests = append(tp.ingests, p)
		w := newProc(t, dir, fmt.Sprintf("writer%d", i), append(append([]string{}, stageEnv...),
			fmt.Sprintf("OTLP_WRITER_ID=w%d", i)), "writer")
		w.start(t)
		tp.writers = append(tp.writers, w)
	}
	return tp
}

// stopAll stops the stages, then the bus nodes, each with SIGTERM.
func (tp *scaledTopology) stopAll(t *testing.T) {
	t.Helper()
	for _, p := range slices.Concat(tp.ingests, tp.writers, tp.buses) {
		p.stop(t)
	}
}

// streamLeader returns the index of the bus node leading the traces stream.
func (tp *scaledTopology) streamLeader(t *testing.T) int {
	t.Helper()
	nc, err := nats.Connect(tp.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, bus.StreamName(schema.Traces))
	if err != nil {
		t.Fatalf("traces stream: %v", err)
	}
	info := s.CachedInfo()
	if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("traces stream: replicas %d, cluster %+v; want R3 with a leader and two replicas", info.Config.Replicas, info.Cluster)
	}
	i := slices.Index(tp.names, info.Cluster.Leader)
	if i < 0 {
		t.Fatalf("traces stream leader %q is none of %v", info.Cluster.Leader, tp.names)
	}
	return i
}

// Load shape shared by the cluster tests, so their figures compare.
const (
	loadWorkers   = 4  // concurrent requests per ingest
	loadSpans     = 20 // spans per request
	loadFailPause = 50 * time.Millisecond
)

// newSenders returns a sender per ingest; their span ids do not overlap.
func newSenders(t *testing.T, addrs []string) []*sender {
	t.Helper()
	var senders []*sender
	for i, addr := range addrs {
		s := newSender(t, addr)
		s.next = uint64(i) << 40
		senders = append(senders, s)
	}
	return senders
}

// loadResult is what one load run measured.
type loadResult struct {
	elapsed time.Duration
	// failed counts requests answered with an error while the load ran
	// (not those cut off when it stopped); firstErr is the first of them.
	failed   int
	firstErr error
}

// load sends requests through every sender until ctx is done.
func load(ctx context.Context, senders []*sender) loadResult {
	start := time.Now()
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		res loadResult
	)
	for _, s := range senders {
		for range loadWorkers {
			wg.Go(func() {
				for ctx.Err() == nil {
					if err := s.send(ctx, loadSpans); err != nil && ctx.Err() == nil {
						mu.Lock()
						res.failed++
						if res.firstErr == nil {
							res.firstErr = err
						}
						mu.Unlock()
						time.Sleep(loadFailPause)
					}
				}
			})
		}
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// report logs the acknowledged throughput and returns it in spans/s.
func report(t *testing.T, label string, senders []*sender, res loadResult) float64 {
	t.Helper()
	acked := 0
	for _, s := range senders {
		acked += len(s.acked)
	}
	rate := float64(acked) / res.elapsed.Seconds()
	t.Logf("%s: %d spans acknowledged in %.1fs = %.0f spans/s (%d requests of %d spans, %d workers per ingest, 2 ingests, 2 writers; %d requests failed during the load, first: %v)",
		label, acked, res.elapsed.Seconds(), rate, acked/loadSpans, loadSpans, loadWorkers, res.failed, res.firstErr)
	return rate
}

// TestClusterFailover runs three bus nodes as a cluster with R3 streams,
// two ingests and two writers, loads both ingests, SIGKILLs the node
// leading the traces stream mid-load and restarts it later: every
// acknowledged span is in the files exactly once.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	began := time.Now()
	tp := startScaled(t, 3)
	leader := tp.streamLeader(t)
	t.Logf("cluster and stages ready in %.1fs", time.Since(began).Seconds())

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	senders := newSenders(t, tp.grpcAddr)
	var res loadResult
	done := make(chan struct{})
	go func() {
		defer close(done)
		res = load(ctx, senders)
	}()
	time.Sleep(5 * time.Second)
	tp.buses[leader].kill(t)
	t.Logf("SIGKILLed %s, the traces stream leader", tp.names[leader])
	time.Sleep(5 * time.Second)
	tp.buses[leader].startNoWait(t)
	tp.buses[leader].waitReady(t)
	t.Logf("restarted %s; traces leader now %s", tp.names[leader], tp.names[tp.streamLeader(t)])
	<-done
	report(t, "3-node cluster, R3, one node killed and restarted", senders, res)

	drainStart := time.Now()
	waitDrained(t, tp.natsURL)
	t.Logf("writers drained the streams in %.1fs", time.Since(drainStart).Seconds())
	tp.stopAll(t)
	counts := spanCounts(t, tp.out)
	for _, s := range senders {
		if len(s.acked) == 0 {
			t.Fatal("an ingest acknowledged nothing")
		}
		checkExactlyOnce(t, s, counts)
	}
}

// TestClusterThroughput runs the same load, without failures, against a
// single bus (R1) and a three-node cluster (R3) on this machine, and logs
// both figures (docs/scaling.md records them). It asserts no speed, only
// that every acknowledged span arrived exactly once.
func TestClusterThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	const d = 10 * time.Second
	rates := map[int]float64{}
	for _, nodes := range []int{1, 3} {
		tp := startScaled(t, nodes)
		ctx, cancel := context.WithTimeout(context.Background(), d)
		senders := newSenders(t, tp.grpcAddr)
		res := load(ctx, senders)
		cancel()
		label := "single bus, R1"
		if nodes == 3 {
			label = "3-node cluster, R3"
		}
		rates[nodes] = report(t, label, senders, res)
		waitDrained(t, tp.natsURL)
		tp.stopAll(t)
		counts := spanCounts(t, tp.out)
		for _, s := range senders {
			checkExactlyOnce(t, s, counts)
		}
	}
	if rates[1] > 0 {
		t.Logf("3-node R3 / single R1 throughput: %.2f", rates[3]/rates[1])
	}
}
