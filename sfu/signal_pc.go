package sfu

import (
	"fmt"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/roombridge/roombridge/gateway/room"
)

// candidateGate holds local ICE candidates back until the description they
// belong to has been sent: a client cannot add a candidate before it has
// the remote description.
type candidateGate struct {
	mu   sync.Mutex
	open bool
	held []webrtc.ICECandidateInit
	send func(webrtc.ICECandidateInit)
}

func (g *candidateGate) offer(c webrtc.ICECandidateInit) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.open {
		g.held = append(g.held, c)
		return
	}
	g.send(c)
}

func (g *candidateGate) openGate() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open {
		return
	}
	g.open = true
	for _, c := range g.held {
		g.send(c)
	}
	g.held = nil
}

// fail ends the participant after a negotiation error: the client and the
// server no longer agree on the session.
func (p *rtcPeer) fail(what string, err error) {
	p.log.Warn("negotiation failed", "step", what, "err", err)
	p.send(Message{Type: MsgError, Error: fmt.Sprintf("%s: %v", what, err)})
	p.cancel(fmt.Errorf("%w: %s: %w", ErrBadMessage, what, err))
}

// applyPubOffer answers the client's offer on the "pub" connection.
func (p *rtcPeer) applyPubOffer(sdpText string) {
	if err := p.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdpText}); err != nil {
		p.fail("pub offer", err)
		return
	}
	for _, c := range p.pendingPub {
		_ = p.pub.AddICECandidate(c)
	}
	p.pendingPub = nil
	p.preferH264Answer()
	answer, err := p.pub.CreateAnswer(nil)
	if err != nil {
		p.fail("pub answer", err)
		return
	}
	if err := p.pub.SetLocalDescription(answer); err != nil {
		p.fail("pub answer", err)
		return
	}
	p.send(Message{Type: MsgAnswer, PC: PCPub, SDP: answer.SDP})
	p.pubGate.openGate()
}

// applySubAnswer applies the client's answer to our last "sub" offer and
// lets the next offer go if tracks changed meanwhile.
func (p *rtcPeer) applySubAnswer(sdpText string) {
	if !p.offerOut {
		p.log.Debug("sub answer without an offer")
		return
	}
	if err := p.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdpText}); err != nil {
		p.fail("sub answer", err)
		return
	}
	p.offerOut = false
	for _, c := range p.pendingSub {
		_ = p.sub.AddICECandidate(c)
	}
	p.pendingSub = nil
}

func (p *rtcPeer) addRemoteCandidate(pc string, c webrtc.ICECandidateInit) {
	switch pc {
	case PCPub:
		if p.pub.RemoteDescription() == nil {
			p.pendingPub = append(p.pendingPub, c)
			return
		}
		_ = p.pub.AddICECandidate(c)
	case PCSub:
		if p.sub.RemoteDescription() == nil {
			p.pendingSub = append(p.pendingSub, c)
			return
		}
		_ = p.sub.AddICECandidate(c)
	}
}

// negotiate sends a new "sub" offer; the op loop calls it only when no
// offer is outstanding.
func (p *rtcPeer) negotiate() {
	p.needNegotiate = false
	offer, err := p.sub.CreateOffer(nil)
	if err != nil {
		p.fail("sub offer", err)
		return
	}
	if err := p.sub.SetLocalDescription(offer); err != nil {
		p.fail("sub offer", err)
		return
	}
	p.offerOut = true
	p.send(Message{Type: MsgOffer, PC: PCSub, SDP: offer.SDP})
	p.subGate.openGate()
}

// addDown subscribes the client to t on the "sub" connection.
func (p *rtcPeer) addDown(t *pubTrack) {
	if _, ok := p.downs[t]; ok {
		return
	}
	d := newDownTrack(t, p)
	sender, err := p.sub.AddTrack(d)
	if err != nil {
		p.log.Warn("subscribe failed", "track", t.id, "err", err)
		return
	}
	for _, tr := range p.sub.GetTransceivers() {
		if tr.Sender() == sender {
			// Offer only the publisher's codec: the SFU does not
			// transcode.
			_ = tr.SetCodecPreferences([]webrtc.RTPCodecParameters{d.codecParameters()})
		}
	}
	d.sender = sender
	if !t.addSubscriber(d) {
		_ = p.sub.RemoveTrack(sender)
		return
	}
	p.downs[t] = d
	p.wg.Add(1)
	go d.readRTCP(sender)
	p.needNegotiate = true
}

// removeDown unsubscribes the client from t.
func (p *rtcPeer) removeDown(t *pubTrack) {
	d, ok := p.downs[t]
	if !ok {
		return
	}
	delete(p.downs, t)
	t.removeSubscriber(d)
	if err := p.sub.RemoveTrack(d.sender); err != nil {
		p.log.Debug("remove track", "track", t.id, "err", err)
	}
	p.needNegotiate = true
}

