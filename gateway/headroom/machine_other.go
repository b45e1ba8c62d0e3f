//go:build !linux

package headroom

import "time"

// MachineCPU is not measured on this platform: the machine's CPU never
// refuses calls.
func MachineCPU() (busy, total time.Duration, ok bool) { return 0, 0, false }
