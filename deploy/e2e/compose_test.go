package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	composecli "github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// flightPortEnv sets ingest-flight's port (like OTLP_PROTOBUF_PORT for
// OTLP/gRPC).
const flightPortEnv = "OTLP_ARROW_FLIGHT_PORT"

// portEnv maps a container port the compose file publishes to the variable
// that moves it, so local processes do not collide.
var portEnv = map[uint32]string{
	4317: "OTLP_PROTOBUF_PORT",
	4319: "OTLP_HTTP_PORT",
	4318: flightPortEnv,
	4222: "OTLP_NATS_PORT",
}

// composeTopology is the compose file's services run as local processes.
type composeTopology struct {
	dir, out   string
	natsURL    string
	grpcAddr   string
	flightAddr string
	procs      map[string]*proc
	order      []string // start order
}

// imageEnv is the ENV of deploy/Dockerfile's final stage: what a container
// of the image gets before the compose file's environment.
func imageEnv(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	joined := strings.ReplaceAll(string(data), "\\\n", " ")
	sc := bufio.NewScanner(strings.NewReader(joined))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "FROM ") {
			clear(env)
		}
		if rest, ok := strings.CutPrefix(line, "ENV "); ok {
			for _, kv := range strings.Fields(rest) {
				if k, v, ok := strings.Cut(kv, "="); ok {
					env[k] = v
				}
			}
		}
	}
	return env
}

// loadComposeProject loads the root docker-compose.yml as `docker compose`
// would with nothing set in the environment.
func loadComposeProject(t *testing.T) *types.Project {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := composecli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		composecli.WithWorkingDirectory(root), composecli.WithEnv([]string{}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return p
}

// startCompose starts the default services of the compose file (no
// profiles) as processes, with `replicas` writers, each with its own id as
// `docker compose up --scale writer=N` gives them (there: the container's
// host name). Container addresses become loopback, published ports free
// local ports, volumes directories under a temporary directory.
func startCompose(t *testing.T, project *types.Project, replicas int) *composeTopology {
	t.Helper()
	img := imageEnv(t)
	dir := t.TempDir()
	ct := &composeTopology{dir: dir, out: filepath.Join(dir, "output_dir"), procs: map[string]*proc{}}

	// Ports: one free local port per published container port and service.
	ports := map[string]map[uint32]int{}
	for _, name := range project.ServiceNames() {
		ports[name] = map[uint32]int{}
		for _, p := range project.Services[name].Ports {
			ports[name][p.Target] = freePort(t)
		}
	}
	busPort := ports["bus"][4222]
	if busPort == 0 {
		t.Fatal("the bus service publishes no NATS port 4222")
	}
	ct.natsURL = "nats://127.0.0.1:" + strconv.Itoa(busPort)
	ct.grpcAddr = "127.0.0.1:" + strconv.Itoa(ports["ingest-grpc"][4317])
	if p := ports["ingest-flight"][4318]; p != 0 {
		ct.flightAddr = "127.0.0.1:" + strconv.Itoa(p)
	}

	// Start order: the services every other one depends on first.
	names := project.ServiceNames()
	slices.SortStableFunc(names, func(a, b string) int {
		return len(project.Services[a].DependsOn) - len(project.Services[b].DependsOn)
	})
	for _, name := range names {
		s := project.Services[name]
		if len(s.Command) == 0 {
			t.Fatalf("%s: no command", name)
		}
		if s.HealthCheck == nil || len(s.HealthCheck.Test) < 4 || !strings.HasSuffix(s.HealthCheck.Test[3], "/readyz") {
			t.Fatalf("%s: health check %v: want otlp-arrow health http://.../readyz (what proc waits for)", name, s.HealthCheck)
		}
		env := map[string]string{}
		for k, v := range img {
			env[k] = v
		}
		for k, v := range s.Environment {
			if v != nil {
				env[k] = *v
			}
		}
		if _, ok := env["OTLP_LISTEN_HOST"]; ok {
			env["OTLP_LISTEN_HOST"] = "127.0.0.1"
		}
		if u, ok := env["OTLP_NATS_URL"]; ok {
			pu, err := url.Parse(u)
			if err != nil || pu.Hostname() != "bus" {
				t.Fatalf("%s: OTLP_NATS_URL %q does not name the bus service", name, u)
			}
			env["OTLP_NATS_URL"] = ct.natsURL
		}
		for target, local := range ports[name] {
			v, ok := portEnv[target]
			if !ok {
				t.Fatalf("%s: publishes port %d, which no variable moves", name, target)
			}
			env[v] = strconv.Itoa(local)
		}
		for _, key := range []string{"OTLP_DATA_DIR", "OTLP_OUTPUT_DIR"} {
			if v, ok := env[key]; ok {
				env[key] = localDir(dir, name, s.Volumes, v)
			}
		}
		env["OTLP_WRITE_INTERVAL_SECS"] = "0.1"
		n := 1
		if name == "writer" {
			n = replicas
		}
		for i := range n {
			pname := name
			penv := env
			if name == "writer" {
				pname = "writer-" + strconv.Itoa(i+1)
				penv = withEnv(env, "OTLP_WRITER_ID", "w"+strconv.Itoa(i+1))
			}
			var list []string
			for k, v := range penv {
				list = append(list, k+"="+v)
			}
			slices.Sort(list)
			p := newProc(t, dir, pname, list, s.Command...)
			p.start(t)
			ct.procs[pname] = p
			ct.order = append(ct.order, pname)
		}
	}
	return ct
}

// withEnv returns a copy of m with k set to v.
func withEnv(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for mk, mv := range m {
		out[mk] = mv
	}
	out[k] = v
	return out
}

// localDir maps a container path to a local directory: a bind mount of
// ./output_dir to dir/output_dir (shared, like the host directory), a named
// volume to dir/<volume>, anything else to a directory of the service's own.
func localDir(dir, service string, vols []types.ServiceVolumeConfig, containerPath string) string {
	for _, v := range vols {
		if v.Target != containerPath {
			continue
		}
		if v.Type == types.VolumeTypeBind {
			return filepath.Join(dir, filepath.Base(v.Source))
		}
		return filepath.Join(dir, "volume-"+v.Source)
	}
	return filepath.Join(dir, service+strings.ReplaceAll(containerPath, "/", "-"))
}

// stop stops the processes in reverse start order.
func (ct *composeTopology) stop(t *testing.T) {
	t.Helper()
	for i := len(ct.order) - 1; i >= 0; i-- {
		ct.procs[ct.order[i]].stop(t)
	}
}

// flightSpans sends spans first..first+n-1 as one Arrow batch in the traces
// schema with Flight DoPut, descriptor path ["traces"].
func flightSpans(t *testing.T, addr string, first uint64, n int) {
	t.Helper()
	spans := make([]*tracepb.Span, n)
	now := uint64(time.Now().UnixNano())
	for i := range spans {
		id := first + uint64(i)
		spans[i] = &tracepb.Span{
			TraceId: append(make([]byte, 8), spanID(id)...), SpanId: spanID(id), Name: "flight-op",
			StartTimeUnixNano: now, EndTimeUnixNano: now + 1000,
		}
	}
	rss := []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name",
			Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "flight-client"}}}}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}},
	}}
	rec, err := schema.TracesToArrow(memory.DefaultAllocator, rss)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()

	client, err := flight.NewClientWithMiddleware(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := client.DoPut(ctx)
	if err != nil {
		t.Fatalf("DoPut: %v", err)
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(rec.Schema()))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{string(schema.Traces)}})
	if err := w.Write(rec); err != nil {
		t.Fatalf("DoPut write: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("DoPut close: %v", err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatalf("DoPut close send: %v", err)
	}
	results := 0
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("DoPut: %v", err)
		}
		results++
	}
	if results == 0 {
		t.Fatal("DoPut: no PutResult: the batch was not acknowledged")
	}
}

