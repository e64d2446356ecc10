package bus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Cluster defaults.
const (
	// DefaultClusterName is the cluster name when clustering is on and
	// ClusterConfig.Name is empty.
	DefaultClusterName = "otlp-arrow"
	// RandomClusterPort as ClusterConfig.Port listens for routes on a
	// random port (tests; read it back with Server.ClusterURL).
	RandomClusterPort = -1
)

// ClusterConfig joins the embedded server to a NATS cluster with
// JetStream: the nodes elect a meta leader, and streams with more than one
// replica are replicated over them (a write is acknowledged once a quorum
// of replicas has stored it). Every node needs its own ServerConfig.StoreDir
// and a unique ServerConfig.ServerName.
//
// Routes are plain TCP without authentication: ServerConfig.Auth and
// ServerConfig.TLS cover the client listener only. Anyone who reaches the
// route port can join the cluster and read every stream, so keep Host:Port
// on a private network (a Kubernetes NetworkPolicy admitting only the bus
// pods, a private subnet); see docs/security.md.
type ClusterConfig struct {
	Name string // cluster name, the same on every node; default DefaultClusterName
	Host string // where to listen for routes; default 127.0.0.1
	// Port listens for routes from the other nodes: 0 = no cluster (a
	// single node), RandomClusterPort = a random port.
	Port int
	// Routes are the seed routes, e.g. nats-route://10.0.0.2:6222, at
	// least one. The same list may be given to every node: a route to the
	// node itself is ignored, and the nodes learn of each other through the
	// seeds. Until it has heard from the meta leader, JetStream expects as
	// many nodes as there are routes (at least 2), so list every node.
	Routes []string
}

// enabled says whether clustering is on.
func (c ClusterConfig) enabled() bool { return c.Port != 0 }

