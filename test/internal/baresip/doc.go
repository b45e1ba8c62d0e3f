// Package baresip runs baresip (1.0) as a headless SIP phone in end-to-end
// tests: a configuration directory per phone (loopback only, G.711, no sound
// card), a WAV file as its microphone (the aufile module) and the sndfile
// module recording what it sent and what it heard, dialling one URI with
// `-e "/dial URI"` and quitting after `-t` seconds.
//
// baresip 1.0's aufile module has no player, so the phone plays into an
// aubridge device nobody reads from, and the recording comes from sndfile,
// which writes the decoded receive path (…-dec.wav) and the encoder input
// (…-enc.wav) into the recordings directory.
//
// With Options.Video the phone is a video room system: avcodec's H.264
// (libx264) of fakevideo's colour bars or of a file through avformat, the
// snapshot module saving the first picture it decodes (Debian package
// baresip-ffmpeg).
//
// WAV files must match the codec's rate and channels: 8 kHz mono, 16-bit,
// for G.711.
package baresip
