package video

import "errors"

// Sentinel errors; functions wrap them with %w and add detail.
var (
	// ErrMalformed reports a bitstream or message this package cannot
	// decode: a truncated SPS, an RTP payload that breaks RFC 6184, XML
	// that is not a media_control document.
	ErrMalformed = errors.New("video: malformed")
	// ErrUnsupported reports a valid stream this package does not handle,
	// such as an SPS of a profile with more than 8 bits per sample, or an
	// RTP payload of packetization-mode 2 (interleaved).
	ErrUnsupported = errors.New("video: unsupported")
	// ErrTooLarge reports an access unit that does not fit the buffer it
	// must go into.
	ErrTooLarge = errors.New("video: too large")
	// ErrNALTooLarge reports a NAL unit bigger than the MTU while the
	// peer negotiated packetization-mode 0, which cannot fragment: the
	// access unit is not sent, and a new keyframe (at a lower bitrate) is
	// the only way on.
	ErrNALTooLarge = errors.New("video: NAL unit larger than MTU in packetization-mode 0")
	// ErrBufferTooSmall reports a caller buffer that cannot hold one packet.
	ErrBufferTooSmall = errors.New("video: buffer too small")
)
