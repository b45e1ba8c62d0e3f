package room

// VideoBitrateCapper is implemented by participants whose subscriptions
// can limit the bit rate of a video source in the room: a room system's
// leg that can take at most its b=AS/TIAS, TMMBR or REMB caps the source
// it is being shown. The backend gives the source the least of the caps
// its receivers set (a WebRTC publisher as an RTCP REMB, a participant
// of the gateway's as EventVideoBitrate), spaced out in time, and drops a
// receiver's cap when it unsubscribes or leaves. The embedded SFU
// implements it.
type VideoBitrateCapper interface {
	// CapVideoBitrate limits the video track trackID, which the
	// participant receives, to bitrate bit/s; 0 removes the limit.
	CapVideoBitrate(trackID string, bitrate int) error
}
