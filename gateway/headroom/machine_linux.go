//go:build linux

package headroom

import (
	"os"
	"time"
)

// MachineCPU is the time every core of the machine has spent busy and in
// all, from /proc/stat's first line; ok is false where it cannot be read
// (then the machine's CPU never refuses calls).
func MachineCPU() (busy, total time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	return parseProcStat(b)
}
