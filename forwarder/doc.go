// Package forward will relay bus messages to remote OTLP and Arrow Flight
// endpoints. It is not built yet; see the forwarder issue.
package forward
