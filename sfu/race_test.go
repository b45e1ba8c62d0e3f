//go:build race

package sfu

// raceEnabled: the race detector allocates on its own account, so
// allocation counts mean nothing under it; `make test` runs the
// ZeroAllocs tests again without it.
const raceEnabled = true
