//go:build !unix

package headroom

import "time"

// ProcessCPU is not measured on this platform: CPU never refuses calls.
func ProcessCPU() time.Duration { return 0 }
