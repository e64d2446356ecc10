package schema

import "fmt"

// Signal names one of the three OpenTelemetry signals otlp-arrow carries.
type Signal string

// The signals. Their string form is used in subjects, headers, directory
// names and flight descriptors.
const (
	Traces  Signal = "traces"
	Metrics Signal = "metrics"
	Logs    Signal = "logs"
)

// Signals lists every signal in a fixed order.
var Signals = []Signal{Traces, Metrics, Logs}

// ParseSignal returns the signal named s or an error listing the valid names.
func ParseSignal(s string) (Signal, error) {
	switch Signal(s) {
	case Traces, Metrics, Logs:
		return Signal(s), nil
	}
	return "", fmt.Errorf("unknown signal %q: want traces, metrics or logs", s)
}

// Version is the schema version carried in the Otlp-Schema header, for
// example "traces/v1". A schema change bumps it.
func (s Signal) Version() string { return string(s) + "/v1" }
