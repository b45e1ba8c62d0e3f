//go:build race

package gateway

// raceEnabled: the race detector allocates on its own account, so
// allocation counts mean nothing under it (TestVideoZeroAllocs skips).
const raceEnabled = true