// hasSubcommands reports whether the built binary lists every name in
// `otlp-arrow help`.
func hasSubcommands(t *testing.T, names ...string) (missing []string) {
	t.Helper()
	out, err := exec.Command(binPath, "help").Output()
	if err != nil {
		t.Fatalf("otlp-arrow help: %v", err)
	}
	have := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 0 && strings.HasPrefix(sc.Text(), "  ") {
			have[f[0]] = true
		}
	}
	for _, n := range names {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	return missing
}

// TestComposeTopology runs the compose file's services as local processes
// (bus, ingest-grpc, ingest-flight, two writers, janitor), sends spans
// through both ingests and finds each in the files exactly once.
func TestComposeTopology(t *testing.T) {
	project := loadComposeProject(t)
	for name, s := range project.Services {
		// While the binary is getting a stage, run the others.
		if missing := hasSubcommands(t, s.Command[0]); len(missing) > 0 {
			t.Logf("NOT TESTED: the binary has no subcommand %q yet; service %s left out", s.Command[0], name)
			delete(project.Services, name)
		}
	}
	for _, name := range []string{"bus", "ingest-grpc", "writer"} {
		if _, ok := project.Services[name]; !ok {
			t.Fatalf("service %s is not there", name)
		}
	}
	ct := startCompose(t, project, 2)

	s := newSender(t, ct.grpcAddr)
	for range 10 {
		if err := s.send(context.Background(), 50); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	const flightFirst = 100_001
	flightN := 0
	if ct.flightAddr != "" {
		flightN = 200
		flightSpans(t, ct.flightAddr, flightFirst, flightN)
		for i := range uint64(flightN) {
			s.acked[flightFirst+i] = true
		}
	}

	waitDrained(t, ct.natsURL)
	ct.stop(t)
	counts := spanCounts(t, ct.out)
	if got, want := len(counts), 500+flightN; got != want {
		t.Errorf("files hold %d spans, want %d", got, want)
	}
	checkExactlyOnce(t, s, counts)

	// Each writer names its files by its id.
	entries, err := os.ReadDir(filepath.Join(ct.out, "otlp", "traces"))
	if err != nil {
		t.Fatal(err)
	}
	writers := map[string]int{}
	for _, e := range entries {
		for _, id := range []string{"w1", "w2"} {
			if strings.Contains(e.Name(), "-"+id+"-") {
				writers[id]++
			}
		}
	}
	t.Logf("files per writer: %v", writers)
	if writers["w1"]+writers["w2"] != len(entries) {
		t.Errorf("%d files, %v by writer id: every file must carry its writer's id", len(entries), writers)
	}
}
