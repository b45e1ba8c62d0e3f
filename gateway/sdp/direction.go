package sdp

// Direction is the media direction attribute (RFC 8866 §6.7), always seen
// from the author of the SDP body that carries it.
type Direction uint8

// Direction values. The zero value means no attribute was given; it is
// treated as sendrecv, the default of RFC 8866 §6.7.
const (
	DirectionUnknown Direction = iota
	DirectionSendRecv
	DirectionSendOnly
	DirectionRecvOnly
	DirectionInactive
)

// String returns the attribute name, as written in SDP.
func (d Direction) String() string {
	switch d {
	case DirectionSendRecv, DirectionUnknown:
		return "sendrecv"
	case DirectionSendOnly:
		return "sendonly"
	case DirectionRecvOnly:
		return "recvonly"
	case DirectionInactive:
		return "inactive"
	default:
		return "unknown"
	}
}

// parseDirection maps an attribute key to a Direction, or DirectionUnknown
// if the key is not a direction attribute.
func parseDirection(key string) Direction {
	switch key {
	case "sendrecv":
		return DirectionSendRecv
	case "sendonly":
		return DirectionSendOnly
	case "recvonly":
		return DirectionRecvOnly
	case "inactive":
		return DirectionInactive
	default:
		return DirectionUnknown
	}
}

// Answer returns the direction to answer an offered direction with, given
// whether we are willing to send and to receive (RFC 3264 §6.1): an offered
// sendonly is answered recvonly or inactive, recvonly with sendonly or
// inactive, inactive with inactive, and sendrecv with any of them. Hold and
// resume in a re-INVITE go through the same rule.
func (d Direction) Answer(weSend, weRecv bool) Direction {
	peerSends := d == DirectionSendRecv || d == DirectionSendOnly || d == DirectionUnknown
	peerRecvs := d == DirectionSendRecv || d == DirectionRecvOnly || d == DirectionUnknown
	send := weSend && peerRecvs
	recv := weRecv && peerSends
	return directionOf(send, recv)
}

// Sends reports whether the author of the SDP sends media.
func (d Direction) Sends() bool {
	return d == DirectionSendRecv || d == DirectionSendOnly || d == DirectionUnknown
}

// Receives reports whether the author of the SDP receives media.
func (d Direction) Receives() bool {
	return d == DirectionSendRecv || d == DirectionRecvOnly || d == DirectionUnknown
}

func directionOf(send, recv bool) Direction {
	switch {
	case send && recv:
		return DirectionSendRecv
	case send:
		return DirectionSendOnly
	case recv:
		return DirectionRecvOnly
	default:
		return DirectionInactive
	}
}
