package forward

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Attempt outcomes, the outcome label of attempts_total.
const (
	outcomeSuccess     = "success"
	outcomeRetryable   = "retryable"
	outcomePermanent   = "permanent"
	outcomeBreakerOpen = "breaker_open"
)

// metrics are the forwarder's Prometheus collectors.
type metrics struct {
	attempts *prometheus.CounterVec
	rows     *prometheus.CounterVec
	dead     *prometheus.CounterVec
	partial  *prometheus.CounterVec
	skipped  *prometheus.CounterVec
	breaker  *prometheus.GaugeVec
}

// newMetrics creates the collectors and registers them on reg (nil: not
// registered). Collectors already registered by an earlier Forwarder are
// reused, so a restarted Forwarder in the same process counts on.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "otlp_arrow", "forwarder"
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "attempts_total",
			Help: "Send attempts by outcome: success, retryable, permanent, breaker_open."}, []string{"signal", "outcome"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "rows_forwarded_total",
			Help: "Rows (spans, data points, log records) the target accepted."}, []string{"signal"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "dead_letters_total",
			Help: "Messages rejected permanently and republished on otlp.dead.<signal>."}, []string{"signal"}),
		partial: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "partial_success_rejected_total",
			Help: "Items the target rejected in partial success answers."}, []string{"signal"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "skipped_total",
			Help: "Messages acknowledged without forwarding (signal disabled or subject not matching the filter)."}, []string{"signal"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "circuit_breaker_state",
			Help: "Circuit breaker state per signal: 0 closed, 1 half-open, 2 open."}, []string{"signal"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.attempts = register(reg, m.attempts, &err)
	m.rows = register(reg, m.rows, &err)
	m.dead = register(reg, m.dead, &err)
	m.partial = register(reg, m.partial, &err)
	m.skipped = register(reg, m.skipped, &err)
	m.breaker = register(reg, m.breaker, &err)
	return m, err
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	*errp = errors.Join(*errp, err)
	return c
}
