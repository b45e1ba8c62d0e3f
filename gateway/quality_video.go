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
	}
}
