//go:build !race

package schema

// propertySeeds is how many random requests a property test converts.
const propertySeeds = 300
