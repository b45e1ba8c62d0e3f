//go:build !unix

package loadgen

import "time"

// selfCPU is not measured on this platform.
func selfCPU() time.Duration { return 0 }

// loadAverage is not available on this platform.
func loadAverage() float64 { return -1 }

// machineCPU is not available on this platform.
func machineCPU() (busy, total float64, ok bool) { return 0, 0, false }
