// Package dtmf turns key presses into digits and back, from and to every
// form a SIP trunk may use (DESIGN.md, "The media path"):
//
//   - RFC 4733 telephone-event RTP payloads: [Receiver] turns the packets of
//     an event into one digit, [Sender] produces the packets for a digit.
//   - In-band tones: [Detector] finds DTMF in 16-bit PCM with Goertzel
//     filters and the checks of ITU-T Q.24 practice; [Tone] generates them.
//   - SIP INFO digits are parsed by the SIP layer; [Merger] takes digits from
//     all three sources and delivers one ordered stream without the doubles
//     a trunk produces when it signals a press two ways.
//
// [Mode] is the per-trunk choice of sources. Nothing in the package
// allocates on the per-packet or per-frame path, and nothing starts a
// goroutine; the types are not safe for concurrent use (one call leg owns
// each of them).
package dtmf