// onTrack starts forwarding a track the client publishes; it runs in a pion
// goroutine.
func (p *rtcPeer) onTrack(tr *webrtc.TrackRemote, rc *webrtc.RTPReceiver) {
	p.opMu.Lock()
	if p.closing {
		p.opMu.Unlock()
		return
	}
	p.wg.Add(2)
	p.opMu.Unlock()
	go p.drainReceiverRTCP(rc)
	go p.readTrack(tr, rc)
}

// drainReceiverRTCP reads the publisher's sender reports so that the
// receiver-report interceptor sees them and pion's buffers do not fill.
func (p *rtcPeer) drainReceiverRTCP(rc *webrtc.RTPReceiver) {
	defer p.wg.Done()
	buf := make([]byte, 1500)
	for {
		if _, _, err := rc.Read(buf); err != nil {
			return
		}
	}
}

// readTrack is the one reader goroutine of a published WebRTC track: it
// reads RTP into reused buffers and fans it out.
func (p *rtcPeer) readTrack(tr *webrtc.TrackRemote, rc *webrtc.RTPReceiver) {
	defer p.wg.Done()
	c := tr.Codec()
	kind := room.TrackKindAudio
	if tr.Kind() == webrtc.RTPCodecTypeVideo {
		kind = room.TrackKindVideo
	}
	ssrc := uint32(tr.SSRC())
	t := newPubTrack(newID("TR_"), kind, codecInfo{MimeType: c.MimeType, ClockRate: c.ClockRate, Channels: c.Channels, Fmtp: c.SDPFmtpLine}, p.m, p.s.m, func() {
		_ = p.pub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	})
	var levelID uint8
	for _, e := range rc.GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			levelID = uint8(e.ID)
		}
	}
	if kind == room.TrackKindVideo {
		// Room systems' limits reach the browser's encoder as REMB,
		// which Chrome and Firefox take as a ceiling on their send-side
		// estimate.
		t.caps = newBitrateCaps(func(bitrate uint64) {
			if bitrate == 0 {
				bitrate = uncappedREMB
			}
			_ = p.pub.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: float32(bitrate), SSRCs: []uint32{ssrc}}})
		})
	}
	t.source = p.sourceOf(kind, tr.ID())
	if err := p.m.room.publish(t); err != nil {
		return
	}
	p.log.Info("track published", "track", t.id, "codec", c.MimeType, "source", t.source.String())
	defer p.m.room.unpublish(t)

	buf := make([]byte, 1500)
	pkt := &rtp.Packet{}
	fp := &fwdPacket{}
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil || len(pkt.Payload) == 0 {
			continue // padding-only probes carry nothing to forward
		}
		*fp = fwdPacket{hdr: &pkt.Header, payload: pkt.Payload}
		if levelID != 0 {
			if ext := pkt.GetExtension(levelID); len(ext) > 0 {
				fp.level, fp.hasLevel = ext[0]&0x7f, true
			}
		}
		t.forward(fp)
	}
}

// subscribe implements peer.
func (p *rtcPeer) subscribe(t *pubTrack) {
	p.post(func() { p.addDown(t) })
}

// notify implements peer: room events become signalling messages.
func (p *rtcPeer) notify(n note) {
	switch n.kind {
	case noteJoined:
		pj := participantJSON(n.p)
		p.send(Message{Type: MsgParticipantJoined, Participant: &pj})
	case noteLeft:
		p.send(Message{Type: MsgParticipantLeft, Participant: &ParticipantJSON{ID: n.p.ID}})
	case noteUpdated:
		pj := participantJSON(n.p)
		p.send(Message{Type: MsgParticipantUpdated, Participant: &pj})
	case noteSpeakers:
		p.send(Message{Type: MsgActiveSpeakers, Speakers: append([]SpeakerJSON{}, n.speakers...)})
	case noteMuted:
		muted := n.muted
		p.send(Message{Type: MsgMuted, Kind: n.trackKind.String(), Muted: &muted})
	case noteVideoCodec:
		p.send(Message{Type: MsgVideoCodec, VideoCodec: n.codec})
	case notePinned:
		msg := Message{Type: MsgPinned}
		if n.pinned != "" {
			msg.Participant = &ParticipantJSON{ID: n.pinned}
		}
		p.send(msg)
	}
}

// remove implements peer: tell the client, then end; the write loop
// flushes the message before closing the socket.
func (p *rtcPeer) remove(reason string) {
	p.send(Message{Type: MsgRemoved, Reason: reason})
	p.cancel(fmt.Errorf("removed: %s", reason))
}
