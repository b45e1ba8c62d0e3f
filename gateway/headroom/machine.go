package headroom

import (
	"bytes"
	"strconv"
	"time"
)

// userHZ is the unit of /proc/stat's counters: USER_HZ, 100 on every
// Linux architecture Go supports.
const userHZ = 100

// parseProcStat reads the aggregate "cpu" line: user nice system idle
// iowait irq softirq steal (guest time is already in user). Idle and
// iowait are the time nothing needed a core.
func parseProcStat(b []byte) (busy, total time.Duration, ok bool) {
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	f := bytes.Fields(line)
	if len(f) < 5 || string(f[0]) != "cpu" {
		return 0, 0, false
	}
	var sum, idle uint64
	for i, v := range f[1:min(len(f), 9)] {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return 0, 0, false
		}
		sum += n
		if i == 3 || i == 4 { // idle, iowait
			idle += n
		}
	}
	tick := time.Second / userHZ
	return time.Duration(sum-idle) * tick, time.Duration(sum) * tick, true
}
