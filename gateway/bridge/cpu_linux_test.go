package bridge

import (
	"syscall"
	"time"
)

// threadCPU is the CPU time the calling OS thread has used (lock it with
// runtime.LockOSThread): on a machine shared with other work, a benchmark's
// wall time measures the queue for the cores, its thread's CPU time
// measures the work.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD, Linux
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
