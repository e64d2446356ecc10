//go:build race

package schema

// propertySeeds is how many random requests a property test converts; the
// race detector makes each ten times slower, so it gets fewer.
const propertySeeds = 60
