package manifests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/otlp-arrow/otlp-arrow/deploy/config"
	"github.com/otlp-arrow/otlp-arrow/deploy/internal/cli"
)

// Facts of the binary the manifests rely on that the config package does not
// export yet.
const (
	// drainSeconds is the binary's shutdown timeout on SIGTERM: grace
	// periods must exceed it.
	drainSeconds = 45
	// natsClusterPort is the bus's cluster (route) port in Kubernetes.
	natsClusterPort = 6222
)

// pendingEnv are OTLP_* variables the manifests set that later issues add to
// the configuration (the bus's clustering, the forwarder's target). While the
// configuration does not know one of them, it is logged and left out;
// once it does, its value is checked like every other variable.
var pendingEnv = map[string]bool{
	"OTLP_NATS_SERVER_NAME":  true,
	"OTLP_NATS_CLUSTER_NAME": true,
	"OTLP_NATS_CLUSTER_PORT": true,
	"OTLP_NATS_ROUTES":       true,
	"OTLP_STREAM_REPLICAS":   true,
}

// pendingCommands are subcommands the manifests run that the binary is
// getting now; while it lacks one, that is logged instead of failing.
var pendingCommands = map[string]bool{}

// repoRoot is the workspace root (two levels above this package).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Fatalf("workspace root not found: %v", err)
	}
	return root
}

// subcommands lists the binary's subcommands from `otlp-arrow help`.
func subcommands(t *testing.T) map[string]bool {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := cli.Main(context.Background(), []string{"help"}, &out, &errOut); code != 0 {
		t.Fatalf("otlp-arrow help: exit %d: %s", code, errOut.String())
	}
	cmds := map[string]bool{}
	inList := false
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		line := sc.Text()
		if line == "commands:" {
			inList = true
			continue
		}
		if inList && strings.HasPrefix(line, "  ") {
			if f := strings.Fields(line); len(f) > 0 {
				cmds[f[0]] = true
			}
		}
	}
	if len(cmds) == 0 {
		t.Fatalf("no commands in `otlp-arrow help`:\n%s", out.String())
	}
	return cmds
}

// stageCommands are the subcommands that run a stage and take --config.
var stageCommands = map[string]bool{
	"run": true, "bus": true, "ingest-grpc": true, "ingest-flight": true,
	"writer": true, "janitor": true, "forwarder": true,
}

// checkArgs checks that args (without the program name) name a stage
// subcommand of the binary and that its flags parse: `args... --help` must
// exit 0 without starting anything.
func checkArgs(t *testing.T, where string, cmds map[string]bool, args []string) {
	t.Helper()
	if len(args) == 0 {
		t.Errorf("%s: no subcommand", where)
		return
	}
	if !stageCommands[args[0]] {
		t.Errorf("%s: %q is not a stage subcommand", where, args[0])
		return
	}
	if !cmds[args[0]] && pendingCommands[args[0]] {
		t.Logf("%s: the binary has no subcommand %q yet: not checked", where, args[0])
		return
	}
	if !cmds[args[0]] {
		t.Errorf("%s: the binary has no subcommand %q yet (has %v)", where, args[0], keys(cmds))
		return
	}
	// A cancelled context: should a subcommand ignore --help, it stops at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	full := append(append([]string{}, args...), "--help")
	if code := cli.Main(ctx, full, &out, &errOut); code != 0 {
		t.Errorf("%s: otlp-arrow %s: exit %d: %s", where, strings.Join(full, " "), code, errOut.String())
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// applyEnv applies env (name -> value) over cfg the way the binary does,
// after setting aside the pending variables the configuration does not know
// yet, and validates the result.
func applyEnv(t *testing.T, where string, cfg config.Config, env map[string]string) config.Config {
	t.Helper()
	var list []string
	for name, val := range env {
		if pendingEnv[name] {
			probe := cfg
			if err := config.ApplyEnv(&probe, []string{name + "=" + val}); err != nil {
				t.Logf("%s: %s is not applied (the configuration does not take it yet?): %v", where, name, err)
				continue
			}
		}
		list = append(list, name+"="+val)
	}
	sort.Strings(list)
	if err := config.ApplyEnv(&cfg, list); err != nil {
		t.Errorf("%s: environment: %v", where, err)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("%s: configuration: %v", where, err)
	}
	return cfg
}

// port returns the port of a host:port address.
func port(t *testing.T, where, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("%s: address %q: %v", where, addr, err)
		return 0
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Errorf("%s: address %q: %v", where, addr, err)
	}
	return n
}

// host returns the host of a host:port address ("" when it is not one).
func host(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return h
}

// image is what deploy/Dockerfile's final stage declares.
type image struct {
	env        map[string]string
	expose     map[int]bool
	volumes    []string
	entrypoint []string
	cmd        []string
	user       string
	health     []string // HEALTHCHECK CMD
	buildPkg   string   // the package `go build` builds
}

// parseDockerfile reads the instructions of the Dockerfile's last stage
// (and the go build of the others) that the tests check.
func parseDockerfile(t *testing.T, path string) image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Join continuation lines, drop comments.
	var lines []string
	var cur strings.Builder
	for _, l := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(l)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	img := image{env: map[string]string{}, expose: map[int]bool{}}
	jsonArray := func(s string) []string {
		var out []string
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			t.Errorf("Dockerfile: %q is not the exec (JSON) form: %v", s, err)
		}
		return out
	}
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			img = image{env: map[string]string{}, expose: map[int]bool{}, buildPkg: img.buildPkg}
		case "RUN":
			if i := strings.Index(rest, "go build "); i >= 0 {
				f := strings.Fields(rest[i:])
				img.buildPkg = f[len(f)-1]
			}
		case "ENV":
			for _, kv := range strings.Fields(rest) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Errorf("Dockerfile: ENV %q: want KEY=VALUE", kv)
				}
				img.env[k] = v
			}
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				n, err := strconv.Atoi(strings.TrimSuffix(p, "/tcp"))
				if err != nil {
					t.Errorf("Dockerfile: EXPOSE %q: %v", p, err)
				}
				img.expose[n] = true
			}
		case "VOLUME":
			img.volumes = append(img.volumes, jsonArray(rest)...)
		case "ENTRYPOINT":
			img.entrypoint = jsonArray(rest)
		case "CMD":
			img.cmd = jsonArray(rest)
		case "USER":
			img.user = rest
		case "HEALTHCHECK":
			if _, c, ok := strings.Cut(rest, "CMD "); ok {
				img.health = jsonArray(strings.TrimSpace(c))
			}
		}
	}
	return img
}

// imageConfig is the configuration of a container of the image with no
// configuration of its own: the defaults and the image's environment.
func imageConfig(t *testing.T, img image) config.Config {
	t.Helper()
	return applyEnv(t, "Dockerfile ENV", config.Default(), img.env)
}
