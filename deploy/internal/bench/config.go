package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// ErrInvalidConfig is wrapped by every flag error.
var ErrInvalidConfig = errors.New("bench: invalid config")

// Protocols.
const (
	ProtoGRPC   = "grpc"
	ProtoHTTP   = "http"
	ProtoFlight = "flight"
)

// Workloads: what one request holds and how many are in flight.
const (
	// WorkloadSDK is an instrumented service's SDK exporting: one service
	// (resource) per request, 100 spans, one request in flight per service.
	WorkloadSDK = "sdk"
	// WorkloadGateway is a Collector gateway in front: requests of 8192
	// spans (the batch processor's default send_batch_size) holding 20
	// services each, several requests in flight per connection.
	WorkloadGateway = "gateway"
)

// workloadDefaults are the flags a workload sets unless given explicitly.
var workloadDefaults = map[string]struct {
	batch, resources, services, workersPerConn int
}{
	WorkloadSDK:     {batch: 100, resources: 1, services: 8, workersPerConn: 4},
	WorkloadGateway: {batch: 8192, resources: 20, services: 20, workersPerConn: 4},
}

// Config is one load run; see the flags in [ParseFlags].
type Config struct {
	Workload    string // WorkloadSDK or WorkloadGateway; sets the defaults below
	Protocol    string
	Signal      schema.Signal
	Endpoint    string
	Connections int
	Workers     int
	Rate        float64 // rows per second; 0 is full speed
	Duration    time.Duration
	Warmup      time.Duration
	Timeout     time.Duration
	Batch       int // rows per request
	Resources   int // resources (services) per request
	Services    int // distinct services
	Distinct    int // distinct pre-encoded requests
	Seed        uint64

	MetricsURL string        // the target's Prometheus /metrics; "" none
	PIDs       []int         // processes whose CPU and RSS to measure
	DiskDir    string        // directory whose growth is the bytes on disk; "" none
	Drain      time.Duration // wait after the load for rows_written to catch up
	Settle     time.Duration // wait after the load (or drain) before the last reading
	JSONPath   string        // write the JSON report here; "-" for stdout
	Label      string        // free text copied into the report
	Quiet      bool          // no table
}

var defaultEndpoints = map[string]string{
	ProtoGRPC:   "127.0.0.1:4317",
	ProtoHTTP:   "127.0.0.1:4319",
	ProtoFlight: "127.0.0.1:4318",
}

