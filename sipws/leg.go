package sipws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	psdp "github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// LegOptions are what a WebRTC SIP leg reports to its call.
type LegOptions struct {
	// Handler gets every RTP packet of the browser's audio (Opus and
	// telephone-events) on the leg's reader goroutine; the packet is
	// reused after it returns. It may be called before Answer returns.
	Handler func(*rtp.Packet)
	// OnFailed is called once, from a pion goroutine, when the media
	// connection fails for good (ICE failed, DTLS closed by the peer).
	OnFailed func(error)
	// Logger gets the leg's logs; nil uses the Media's.
	Logger *slog.Logger
}

// LegAudio is what offer/answer settled for the leg's audio.
type LegAudio struct {
	// PT is the Opus payload type, the same both ways (the answer keeps
	// the offer's number).
	PT uint8
	// EventPT and EventRate are the telephone-event (RFC 4733) the
	// browser may send; EventRate 0 means none was negotiated.
	EventPT   uint8
	EventRate int
	// Hold is true when the browser's offer puts us on hold (sendonly or
	// inactive, RFC 3264 §8.4).
	Hold bool
}

// Leg is the media of one browser SIP leg: a PeerConnection that answered
// the browser's offer (ICE, DTLS-SRTP, rtcp-mux, BUNDLE), with one local
// Opus track that the bridge writes to and one remote track that a reader
// goroutine hands to LegOptions.Handler. It implements the bridge's Sender.
type Leg struct {
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
	opts  LegOptions
	log   *slog.Logger
	start time.Time

	mu     sync.Mutex // orders offer/answer, and closing against readers starting
	audio  LegAudio
	closed bool
	wg     sync.WaitGroup // the reader goroutine and RTCP drain

	failed    atomic.Bool
	firstRecv atomic.Int64 // unix nanoseconds of the first audio packet, 0 before

	// Clock goroutine state (WriteRTP).
	pkt rtp.Packet
	seq uint16
}

// Answer makes a leg for the browser's offer and returns it with our
// answer, which carries all our ICE candidates (SIP has no trickle).
// ctx bounds candidate gathering.
func (m *Media) Answer(ctx context.Context, offer []byte, opts LegOptions) (*Leg, []byte, error) {
	if opts.Logger == nil {
		opts.Logger = m.log
	}
	pc, err := m.api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("sipws: peer connection: %w", err)
	}
	l := &Leg{pc: pc, opts: opts, log: opts.Logger, start: time.Now()}
	l.pkt.Version = 2
	l.seq = uint16(time.Now().UnixNano()) // RFC 3550 §5.1: not predictable from the call
	answer, err := l.answerFirst(ctx, offer)
	if err != nil {
		return nil, nil, errors.Join(err, l.Close())
	}
	return l, answer, nil
}

func (l *Leg) answerFirst(ctx context.Context, offer []byte) ([]byte, error) {
	pc := l.pc
	pc.OnTrack(l.onTrack)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		l.log.Debug("WebRTC leg connection", "state", s.String())
		if s == webrtc.PeerConnectionStateFailed && !l.failed.Swap(true) && l.opts.OnFailed != nil {
			l.opts.OnFailed(fmt.Errorf("%w: ICE or DTLS failed", ErrMediaFailed))
		}
	})
	audio, err := checkOffer(offer)
	if err != nil {
		return nil, err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOffer, err)
	}
	// Attached to the transceiver the offer made: the answer is sendrecv.
	l.track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: opusFmtp,
	}, "audio", "roombridge")
	if err != nil {
		return nil, err
	}
	sender, err := pc.AddTrack(l.track)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOffer, err)
	}
	// RTCP from the browser (receiver reports) must be read for the
	// interceptors to see it; nothing else uses it.
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	answer, err := l.localAnswer(ctx)
	if err != nil {
		return nil, err
	}
	if err := l.settle(sender, audio); err != nil {
		return nil, err
	}
	return answerDirection(answer, audio.dir), nil
}

// localAnswer creates and sets our answer and waits for ICE gathering.
func (l *Leg) localAnswer(ctx context.Context) ([]byte, error) {
	ans, err := l.pc.CreateAnswer(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(l.pc)
	if err := l.pc.SetLocalDescription(ans); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOffer, err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return nil, fmt.Errorf("sipws: gathering ICE candidates: %w", context.Cause(ctx))
	}
	return []byte(l.pc.LocalDescription().SDP), nil
}

// settle reads the negotiated payload types off the sender.
func (l *Leg) settle(sender *webrtc.RTPSender, offered offerAudio) error {
	a := LegAudio{Hold: offered.hold}
	var opus bool
	for _, c := range sender.GetParameters().Codecs {
		switch {
		case strings.EqualFold(c.MimeType, webrtc.MimeTypeOpus):
			a.PT, opus = uint8(c.PayloadType), true
		case strings.EqualFold(c.MimeType, mimeTelephoneEvent):
			a.EventPT, a.EventRate = uint8(c.PayloadType), int(c.ClockRate)
		}
	}
	if !opus {
		return fmt.Errorf("%w: no opus/48000/2 in the offer", ErrNoOpus)
	}
	l.mu.Lock()
	l.audio = a
	l.mu.Unlock()
	return nil
}

// Audio is the leg's negotiated audio.
func (l *Leg) Audio() LegAudio {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.audio
}

