package gateway

// VideoQuality is a room system's video as the room API shows it: what
// it sends (picture size from its SPS, frame rate and bitrate measured
// over its last pictures, losses) and what it is sent.
type VideoQuality struct {
	Width             int     `json:"width"`
	Height            int     `json:"height"`
	FrameRate         float64 `json:"frame_rate"`
	Bitrate           int     `json:"bitrate"`
	FramesReceived    uint64  `json:"frames_received"`
	KeyframesReceived uint64  `json:"keyframes_received"`
	PacketsLost       uint64  `json:"packets_lost"`
	// FramesDropped counts pictures not passed to the room because loss
	// damaged them or what they depend on.
	FramesDropped uint64 `json:"frames_dropped"`
	FramesSent    uint64 `json:"frames_sent"`
	PacketsSent   uint64 `json:"packets_sent"`
	// Switches counts changes of the picture sent (slate, speaker, pin).
	Switches uint64 `json:"switches"`
	// Sending is false while the room system holds video or cannot decode
	// it.
	Sending bool `json:"sending"`
	// SendBitrateCap is the limit in bit/s on the video sent to the room
	// system that its source was given: the least of the room system's
	// b=TIAS/b=AS, TMMBR and REMB; 0 when none, or while the slate is
	// shown.
	SendBitrateCap int `json:"send_bitrate_cap"`
	// ReceiveBitrateCap is the limit in bit/s the room system was last
	// asked for by TMMBR or REMB, from the room's receivers of its
	// picture; 0 when none.
	ReceiveBitrateCap int `json:"receive_bitrate_cap"`
	// BandwidthMessagesReceived and BandwidthMessagesSent count RTCP
	// TMMBR, TMMBN and REMB from and to the room system.
	BandwidthMessagesReceived uint64 `json:"bandwidth_messages_received"`
	BandwidthMessagesSent     uint64 `json:"bandwidth_messages_sent"`
}

// videoQuality is the quality of the call's stream k, nil without it.
func (c *call) videoQuality(k videoContent) *VideoQuality {
	l := c.videoLeg(k)
	if l == nil {
		return nil
	}
	l.statsMu.Lock()
	in := l.inStats
	l.statsMu.Unlock()
	return &VideoQuality{
		Width: in.Width, Height: in.Height, FrameRate: in.FrameRate, Bitrate: in.Bitrate,
		FramesReceived: in.Frames, KeyframesReceived: in.Keyframes, PacketsLost: in.Lost, FramesDropped: in.Dropped,
		FramesSent: l.out.sent.Load(), PacketsSent: l.sess.Stats().PacketsSent,
		Switches: l.out.switches.Load(), Sending: l.neg.Load().send,
		SendBitrateCap: int(l.out.capShown.Load()), ReceiveBitrateCap: int(l.bw.asked.Load()),
		BandwidthMessagesReceived: l.bw.received.Load(), BandwidthMessagesSent: l.bw.sent.Load(),
	}
}
