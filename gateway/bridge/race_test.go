//go:build race

package bridge

// raceEnabled: the race detector allocates on its own account (and makes
// sync.Pool drop items), so allocation counts mean nothing under it;
// `make test` runs TestZeroAllocs again without it.
const raceEnabled = true