// Reoffer answers an offer in a re-INVITE (hold and resume, an ICE
// restart, a session refresh) and reports whether it puts us on hold. A
// nil offer (a refresh without SDP) gets our current answer.
func (l *Leg) Reoffer(ctx context.Context, offer []byte) ([]byte, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if offer == nil {
		return []byte(l.pc.LocalDescription().SDP), l.audio.Hold, nil
	}
	o, err := checkOffer(offer)
	if err != nil {
		return nil, false, err
	}
	if err := l.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrOffer, err)
	}
	answer, err := l.localAnswer(ctx)
	if err != nil {
		return nil, false, err
	}
	l.audio.Hold = o.hold
	return answerDirection(answer, o.dir), o.hold, nil
}

// onTrack runs the reader of the browser's audio, on the goroutine pion
// gives the callback, until the connection closes.
func (l *Leg) onTrack(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	if t.Kind() != webrtc.RTPCodecTypeAudio {
		return
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.wg.Add(1)
	l.mu.Unlock()
	defer l.wg.Done()
	l.log.Debug("WebRTC leg: browser audio arrives", "ssrc", uint32(t.SSRC()), "codec", t.Codec().MimeType,
		"after", time.Since(l.start).Round(time.Millisecond))
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	lastPT := uint8(255)
	for {
		n, _, err := t.Read(buf)
		if err != nil && n == 0 {
			return
		}
		// With n > 0 the packet was read; an error then only says pion
		// has no codec for its payload type, which the handler decides.
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		if l.firstRecv.Load() == 0 {
			l.firstRecv.Store(time.Now().UnixNano())
		}
		if pkt.PayloadType != lastPT {
			lastPT = pkt.PayloadType
			l.log.Debug("WebRTC leg: payload type", "pt", lastPT)
		}
		l.opts.Handler(&pkt)
	}
}

// FirstPacket is when the browser's first audio packet arrived, zero
// before it did.
func (l *Leg) FirstPacket() time.Time {
	if ns := l.firstRecv.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// WriteRTP sends one Opus packet to the browser. It runs on the leg's clock
// goroutine only; the track sets SSRC and payload type, the leg keeps the
// sequence numbers.
func (l *Leg) WriteRTP(payload []byte, _ uint8, ts uint32, marker bool) error {
	l.seq++
	l.pkt.SequenceNumber = l.seq
	l.pkt.Timestamp = ts
	l.pkt.Marker = marker
	l.pkt.Payload = payload
	return l.track.WriteRTP(&l.pkt)
}

// Close closes the PeerConnection and waits for the leg's goroutines. It
// is idempotent.
func (l *Leg) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	err := l.pc.Close()
	l.wg.Wait()
	return err
}

// offerAudio is what checkOffer found in a browser's offer.
type offerAudio struct {
	dir  string // the audio's direction attribute
	hold bool
}

// checkOffer refuses offers a WebRTC leg cannot answer with a clear
// reason, before pion sees them: no audio, no DTLS fingerprint, no ICE
// credentials.
func checkOffer(offer []byte) (offerAudio, error) {
	var d psdp.SessionDescription
	if err := d.Unmarshal(offer); err != nil {
		return offerAudio{}, fmt.Errorf("%w: %w", ErrOffer, err)
	}
	_, sessFP := d.Attribute("fingerprint")
	_, sessUfrag := d.Attribute("ice-ufrag")
	sessDir := direction(d.Attributes, "sendrecv")
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 {
			continue
		}
		if _, ok := m.Attribute("fingerprint"); !ok && !sessFP {
			return offerAudio{}, fmt.Errorf("%w: audio has no a=fingerprint (DTLS-SRTP, RFC 5763)", ErrOffer)
		}
		if _, ok := m.Attribute("ice-ufrag"); !ok && !sessUfrag {
			return offerAudio{}, fmt.Errorf("%w: audio has no a=ice-ufrag (ICE, RFC 8839)", ErrOffer)
		}
		if !offersOpus(m) {
			return offerAudio{}, fmt.Errorf("%w: offered %s", ErrNoOpus, strings.Join(m.MediaName.Formats, " "))
		}
		dir := direction(m.Attributes, sessDir)
		return offerAudio{dir: dir, hold: dir == "sendonly" || dir == "inactive"}, nil
	}
	return offerAudio{}, fmt.Errorf("%w: no audio stream", ErrOffer)
}

func direction(attrs []psdp.Attribute, def string) string {
	for _, a := range attrs {
		switch a.Key {
		case "sendrecv", "sendonly", "recvonly", "inactive":
			return a.Key
		}
	}
	return def
}

// answerDirection makes our answer's audio direction what RFC 3264 §6.1
// requires for a hold: recvonly to sendonly, inactive to inactive. pion
// answers a sendonly offer with sendrecv while its track is attached; its
// own state stays as it is (nothing is sent on hold: the bridge stops).
func answerDirection(answer []byte, offered string) []byte {
	var want string
	switch offered {
	case "sendonly":
		want = "a=recvonly"
	case "inactive":
		want = "a=inactive"
	default:
		return answer
	}
	lines := strings.SplitAfter(string(answer), "\n")
	audio := false
	for i, ln := range lines {
		t := strings.TrimRight(ln, "\r\n")
		switch {
		case strings.HasPrefix(t, "m="):
			audio = strings.HasPrefix(t, "m=audio ")
		case audio && (t == "a=sendrecv" || t == "a=sendonly" || t == "a=recvonly" || t == "a=inactive"):
			lines[i] = want + ln[len(t):]
		}
	}
	return []byte(strings.Join(lines, ""))
}

// offersOpus reports whether m has an a=rtpmap for opus/48000/2 (RFC 7587
// §7) among its formats.
func offersOpus(m *psdp.MediaDescription) bool {
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, codec, _ := strings.Cut(a.Value, " ")
		if strings.EqualFold(strings.TrimSpace(codec), "opus/48000/2") && slices.Contains(m.MediaName.Formats, pt) {
			return true
		}
	}
	return false
}