// ParseRoutes splits a comma-separated list of route URLs
// (nats-route://host:port) and checks each. Empty items are skipped; an
// empty list gives nil.
func ParseRoutes(s string) ([]string, error) {
	var out []string
	for r := range strings.SplitSeq(s, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if _, err := parseRoute(r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ParseTags splits a comma-separated list of server or placement tags,
// trimming white space and skipping empty items; an empty list gives nil.
func ParseTags(s string) []string {
	var out []string
	for tag := range strings.SplitSeq(s, ",") {
		if tag = strings.TrimSpace(tag); tag != "" {
			out = append(out, tag)
		}
	}
	return out
}

// parseRoute checks one route URL: a scheme and a host:port.
func parseRoute(r string) (*url.URL, error) {
	u, err := url.Parse(r)
	if err != nil {
		return nil, fmt.Errorf("%w: route %q: %w", ErrServerConfig, r, err)
	}
	if u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("%w: route %q: want nats-route://host:port", ErrServerConfig, r)
	}
	if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
		return nil, fmt.Errorf("%w: route %q: want nats-route://host:port", ErrServerConfig, r)
	}
	return u, nil
}

// apply sets the cluster options of opts; serverName is the node's name,
// the host name when empty.
// A cluster node must listen for clients: nats-server starts routing only
// once its client listener is up.
func (c ClusterConfig) apply(opts *server.Options, serverName string, listen bool) error {
	if !c.enabled() {
		if len(c.Routes) > 0 {
			return fmt.Errorf("%w: routes need a cluster port", ErrServerConfig)
		}
		return nil
	}
	if c.Port < RandomClusterPort || c.Port > 65535 {
		return fmt.Errorf("%w: cluster port %d: want 0 (no cluster), -1 (random) or 1-65535", ErrServerConfig, c.Port)
	}
	if serverName == "" {
		// A StatefulSet's pods, and hosts in general, have unique names.
		h, err := os.Hostname()
		if err != nil || h == "" {
			return fmt.Errorf("%w: a cluster node needs a unique server name (no host name: %v)", ErrServerConfig, err)
		}
		opts.ServerName = h
	}
	if !listen {
		return fmt.Errorf("%w: a cluster node must listen for clients (port -1 is not allowed)", ErrServerConfig)
	}
	if len(c.Routes) == 0 {
		// nats-server refuses to start JetStream clustered without routes.
		return fmt.Errorf("%w: a cluster node needs at least one seed route", ErrServerConfig)
	}
	name := c.Name
	if name == "" {
		name = DefaultClusterName
	}
	if strings.ContainsAny(name, " \t\r\n") {
		return fmt.Errorf("%w: cluster name %q: no white space allowed", ErrServerConfig, name)
	}
	host := c.Host
	if host == "" {
		host = DefaultHost
	}
	port := c.Port
	if port == RandomClusterPort {
		port = server.RANDOM_PORT
	}
	opts.Cluster = server.ClusterOpts{Name: name, Host: host, Port: port}
	for _, r := range c.Routes {
		u, err := parseRoute(r)
		if err != nil {
			return err
		}
		opts.Routes = append(opts.Routes, u)
	}
	return nil
}

// ClusterURL returns the URL other nodes route to (nats-route://host:port),
// or "" when the server is not clustered.
func (s *Server) ClusterURL() string {
	addr := s.ns.ClusterAddr()
	if addr == nil {
		return ""
	}
	return "nats-route://" + net.JoinHostPort(addr.IP.String(), strconv.Itoa(addr.Port))
}

// Retry bounds of the JetStream API calls in EnsureStreams.
const (
	retryFirst = 100 * time.Millisecond
	retryMax   = 2 * time.Second
	// An API call gets attemptFirst, doubling up to attemptMax: a request
	// sent while no meta leader is elected gets no answer at all, and
	// waiting long for it delays the retry that the new leader answers.
	attemptFirst = time.Second
	attemptMax   = 8 * time.Second
)

// JetStream API error codes that are transient while a cluster forms, a
// node restarts or a leader is elected.
const (
	codeClusterNoPeers      jetstream.ErrorCode = 10005 // no suitable peers for placement (nodes not joined yet)
	codeClusterIncomplete   jetstream.ErrorCode = 10004 // incomplete results
	codeStreamOffline       jetstream.ErrorCode = 10118 // stream is offline
	codeConsumerOffline     jetstream.ErrorCode = 10119 // consumer is offline
	codeStreamOfflineReason jetstream.ErrorCode = 10194
	codeConsumerOfflineRsn  jetstream.ErrorCode = 10195
)

// transient says whether a JetStream API error may go away by itself: the
// meta leader is not elected yet, not enough nodes have joined for the
// replicas, a request timed out or the connection is reconnecting.
// "JetStream not enabled" is not: the server is configured so.
func transient(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case jetstream.JSErrCodeJetStreamNotEnabled, jetstream.JSErrCodeJetStreamNotEnabledForAccount:
			return false
		case codeClusterNoPeers, codeClusterIncomplete, codeClusterNotAvailable, codeInsufficientResources,
			codeStreamOffline, codeConsumerOffline, codeStreamOfflineReason, codeConsumerOfflineRsn:
			return true
		}
		return apiErr.Code == 503
	}
	return errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrDisconnected) ||
		errors.Is(err, nats.ErrStaleConnection)
}

// retry calls op until it succeeds, fails with an error that is not
// transient, or ctx is done. Each call gets a deadline (1 s, doubling up
// to 8 s), and the wait between calls doubles from 100 ms to 2 s. On ctx
// done it returns the last error together with the cause.
func retry(ctx context.Context, op func(context.Context) error) error {
	wait, attempt := retryFirst, attemptFirst
	for {
		actx, cancel := context.WithTimeout(ctx, attempt)
		err := op(actx)
		cancel()
		if err == nil || !transient(err) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (gave up: %w)", err, context.Cause(ctx))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up: %w)", err, context.Cause(ctx))
		case <-t.C:
		}
		wait = min(2*wait, retryMax)
		attempt = min(2*attempt, attemptMax)
	}
}
