package sdp

import "strings"

// DTLS reports whether m's transport is DTLS-SRTP (UDP/TLS/RTP/SAVPF and
// kin, RFC 5764 §8): WebRTC media, which a plain RTP leg cannot terminate.
func (m *Media) DTLS() bool {
	return m != nil && strings.Contains(m.Proto, "TLS/RTP/")
}