// ParseFlags parses the bench flags.
func ParseFlags(args []string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Workload, "workload", WorkloadSDK, "sdk (one service per request, -batch 100 -services 8) or gateway "+
		"(a Collector gateway in front: -batch 8192 -resources 20 -services 20); explicit flags override its defaults")
	fs.StringVar(&c.Protocol, "protocol", ProtoGRPC, "grpc (OTLP/gRPC), http (OTLP/HTTP protobuf) or flight (Arrow Flight DoPut)")
	sig := fs.String("signal", "traces", "traces, metrics or logs")
	fs.StringVar(&c.Endpoint, "endpoint", "", "host:port (default 127.0.0.1:4317 grpc, :4319 http, :4318 flight)")
	fs.IntVar(&c.Connections, "connections", 2, "client connections")
	fs.IntVar(&c.Workers, "workers", 0, "concurrent requests in flight, spread over the connections (default: 4 per connection)")
	fs.Float64Var(&c.Rate, "rate", 0, "rows per second over all workers; 0 sends at full speed")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "measured load duration")
	fs.DurationVar(&c.Warmup, "warmup", 2*time.Second, "load before the measurement starts")
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.IntVar(&c.Batch, "batch", 0, "rows (spans, data points, log records) per request (default: the workload's)")
	fs.IntVar(&c.Resources, "resources", 0, "resources (services) per request (default: the workload's)")
	fs.IntVar(&c.Services, "services", 0, "distinct services (default: the workload's)")
	fs.IntVar(&c.Distinct, "distinct", 16, "distinct pre-encoded requests (at least one per worker and 16384 rows in all)")
	seed := fs.Uint64("seed", 1, "generator seed")
	fs.StringVar(&c.MetricsURL, "metrics-url", "", "the target's Prometheus /metrics URL (e.g. http://127.0.0.1:8080/metrics)")
	pids := fs.String("pid", "", "comma-separated process ids whose CPU and RSS to measure from /proc")
	fs.StringVar(&c.DiskDir, "disk-dir", "", "directory whose growth in bytes counts as bytes on disk")
	fs.DurationVar(&c.Drain, "drain", 60*time.Second, "with -metrics-url: wait at most this long for rows_written to reach the accepted rows")
	fs.DurationVar(&c.Settle, "settle", time.Second, "wait after the load (and drain) before the last reading")
	fs.StringVar(&c.JSONPath, "json", "", `write the report as JSON to this file ("-": stdout)`)
	fs.StringVar(&c.Label, "label", "", "label copied into the report")
	fs.BoolVar(&c.Quiet, "quiet", false, "do not print the table")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected arguments %q", ErrInvalidConfig, fs.Args())
	}
	c.Seed = *seed
	s, err := schema.ParseSignal(*sig)
	if err != nil {
		return c, fmt.Errorf("%w: -signal %q: want traces, metrics or logs", ErrInvalidConfig, *sig)
	}
	c.Signal = s
	if *pids != "" {
		for _, f := range strings.Split(*pids, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				return c, fmt.Errorf("%w: -pid %q: want process ids", ErrInvalidConfig, *pids)
			}
			c.PIDs = append(c.PIDs, n)
		}
	}
	if c.Endpoint == "" {
		c.Endpoint = defaultEndpoints[c.Protocol]
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if d, ok := workloadDefaults[c.Workload]; ok {
		if !given["batch"] {
			c.Batch = d.batch
		}
		if !given["resources"] {
			c.Resources = min(d.resources, max(c.Batch, 1))
		}
		if !given["services"] {
			c.Services = max(d.services, c.Resources)
		}
		if !given["workers"] {
			c.Workers = d.workersPerConn * c.Connections
		}
	}
	return c, c.Validate()
}

// build is what the requests of cfg hold.
func (c Config) build() build {
	return build{signal: c.Signal, flight: c.Protocol == ProtoFlight, rows: c.Batch,
		resources: c.Resources, services: c.Services, seed: c.Seed}
}

// Validate reports every invalid setting.
func (c Config) Validate() error {
	var errs []error
	bad := func(flag string, v any, want string) {
		errs = append(errs, fmt.Errorf("%w: -%s %v: %s", ErrInvalidConfig, flag, v, want))
	}
	if _, ok := workloadDefaults[c.Workload]; !ok {
		bad("workload", strconv.Quote(c.Workload), "want sdk or gateway")
	}
	if _, ok := defaultEndpoints[c.Protocol]; !ok {
		bad("protocol", strconv.Quote(c.Protocol), "want grpc, http or flight")
	}
	if c.Connections < 1 {
		bad("connections", c.Connections, "want >= 1")
	}
	if c.Workers < 1 {
		bad("workers", c.Workers, "want >= 1")
	}
	if c.Rate < 0 {
		bad("rate", c.Rate, "want >= 0")
	}
	if c.Duration <= 0 {
		bad("duration", c.Duration, "want > 0")
	}
	if c.Warmup < 0 {
		bad("warmup", c.Warmup, "want >= 0")
	}
	if c.Timeout <= 0 {
		bad("timeout", c.Timeout, "want > 0")
	}
	if c.Batch < 1 {
		bad("batch", c.Batch, "want >= 1")
	}
	if c.Resources < 1 || c.Resources > c.Batch {
		bad("resources", c.Resources, "want 1 to -batch")
	}
	if c.Services < 1 {
		bad("services", c.Services, "want >= 1")
	}
	if c.Distinct < 1 {
		bad("distinct", c.Distinct, "want >= 1")
	}
	return errors.Join(errs...)
}
