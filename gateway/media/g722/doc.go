// Package g722 is an ITU-T G.722 wideband codec at 64 kbit/s (mode 1, RTP
// payload type 9): sub-band ADPCM over a 24-tap quadrature mirror filter
// bank. 16 kHz PCM is split into a 0–4 kHz band coded with 6-bit ADPCM and a
// 4–8 kHz band coded with 2-bit ADPCM, so every pair of input samples
// becomes one byte: 20 ms (320 samples) is a 160-byte RTP payload.
//
// The arithmetic follows the fixed-point description of G.722 §3–§4 block by
// block (block names such as QUANTL and UPPOL2 are the Recommendation's),
// with the usual 16-bit input convention of software implementations: the
// QMF scales 16-bit PCM down to the codec's 15-bit range and back up.
//
// Note that RFC 3551 §4.5.2 advertises G.722 with an 8000 Hz RTP clock rate
// for historical reasons, although it samples at 16 kHz; this package works
// in real samples and leaves the RTP timestamp arithmetic to the caller.
//
// Encoder and Decoder keep state across calls (QMF delay lines, predictors,
// scale factors), so a stream must be fed frame after frame to one instance.
// Neither allocates after construction and neither is safe for concurrent
// use.
package g722
