//go:build !unix

package loadgen

// loadAverage is not available on this platform.
func loadAverage() float64 { return -1 }

// machineCPU is not available on this platform.
func machineCPU() (busy, total float64, ok bool) { return 0, 0, false }
