package manifests

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	composecli "github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/otlp-arrow/otlp-arrow/deploy/config"
)

// loadCompose loads the root docker-compose.yml with every profile and an
// empty environment, as `docker compose --profile '*' config` would.
func loadCompose(t *testing.T, root string) *types.Project {
	t.Helper()
	opts, err := composecli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		composecli.WithWorkingDirectory(root),
		composecli.WithEnv([]string{}),
		composecli.WithProfiles([]string{"*"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return p
}

// serviceEnv is a service's environment over the image's; variables
// without a value (passed through from the host) are left out.
func serviceEnv(img image, s types.ServiceConfig) map[string]string {
	env := map[string]string{}
	for k, v := range img.env {
		env[k] = v
	}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	return env
}

func TestComposeInterpolationHasDefaults(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	// Every ${VAR} must have a default (${VAR:-x}), so `docker compose up`
	// works with nothing set.
	for _, m := range regexp.MustCompile(`\$\{[^}]*\}`).FindAllString(string(data), -1) {
		if !regexp.MustCompile(`^\$\{[A-Z0-9_]+:-[^}]*\}$`).MatchString(m) {
			t.Errorf("docker-compose.yml: %s has no default (want ${NAME:-default})", m)
		}
	}
}

func TestComposeFile(t *testing.T) {
	root := repoRoot(t)
	p := loadCompose(t, root)
	img := parseDockerfile(t, filepath.Join(root, "deploy", "Dockerfile"))
	cmds := subcommands(t)

	want := []string{"bus", "ingest-flight", "ingest-grpc", "janitor", "forwarder", "writer"}
	got := p.ServiceNames()
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("services = %v, want %v", got, want)
	}

	cfgs := map[string]config.Config{}
	for _, name := range got {
		s := p.Services[name]
		cfg := applyEnv(t, name, config.Default(), serviceEnv(img, s))
		cfgs[name] = cfg
		checkArgs(t, "service "+name, cmds, s.Command)
		if s.Build == nil || s.Build.Dockerfile != "deploy/Dockerfile" || s.Build.Context != root {
			t.Errorf("%s: build = %+v, want deploy/Dockerfile in the root context", name, s.Build)
		}
		if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= drainSeconds*time.Second {
			t.Errorf("%s: stop_grace_period = %v, want > %d s (the drain)", name, s.StopGracePeriod, drainSeconds)
		}
		if !s.ReadOnly {
			t.Errorf("%s: read_only is off, want a read-only root file system", name)
		}
		adminPort := port(t, name, cfg.Admin.Addr)
		wantHealth := types.HealthCheckTest{"CMD", "/otlp-arrow", "health", "http://127.0.0.1:" + strconv.Itoa(adminPort) + "/readyz"}
		if s.HealthCheck == nil || !slices.Equal(s.HealthCheck.Test, wantHealth) {
			t.Errorf("%s: healthcheck = %+v, want test %v", name, s.HealthCheck, wantHealth)
		}
		if !cmds["health"] {
			t.Errorf("the binary has no health subcommand for the health checks")
		}
		for _, lp := range []struct{ key, addr string }{
			{"admin.addr", cfg.Admin.Addr}, {"ingest_grpc.grpc_addr", cfg.Ingest.GRPCAddr}, {"ingest_grpc.http_addr", cfg.Ingest.HTTPAddr},
			{"ingest_flight.addr", cfg.Flight.Addr},
		} {
			if host(lp.addr) != "0.0.0.0" {
				t.Errorf("%s: %s = %s, want host 0.0.0.0 in a container", name, lp.key, lp.addr)
			}
		}
		if name == "bus" {
			continue
		}
		// Every other stage reaches the bus service on the bus's port, once
		// it is healthy.
		u, err := url.Parse(cfg.Bus.URL)
		if err != nil || u.Scheme != "nats" || u.Hostname() != "bus" {
			t.Errorf("%s: OTLP_NATS_URL = %q, want nats://bus:PORT", name, cfg.Bus.URL)
		}
		if dep, ok := s.DependsOn["bus"]; name != "janitor" && (!ok || dep.Condition != types.ServiceConditionHealthy) {
			t.Errorf("%s: depends_on bus = %+v, want condition service_healthy", name, dep)
		}
	}

	bus, busCfg := p.Services["bus"], cfgs["bus"]
	if busCfg.Bus.URL != "" {
		t.Errorf("bus: OTLP_NATS_URL = %q, want none (the bus is the server)", busCfg.Bus.URL)
	}
	for name, cfg := range cfgs {
		if name == "bus" {
			continue
		}
		u, err := url.Parse(cfg.Bus.URL)
		if err == nil && u.Port() != strconv.Itoa(busCfg.Bus.Port) {
			t.Errorf("%s: bus URL %s, but the bus listens on %d", name, cfg.Bus.URL, busCfg.Bus.Port)
		}
	}
	checkPorts(t, bus, busCfg.Bus.Port)
	checkVolume(t, bus, "volume", "jetstream", busCfg.DataDir)

	checkPorts(t, p.Services["ingest-grpc"], port(t, "ingest-grpc", cfgs["ingest-grpc"].Ingest.GRPCAddr), port(t, "ingest-grpc", cfgs["ingest-grpc"].Ingest.HTTPAddr))
	checkPorts(t, p.Services["ingest-flight"], port(t, "ingest-flight", cfgs["ingest-flight"].Flight.Addr))

	// Writers scale: no fixed container name, published port or writer id.
	w := p.Services["writer"]
	if w.ContainerName != "" || len(w.Ports) != 0 {
		t.Errorf("writer: container_name %q, ports %v: want neither, so --scale writer=2 works", w.ContainerName, w.Ports)
	}
	if _, ok := w.Environment["OTLP_WRITER_ID"]; ok {
		t.Errorf("writer: OTLP_WRITER_ID is set: replicas would write the same file names")
	}
	checkVolume(t, w, "bind", filepath.Join(root, "output_dir"), cfgs["writer"].OutputDir)
	checkVolume(t, p.Services["janitor"], "bind", filepath.Join(root, "output_dir"), cfgs["janitor"].OutputDir)

	if f := p.Services["forwarder"]; !slices.Equal(f.Profiles, []string{"forward"}) {
		t.Errorf("forwarder: profiles = %v, want [forward]", f.Profiles)
	}
	for _, name := range []string{"bus", "ingest-grpc", "ingest-flight", "writer", "janitor"} {
		if len(p.Services[name].Profiles) != 0 {
			t.Errorf("%s: profiles = %v, want none (always on)", name, p.Services[name].Profiles)
		}
	}
}

// checkPorts wants exactly the container ports want published, each on the
// same host port.
func checkPorts(t *testing.T, s types.ServiceConfig, want ...int) {
	t.Helper()
	var got []int
	for _, p := range s.Ports {
		got = append(got, int(p.Target))
		if p.Published != strconv.Itoa(int(p.Target)) {
			t.Errorf("%s: port %d published as %q, want the same number", s.Name, p.Target, p.Published)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: published container ports %v, want %v (the configured ports)", s.Name, got, want)
	}
}

// checkVolume wants a volume of kind typ from source mounted at target.
func checkVolume(t *testing.T, s types.ServiceConfig, typ, source, target string) {
	t.Helper()
	for _, v := range s.Volumes {
		if v.Target == target {
			if v.Type != typ || v.Source != source {
				t.Errorf("%s: %s mounts %s %q, want %s %q", s.Name, target, v.Type, v.Source, typ, source)
			}
			return
		}
	}
	t.Errorf("%s: nothing mounted at %s (want %s %q)", s.Name, target, typ, source)
}

func TestDockerfile(t *testing.T) {
	root := repoRoot(t)
	img := parseDockerfile(t, filepath.Join(root, "deploy", "Dockerfile"))
	cfg := imageConfig(t, img)
	if !slices.Equal(img.entrypoint, []string{"/otlp-arrow"}) {
		t.Errorf("ENTRYPOINT = %v, want [/otlp-arrow]", img.entrypoint)
	}
	checkArgs(t, "Dockerfile CMD", subcommands(t), img.cmd)
	if !slices.Equal(img.cmd, []string{"run"}) {
		t.Errorf("CMD = %v, want [run]", img.cmd)
	}
	if img.user == "" || img.user == "root" || img.user == "0" || img.user == "0:0" {
		t.Errorf("USER = %q, want a non-root user", img.user)
	}
	wantPorts := []int{
		port(t, "grpc", cfg.Ingest.GRPCAddr), port(t, "http", cfg.Ingest.HTTPAddr),
		port(t, "admin", cfg.Admin.Addr), cfg.Bus.Port, port(t, "flight", cfg.Flight.Addr),
	}
	for _, p := range wantPorts {
		if !img.expose[p] {
			t.Errorf("EXPOSE lacks %d", p)
		}
	}
	if len(img.expose) != len(wantPorts) {
		t.Errorf("EXPOSE = %v, want exactly %v", img.expose, wantPorts)
	}
	for _, dir := range []string{cfg.DataDir, cfg.OutputDir} {
		if !slices.Contains(img.volumes, dir) {
			t.Errorf("VOLUME %v lacks %s", img.volumes, dir)
		}
	}
	if host(cfg.Ingest.GRPCAddr) != "0.0.0.0" {
		t.Errorf("image listens on %s, want 0.0.0.0 (OTLP_LISTEN_HOST)", cfg.Ingest.GRPCAddr)
	}
	wantHealth := []string{"/otlp-arrow", "health", "http://127.0.0.1:" + strconv.Itoa(port(t, "admin", cfg.Admin.Addr)) + "/readyz"}
	if !slices.Equal(img.health, wantHealth) {
		t.Errorf("HEALTHCHECK CMD = %v, want %v", img.health, wantHealth)
	}
	if img.buildPkg != "./deploy/cmd/otlp-arrow" {
		t.Errorf("go build of %q, want ./deploy/cmd/otlp-arrow", img.buildPkg)
	}
	if _, err := os.Stat(filepath.Join(root, img.buildPkg, "main.go")); err != nil {
		t.Errorf("built package: %v", err)
	}
}
