//go:build race

package payload

// raceOn: the race detector makes the exhaustive tests ten times slower, so
// they run a smaller share of their cases under it.
const raceOn = true
