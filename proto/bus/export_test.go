package bus

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
)

// PurgeCached is PurgeAcknowledged with the cache a Purger keeps between
// rounds.
func PurgeCached(ctx context.Context, js jetstream.JetStream, stream string, cache map[string][2]uint64) (uint64, error) {
	return purgeAcknowledged(ctx, js, stream, cache)
}
