package bus_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/otlp-arrow/otlp-arrow/proto/bus"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// testCluster is three embedded servers routed to each other.
type testCluster struct {
	cfgs  []bus.ServerConfig
	nodes []*bus.Server
}

// newTestCluster configures n nodes, each with its own store, a fixed
// client and cluster port, and the same seed routes (itself included).
func newTestCluster(t *testing.T, n int) *testCluster {
	t.Helper()
	dir := t.TempDir()
	tc := &testCluster{nodes: make([]*bus.Server, n)}
	var routes []string
	for i := range n {
		cport := freePort(t)
		routes = append(routes, "nats-route://127.0.0.1:"+strconv.Itoa(cport))
		tc.cfgs = append(tc.cfgs, bus.ServerConfig{
			StoreDir:   filepath.Join(dir, fmt.Sprintf("n%d", i)),
			Port:       freePort(t),
			ServerName: fmt.Sprintf("n%d", i),
			Tags:       []string{fmt.Sprintf("node:%d", i), "az:test"},
			Cluster:    bus.ClusterConfig{Name: "test", Port: cport},
		})
	}
	for i := range tc.cfgs {
		tc.cfgs[i].Cluster.Routes = routes
	}
	t.Cleanup(func() {
		for _, s := range tc.nodes {
			if s != nil {
				s.Shutdown()
			}
		}
	})
	return tc
}

func (tc *testCluster) start(t *testing.T, i int) {
	t.Helper()
	s, err := bus.StartServer(tc.cfgs[i], nil)
	if err != nil {
		t.Fatalf("start node %d: %v", i, err)
	}
	tc.nodes[i] = s
}

func (tc *testCluster) stop(i int) {
	tc.nodes[i].Shutdown()
	tc.nodes[i] = nil
}

// urls is every node's client URL, comma-separated.
func (tc *testCluster) urls() string {
	var us []string
	for _, c := range tc.cfgs {
		us = append(us, "nats://127.0.0.1:"+strconv.Itoa(c.Port))
	}
	return strings.Join(us, ",")
}

func clusterCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// publishRetrying publishes m until it is acknowledged: during a leader
// election a publish may fail with ErrUnavailable.
func publishRetrying(ctx context.Context, t *testing.T, js jetstream.JetStream, m bus.Message) {
	t.Helper()
	for {
		// A publish sent to a leader that just died gets no answer: give
		// each attempt its own deadline.
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err := bus.Publish(actx, js, m)
		cancel()
		if err == nil {
			return
		}
		if !errors.Is(err, bus.ErrUnavailable) || ctx.Err() != nil {
			t.Fatalf("publish: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClusterR3 forms a three-node cluster, declares R3 streams while the
// nodes are still joining, loses the traces stream's leader, and keeps
// every acknowledged message exactly once.
func TestClusterR3(t *testing.T) {
	ctx := clusterCtx(t)
	tc := newTestCluster(t, 3)
	tc.start(t, 0)
	_, js := connect(t, bus.ConnConfig{URL: tc.urls(), Name: "client"})

	// EnsureStreams waits while the cluster forms: one node alone elects no
	// meta leader, and R3 needs three.
	cfg := bus.DefaultStreamsConfig()
	cfg.Replicas = 3
	cfg.PlacementTags = []string{"az:test"}
	done := make(chan error, 1)
	go func() { done <- bus.EnsureStreams(ctx, js, cfg) }()
	select {
	case err := <-done:
		t.Fatalf("EnsureStreams returned before the cluster formed: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	tc.start(t, 1)
	tc.start(t, 2)
	if err := <-done; err != nil {
		t.Fatalf("EnsureStreams: %v", err)
	}

	s, err := js.Stream(ctx, bus.StreamName(schema.Traces))
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	info := s.CachedInfo()
	if got := info.Config.Replicas; got != 3 {
		t.Fatalf("replicas: got %d, want 3", got)
	}
	if p := info.Config.Placement; p == nil || !slices.Equal(p.Tags, []string{"az:test"}) {
		t.Fatalf("placement: got %+v, want tags [az:test]", p)
	}
	if info.Cluster == nil || info.Cluster.Name != "test" || info.Cluster.Leader == "" || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("cluster info: got %+v, want cluster test with a leader and 2 replicas", info.Cluster)
	}

	for i := range 10 {
		publishRetrying(ctx, t, js, testMessage(schema.Traces, "svc", fmt.Sprintf("m%d", i)))
	}
	leader := slices.IndexFunc(tc.cfgs, func(c bus.ServerConfig) bool { return c.ServerName == info.Cluster.Leader })
	if leader < 0 {
		t.Fatalf("leader %q is not a node", info.Cluster.Leader)
	}
	tc.stop(leader)
	for i := 10; i < 20; i++ {
		publishRetrying(ctx, t, js, testMessage(schema.Traces, "svc", fmt.Sprintf("m%d", i)))
	}
	// The node comes back, declares the streams again (as `bus` does) and
	// catches up.
	tc.start(t, leader)
	_, js2 := connect(t, bus.ConnConfig{InProcess: tc.nodes[leader].NATS(), Name: "restarted"})
	if err := bus.EnsureStreams(ctx, js2, cfg); err != nil {
		t.Fatalf("EnsureStreams on the restarted node: %v", err)
	}

	// Nothing acknowledged yet: a purge keeps every message.
	if _, err := bus.PurgeAcknowledged(ctx, js, bus.StreamName(schema.Traces)); err != nil {
		t.Fatalf("purge: %v", err)
	}
	wantMsgs(t, js, schema.Traces, 20)

	got := map[string]int{}
	c, err := js.Consumer(ctx, bus.StreamName(schema.Traces), bus.DurableWriter)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	for len(got) < 20 && ctx.Err() == nil {
		batch, err := c.Fetch(20, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			continue // a consumer leader election
		}
		for msg := range batch.Messages() {
			if err := msg.DoubleAck(ctx); err != nil {
				continue // redelivered later
			}
			got[string(msg.Data())]++
		}
	}
	if len(got) != 20 {
		t.Fatalf("consumed %d distinct messages, want 20", len(got))
	}
	for data, n := range got {
		if n != 1 {
			t.Errorf("%s acknowledged %d times", data, n)
		}
	}
	// Everything acknowledged: purged (asked through the restarted node).
	// The ack floor a purge reads comes from the consumer's leader, which
	// after the elections above may report the acknowledgements a moment
	// late: purge round after round, as the Purger does, until it is empty.
	for {
		if _, err := bus.PurgeAcknowledged(ctx, js2, bus.StreamName(schema.Traces)); err != nil && ctx.Err() == nil {
			t.Logf("purge: %v (retrying)", err)
		}
		s, err := js.Stream(ctx, bus.StreamName(schema.Traces))
		if err == nil && s.CachedInfo().State.Msgs == 0 {
			break
		}
		if ctx.Err() != nil {
			wantMsgs(t, js, schema.Traces, 0) // fails, saying how many are left
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestEnsureStreamsGivesUp: a lone cluster node never elects a meta leader;
// EnsureStreams retries until ctx is done and says why.
func TestEnsureStreamsGivesUp(t *testing.T) {
	tc := newTestCluster(t, 3)
	tc.start(t, 0)
	_, js := connect(t, bus.ConnConfig{InProcess: tc.nodes[0].NATS(), Name: "alone"})
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	err := bus.EnsureStreams(ctx, js, bus.StreamsConfig{Replicas: 3})
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("EnsureStreams on a lone node: got %v, want one wrapping context.DeadlineExceeded", err)
	}
}

// TestReplicasWithoutCluster fails at once: a single server cannot hold
// three replicas, and no waiting changes that.
func TestReplicasWithoutCluster(t *testing.T) {
	s, err := bus.StartServer(bus.ServerConfig{StoreDir: t.TempDir(), Port: bus.NoListen}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	_, js := connect(t, bus.ConnConfig{InProcess: s.NATS(), Name: "single"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = bus.EnsureStreams(ctx, js, bus.StreamsConfig{Replicas: 3})
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("EnsureStreams R3 on a single server: got %v, want an immediate error", err)
	}
}

func TestClusterConfigErrors(t *testing.T) {
	seed := []string{"nats-route://127.0.0.1:1"}
	for _, tt := range []struct {
		name string
		cfg  bus.ServerConfig
	}{
		{"bad cluster port", bus.ServerConfig{ServerName: "a", Cluster: bus.ClusterConfig{Port: 70000, Routes: seed}}},
		{"routes without cluster", bus.ServerConfig{Cluster: bus.ClusterConfig{Routes: seed}}},
		{"bad route", bus.ServerConfig{ServerName: "a", Cluster: bus.ClusterConfig{Port: bus.RandomClusterPort, Routes: []string{"127.0.0.1"}}}},
		{"no routes", bus.ServerConfig{ServerName: "a", Cluster: bus.ClusterConfig{Port: bus.RandomClusterPort}}},
		{"cluster without listener", bus.ServerConfig{Port: bus.NoListen, ServerName: "a", Cluster: bus.ClusterConfig{Port: bus.RandomClusterPort, Routes: seed}}},
		{"space in name", bus.ServerConfig{ServerName: "a", Cluster: bus.ClusterConfig{Name: "a b", Port: bus.RandomClusterPort, Routes: seed}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.StoreDir = t.TempDir()
			srv, err := bus.StartServer(tt.cfg, nil)
			if !errors.Is(err, bus.ErrServerConfig) {
				if srv != nil {
					srv.Shutdown()
				}
				t.Fatalf("StartServer: got %v, want ErrServerConfig", err)
			}
		})
	}
}

func TestClusterURL(t *testing.T) {
	s, err := bus.StartServer(bus.ServerConfig{StoreDir: t.TempDir(), ServerName: "a",
		Cluster: bus.ClusterConfig{Port: bus.RandomClusterPort, Routes: []string{"nats-route://127.0.0.1:1"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	if got := s.ClusterURL(); !strings.HasPrefix(got, "nats-route://127.0.0.1:") || strings.HasSuffix(got, ":-1") {
		t.Fatalf("ClusterURL: got %q, want nats-route://127.0.0.1:<port>", got)
	}
	single, err := bus.StartServer(bus.ServerConfig{StoreDir: t.TempDir(), Port: bus.NoListen}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(single.Shutdown)
	if got := single.ClusterURL(); got != "" {
		t.Fatalf("ClusterURL without a cluster: got %q, want empty", got)
	}
}

func TestParseRoutes(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{" nats-route://a:6222 , nats-route://b:6222,", []string{"nats-route://a:6222", "nats-route://b:6222"}, false},
		{"a:6222", nil, true},
		{"nats-route://a", nil, true},
	} {
		got, err := bus.ParseRoutes(tt.in)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("ParseRoutes(%q): got %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, bus.ErrServerConfig) {
			t.Errorf("ParseRoutes(%q): error %v does not wrap ErrServerConfig", tt.in, err)
		}
	}
}

func TestParseTags(t *testing.T) {
	if got := bus.ParseTags(""); got != nil {
		t.Errorf("ParseTags(\"\"): got %v, want nil", got)
	}
	if got, want := bus.ParseTags(" az:a, ssd ,,"), []string{"az:a", "ssd"}; !slices.Equal(got, want) {
		t.Errorf("ParseTags: got %v, want %v", got, want)
	}
}

func TestStreamPlacement(t *testing.T) {
	if p := bus.StreamConfig(schema.Logs, bus.StreamsConfig{}).Placement; p != nil {
		t.Fatalf("default placement: got %+v, want nil", p)
	}
	p := bus.StreamConfig(schema.Logs, bus.StreamsConfig{PlacementCluster: "east", PlacementTags: []string{"ssd"}}).Placement
	if p == nil || p.Cluster != "east" || !slices.Equal(p.Tags, []string{"ssd"}) {
		t.Fatalf("placement: got %+v, want cluster east, tags [ssd]", p)
	}
	if p := bus.DeadStreamConfig(bus.StreamsConfig{PlacementTags: []string{"ssd"}}).Placement; p == nil {
		t.Fatal("dead stream placement: got nil")
	}
}
