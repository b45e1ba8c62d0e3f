package bridge

import "github.com/roombridge/roombridge/gateway/media/opus"

// Opus settings, chosen by measurement (TestOpusSettings; thread CPU time
// per 20 ms frame on the development machine, libopus 1.3.1, and the
// log-spectral distance of the decoded speech fixture from the original,
// 100 Hz to 95 % of the band, on its speech frames):
//
//	8 kHz input         complexity 10   5      0
//	  auto (~9 kbit/s)  138 µs 5.3 dB   73/5.5  28/5.8
//	  24 kbit/s (~19)   152 µs 2.4 dB   60/2.5  25/2.6
//	16 kHz input
//	  auto (~15 kbit/s) 255 µs 4.4 dB  100/4.7  40/5.6
//	  32 kbit/s (~24)   234 µs 3.0 dB  136/3.3  39/3.9
//
// On narrowband speech complexity changes the spectrum by 0.2 dB for five
// times the CPU, while the bitrate libopus picks by itself for 8 kHz input
// (about 9 kbit/s) is audibly coloured: a phone's voice is encoded at
// complexity 0 and 24 kbit/s, better than before (complexity 5, automatic
// bitrate) at a third of the cost. DTX stays off: the leg's voice detector
// already keeps silent frames from the encoder (they are never encoded,
// which is what saves the CPU; libopus' DTX would still analyse them), and
// on the speech fixture gating changed nothing measurable (LSD 2.57 →
// 2.56 dB, 350 of 367 frames encoded).

// PhoneOpus is how a phone's audio (8 kHz G.711, 16 kHz G.722) is
// Opus-encoded for the room's WebRTC listeners.
var PhoneOpus = opus.EncoderConfig{Complexity: 0, Bitrate: 24000}

// MixOpus is how a room's N−1 mix is Opus-encoded for an Opus leg (an Opus
// trunk, a browser's SIP leg): wideband, where complexity matters more,
// but 32 kbit/s at complexity 0 still matches complexity 3 for a third of
// its cost.
var MixOpus = opus.EncoderConfig{Complexity: 0, Bitrate: 32000}
