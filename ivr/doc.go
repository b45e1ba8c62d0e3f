// Package ivr is the PIN IVR of a dial-in call: a state machine driven by
// the caller's keys, the ends of prompts and a clock, whose output is a
// stream of actions (play, stop, join, wait, hang up) that the gateway
// carries out. It knows nothing of SIP, RTP or rooms: digits come in from
// whatever DTMF source the call has (RFC 4733, SIP INFO, in-band), prompts
// go out as names of package ivr/prompts, and a PIN becomes a room through
// the LookupFunc the gateway passes in.
//
// # Using it
//
//	s, err := ivr.New(cfg, lookup, ivr.WithClock(clock), ivr.WithLogger(log))
//	defer s.Close()
//	go feedDigits(s.Digit)            // and s.Hangup() on BYE
//	for a := range s.Actions() {      // closed when the IVR is over
//		switch a := a.(type) {
//		case ivr.Play:         // play a.Prompt; s.PromptDone(a.ID) at its end (unless a.Loop)
//		case ivr.StopPlayback: // stop it
//		case ivr.Join:         // join a.Room (as host if a.Host); then s.RoomCount(others)
//		case ivr.Wait:         // hold for a.Room's host; s.HostJoined() when one is (or is already) there
//		case ivr.Hangup:       // hang up; a.Reason is the outcome
//		}
//	}
//	metrics.IVROutcome(s.Outcome().String())
//
// A host joining a room is the gateway's to notice: it calls HostJoined on
// the sessions that sent Wait for that room.
//
// # States and transitions
//
// Every prompt of StatePrompting is interruptible (barge-in): any key
// 0–9 * # stops it (StopPlayback) and is then taken as in StateCollecting.
// Keys A–D are ignored everywhere, and so are inputs that a state does not
// list. A "fail" counts an attempt; once MaxAttempts are used it plays
// goodbye and hangs up with that outcome (a lookup error does so at once).
//
//	state       | input                         | actions                                          | next
//	------------+-------------------------------+--------------------------------------------------+------------
//	(New)       |                               | Play welcome!, then enter_pin!                   | prompting
//	prompting   | PromptDone, more to play      | Play the next prompt!                            | prompting
//	prompting   | PromptDone, last prompt       | first-digit timer (10 s)                         | collecting
//	prompting   | key                           | StopPlayback, then the key as below              | collecting
//	collecting  | 0–9, entry < PINMaxLen        | append; inter-digit timer (5 s)                  | collecting
//	collecting  | 0–9, entry = PINMaxLen        | clear; fail wrong_pin: Play invalid_pin!, enter_pin! | prompting
//	collecting  | *                             | clear; first-digit timer                         | collecting
//	collecting  | # with no entry               | (first-digit timer if none runs)                 | collecting
//	collecting  | # after digits                | Lookup(entry) in a goroutine                     | looking_up
//	collecting  | timer                         | clear; fail timeout: Play enter_pin!             | prompting
//	looking_up  | ErrNotFound                   | fail wrong_pin: Play invalid_pin!, enter_pin!    | prompting
//	looking_up  | other error, or no room       | Play goodbye                                     | goodbye
//	looking_up  | host, or room without wait    | Play joining                                     | joining
//	looking_up  | guest of a wait_for_host room | Wait, Play waiting_for_host; host-wait timer     | waiting
//	joining     | PromptDone                    | Join (outcome joined)                            | joined
//	waiting     | PromptDone (waiting_for_host) | Play hold_music~ (looped)                        | waiting
//	waiting     | HostJoined                    | StopPlayback, Play joining                       | joining
//	waiting     | host-wait timer (if set)      | StopPlayback, Play goodbye (outcome timeout)     | goodbye
//	joined      | RoomCount(0)                  | Play first_participant                           | announcing
//	joined      | RoomCount(n>0), AnnounceCount | Play there_are, <n>, people_in_meeting           | announcing
//	joined      | RoomCount(n>0)                | —                                                | ended
//	announcing  | PromptDone, more to play      | Play the next prompt                             | announcing
//	announcing  | PromptDone, last prompt       | —                                                | ended
//	goodbye     | PromptDone                    | Hangup(reason)                                   | ended
//	any         | Hangup (caller hung up)       | — (outcome hung_up_in_ivr unless already set)    | ended
//	any         | Close                         | — (pending actions dropped; same outcome rule)   | ended
//
// "!" marks an interruptible prompt, "~" a looped one. Timers are stopped
// on every way out of their state, and a timer or lookup result that
// arrives after its state has been left is ignored (each carries a
// generation number). In ended, Actions is closed once the actions queued
// before are delivered.
//
// # Concurrency
//
// Inputs may come from any goroutine. Each is applied under the session's
// one mutex and only queues actions, so none blocks on the reader of
// Actions and the order of actions is the order of the inputs that caused
// them. The session owns two kinds of goroutine: the one that feeds
// Actions, for its whole life, and one per Lookup call, whose context is
// cancelled when the session ends. Close waits for both.
package ivr
