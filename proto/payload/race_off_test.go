//go:build !race

package payload

const raceOn = false
