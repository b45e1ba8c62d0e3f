// Package headroom measures how much more work the gateway can take before
// the audio of the calls it already carries degrades, so that new calls are
// refused (SIP 503 with Retry-After, /readyz 503) while there is still room
// for the ones up, rather than admitted into a machine that can no longer
// keep every room's 20 ms clock.
//
// Three measurements, over a sliding window (Config.Window), decide:
//
//   - the process's CPU time, as a share of the cores it may use
//     (GOMAXPROCS, which follows a cgroup's CPU limit): the early, smooth
//     signal, against Config.MaxCPU;
//   - the machine's busy CPU time, every process's, as a share of all its
//     cores (/proc/stat), against Config.MaxMachineCPU: when something
//     else on the machine (a load generator, a media server, another
//     gateway) takes the cores, the room clocks' threads wait for one in
//     bursts long before the clocks fall measurably behind;
//   - the room clocks' lateness: the share of hub ticks that started
//     LateTick (three frames, 60 ms) or more late. It rises when the
//     machine is short of CPU for any reason, other processes included;
//     against Config.MaxLate.
//
// A fixed ceiling on legs (Config.MaxLegs) is there for operators who want
// one. The monitor refuses once a measurement reaches its ceiling and takes
// calls again by itself once every measurement has stayed below its
// recovery mark (90 % of a CPU ceiling, half the lateness ceiling) for
// Config.Hold: hysteresis, so that the admission of a burst of calls does
// not flap.
//
// The package imports nothing of the project: the gateway feeds it the
// room clocks' ticks (Monitor.Tick, a bridge.Observer) and its leg count.
package headroom
