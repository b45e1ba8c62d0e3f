package sdp

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// newOrigin returns a fresh o= line: a random session id (RFC 8866 §5.2
// suggests an NTP timestamp, but only uniqueness matters; 62 bits keep it
// positive for peers that parse it as a signed 64-bit number).
func newOrigin(p Policy) Origin {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	id := binary.BigEndian.Uint64(b[:]) >> 2
	return Origin{Username: p.Username, SessionID: id, SessionVersion: 1, Address: p.Addr.String()}
}

// Continue makes s the next SDP of the session prev belongs to (RFC 3264
// §8): it takes prev's username and session id, and its version, plus one
// only if the description changed. A re-INVITE answered with the same SDP
// thus keeps the version, which tells the peer nothing changed.
func (s *Session) Continue(prev *Session) {
	if prev == nil {
		return
	}
	s.Origin.Username = prev.Origin.Username
	s.Origin.SessionID = prev.Origin.SessionID
	s.Origin.SessionVersion = prev.Origin.SessionVersion
	if !bytes.Equal(Marshal(s), Marshal(prev)) {
		s.Origin.SessionVersion++
	}
}

// Offer builds our offer: for delayed-offer calls (an INVITE without SDP,
// answered by our offer in the 200 OK, RFC 3261 §13.2.1) and for dial-out.
// The audio stream lists p.Codecs in order with one telephone-event per
// clock rate among them (RFC 4733 §2.1), video lists H.264 with
// packetization-mode 1 for each accepted profile and mode 0 as a fallback.
// With SRTPRequire the streams are RTP/SAVP with one a=crypto line per
// suite of p.Suites, each with its own key; otherwise they are RTP/AVP.
//
// With p.Previous set (a re-offer, e.g. to put the peer on hold), the m=
// lines of the previous SDP are kept in place (RFC 3264 §8) and the o= line
// continues it.
func Offer(p Policy) (*Session, error) {
	p, err := p.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Session{Origin: newOrigin(p), Name: p.SessionName, ConnAddr: p.Addr}
	proto := "RTP/AVP"
	if p.SRTP == SRTPRequire {
		proto = "RTP/SAVP"
	}

	audioIdx, videoIdx, slidesIdx := 0, 1, 2
	// prevAudio, prevVideo and prevSlides are the previous streams whose
	// keys we keep; videoLine and slidesLine are the previous m= lines our
	// video and slides take over, if any.
	var prevAudio, prevVideo, prevSlides, videoLine, slidesLine *Media
	if prev := p.Previous; prev != nil {
		lines := prev.media()
		next := len(lines) // index of the first m= line we add
		audioIdx, videoIdx, slidesIdx = -1, -1, -1
		for _, m := range lines {
			switch {
			case m == prev.Audio || (audioIdx < 0 && prev.Audio == nil && m.Type == "audio"):
				audioIdx, prevAudio = m.Index, prev.Audio
			case m == prev.Video || (videoIdx < 0 && prev.Video == nil && m.Type == "video" && m.Content != "slides"):
				videoIdx, prevVideo, videoLine = m.Index, prev.Video, m
			case m == prev.Slides || (slidesIdx < 0 && prev.Slides == nil && m.Type == "video" && m.Content == "slides"):
				slidesIdx, prevSlides, slidesLine = m.Index, prev.Slides, m
			default:
				// A line we rejected stays rejected.
				s.Others = append(s.Others, rejectMedia(m))
			}
		}
		if audioIdx < 0 {
			audioIdx = next
			next++
		}
		if videoIdx < 0 && p.videoEnabled() {
			videoIdx = next
			next++
		}
		if slidesIdx < 0 && p.slidesEnabled() {
			slidesIdx = next
		}
	}

	used := map[uint8]bool{}
	a := &Media{
		Index:     audioIdx,
		Type:      "audio",
		Port:      p.AudioPort,
		Proto:     proto,
		Ptime:     p.Ptime,
		Direction: p.Direction,
		RTCPMux:   p.RTCPMux,
	}
	for _, c := range p.Codecs {
		c.PT = freePT(c.PT, used)
		a.Codecs = append(a.Codecs, c)
	}
	var clocks []uint32
	for _, c := range a.Codecs {
		if !slices.Contains(clocks, c.ClockRate) {
			clocks = append(clocks, c.ClockRate)
		}
	}
	// Ascending, so telephone-event/8000 gets the customary 101.
	slices.Sort(clocks)
	for i, clock := range clocks {
		pt := freePT(uint8(101+i), used)
		a.TelephoneEvents = append(a.TelephoneEvents, Codec{PT: pt, Name: nameTelephoneEvent, ClockRate: clock, Fmtp: "0-16"})
	}
	if len(a.TelephoneEvents) > 0 {
		a.TelephoneEvent = &a.TelephoneEvents[0]
	}
	if a.Crypto, err = offerCrypto(p, prevAudio); err != nil {
		return nil, err
	}
	s.Audio = a

	content := ""
	if p.slidesEnabled() {
		content = "main" // RFC 4796: tells the main video from the slides
	}
	switch {
	case p.videoEnabled() && videoIdx >= 0:
		if s.Video, err = offerVideo(p, videoIdx, p.VideoPort, proto, content, used, prevVideo); err != nil {
			return nil, err
		}
	case videoLine != nil:
		s.Others = append(s.Others, rejectMedia(videoLine))
	}
	switch {
	case p.slidesEnabled() && slidesIdx >= 0:
		if s.Slides, err = offerVideo(p, slidesIdx, p.SlidesPort, proto, "slides", used, prevSlides); err != nil {
			return nil, err
		}
	case slidesLine != nil:
		s.Others = append(s.Others, rejectMedia(slidesLine))
	}

	if p.Previous != nil {
		s.Continue(p.Previous)
	}
	return s, nil
}

// offerVideo makes one H.264 video stream of an offer: packetization-mode
// 1 for each accepted profile, mode 0 as a fallback, and the RTCP
// feedback the video path answers.
func offerVideo(p Policy, idx, port int, proto, content string, used map[uint8]bool, prev *Media) (*Media, error) {
	v := &Media{
		Index:     idx,
		Type:      "video",
		Port:      port,
		Proto:     proto,
		Direction: p.VideoDirection,
		RTCPMux:   p.RTCPMux,
		Bitrate:   p.VideoBitrate,
		Content:   content,
	}
	pt := uint8(96)
	add := func(prof H264Profile, mode int) {
		pt = freePT(pt, used)
		idc, iop := prof.profileIDC()
		c := H264
		c.PT = pt
		c.Fmtp = h264Fmtp(idc, iop, p.H264Level, mode, p)
		v.Codecs = append(v.Codecs, c)
		for _, fb := range []RTCPFeedback{{Type: "nack"}, {Type: "nack", Param: "pli"}, {Type: "ccm", Param: "fir"}} {
			fb.PT = strconv.Itoa(int(pt))
			v.RTCPFb = append(v.RTCPFb, fb)
		}
	}
	for _, prof := range p.H264Profiles {
		add(prof, 1)
	}
	add(p.H264Profiles[0], 0)
	var err error
	if v.Crypto, err = offerCrypto(p, prev); err != nil {
		return nil, err
	}
	return v, nil
}

// freePT returns want if unused, else the next free dynamic payload type
// (96–127, RFC 3551 §3), and marks it used. Static types are kept.
func freePT(want uint8, used map[uint8]bool) uint8 {
	pt := want
	for used[pt] {
		pt++
		if pt > 127 {
			pt = 96
		}
		if pt == want {
			break // all taken; cannot happen with our handful of formats
		}
	}
	used[pt] = true
	return pt
}

// offerCrypto makes one crypto line per suite for an SRTP offer, reusing
// the keys of prev where the suite is unchanged.
func offerCrypto(p Policy, prev *Media) ([]Crypto, error) {
	if p.SRTP != SRTPRequire {
		return nil, nil
	}
	out := make([]Crypto, 0, len(p.Suites))
	for i, suite := range p.Suites {
		c, err := ourKey(uint32(i+1), suite, prev)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// formats returns the m= line formats for an RTP stream: the codecs'
// payload types, then telephone-event ones.
func (m *Media) formats() []string {
	out := make([]string, 0, len(m.Codecs)+len(m.TelephoneEvents)+1)
	for _, c := range m.Codecs {
		out = append(out, strconv.Itoa(int(c.PT)))
	}
	for _, c := range m.events() {
		out = append(out, strconv.Itoa(int(c.PT)))
	}
	if len(out) == 0 {
		out = append(out, m.Formats...)
	}
	if len(out) == 0 {
		out = append(out, "0") // RFC 8866 §5.14: at least one format
	}
	return out
}

// events returns the telephone-event formats, from TelephoneEvents or, for
// hand-built values, TelephoneEvent.
func (m *Media) events() []Codec {
	if len(m.TelephoneEvents) > 0 {
		return m.TelephoneEvents
	}
	if m.TelephoneEvent != nil {
		return []Codec{*m.TelephoneEvent}
	}
	return nil
}

// AcceptAnswer checks an answer against the offer we sent (RFC 3264 §6):
// the same m= lines in the same order (except that an answer may leave
// out trailing video or slides lines, taken as rejected: audio-only
// phones answering a delayed offer in the ACK do that, and hanging up on
// them would lose a call that RFC-strictness gains nothing from), an active audio stream with at
// least one of our codecs, SRTP as offered with a crypto tag and suite we
// offered (RFC 4568 §7.1.3), and directions our offer allows (§6.1).
// A rejected video or slides stream is not an error; the caller checks
// answer.Video and answer.Slides. An answer need not repeat a=content
// (RFC 4796 §5), so the answer's stream at the position of our slides
// line is filed as answer.Slides first.
func AcceptAnswer(ourOffer, answer *Session) error {
	if ourOffer == nil || answer == nil {
		return fmt.Errorf("%w: missing offer or answer", ErrAnswerMismatch)
	}
	ol, al := ourOffer.media(), answer.media()
	if len(al) > len(ol) || (len(al) < len(ol) && !onlyTrailingVideo(ol[len(al):])) {
		return fmt.Errorf("%w: %d m= lines offered, %d answered", ErrAnswerMismatch, len(ol), len(al))
	}
	// From here on al may be shorter than ol: the missing trailing
	// video or slides lines count as rejected.
	for i := range al {
		if ol[i].Type != al[i].Type {
			return fmt.Errorf("%w: m= line %d is %s, answered %s", ErrAnswerMismatch, i+1, ol[i].Type, al[i].Type)
		}
	}
	if os := ourOffer.Slides; os != nil && answer.Slides == nil && os.Index < len(al) {
		if m := al[os.Index]; !m.Rejected() {
			answer.Others = slices.DeleteFunc(answer.Others, func(x *Media) bool { return x == m })
			if answer.Video == m {
				answer.Video = nil
			}
			answer.Slides = m
		}
	}
	// Pair the answer's streams with the offered m= lines at the same
	// position: the answer may have taken another audio line than the
	// first one offered.
	aa := answer.Audio
	if aa == nil {
		return fmt.Errorf("%w: audio rejected", ErrNoAudio)
	}
	oa := ol[slices.Index(al, aa)]
	if oa.Rejected() {
		return fmt.Errorf("%w: answer enables audio m= line %d we disabled", ErrAnswerMismatch, aa.Index+1)
	}
	if err := checkAnswerStream(oa, aa); err != nil {
		return fmt.Errorf("audio: %w", err)
	}
	if _, ok := chooseAudioCodec(aa.Codecs, oa.Codecs); !ok {
		return fmt.Errorf("%w: answered %s", ErrNoCommonCodec, codecList(aa.Codecs))
	}
	for _, av := range []*Media{answer.Video, answer.Slides} {
		if av == nil {
			continue
		}
		if ov := ol[slices.Index(al, av)]; ov.Rejected() {
			return fmt.Errorf("%w: answer enables video m= line %d we disabled", ErrAnswerMismatch, av.Index+1)
		} else if err := checkAnswerStream(ov, av); err != nil {
			return fmt.Errorf("video m= line %d: %w", av.Index+1, err)
		} else if !answeredOfferedH264(ov, av) {
			return fmt.Errorf("video m= line %d: %w: answered %s", av.Index+1, ErrNoCommonCodec, codecList(av.Codecs))
		}
	}
	return nil
}

// checkAnswerStream checks SRTP and direction of one answered stream.
func checkAnswerStream(o, a *Media) error {
	if a.Secure() != o.Secure() {
		if o.Secure() {
			return fmt.Errorf("%w: offered %s, answered %s", ErrSRTPRequired, o.Proto, a.Proto)
		}
		return fmt.Errorf("%w: offered %s, answered %s", ErrAnswerMismatch, o.Proto, a.Proto)
	}
	// A plain answer to best-effort SRTP (crypto in RTP/AVP) is fine.
	if o.Secure() || len(a.Crypto) > 0 {
		if _, _, ok := MatchCrypto(o, a); !ok {
			return fmt.Errorf("%w: answered %s", ErrNoCommonCrypto, suiteList(a.Crypto))
		}
	}
	if (a.Direction.Sends() && !o.Direction.Receives()) || (a.Direction.Receives() && !o.Direction.Sends()) {
		return fmt.Errorf("%w: offered %v, answered %v", ErrAnswerMismatch, o.Direction, a.Direction)
	}
	return nil
}

// MatchCrypto pairs the SDES keys of a negotiated stream: the answer's
// single crypto line and the offer line with the same tag and suite
// (RFC 4568 §7.1.3). Called with (our offer, their answer) or (their offer,
// our answer). Each side encrypts what it sends with the key of its own SDP
// (RFC 4568 §6.1): we encrypt with the key from our SDP and decrypt with the
// key from the peer's, whose MKI, if any, the decrypting context must know.
func MatchCrypto(offer, answer *Media) (offerKey, answerKey Crypto, ok bool) {
	if offer == nil || answer == nil || len(answer.Crypto) == 0 {
		return Crypto{}, Crypto{}, false
	}
	ac := answer.Crypto[0]
	for _, oc := range offer.Crypto {
		if oc.Tag == ac.Tag && oc.Suite == ac.Suite && oc.Suite != SuiteUnknown &&
			oc.MasterSalt() != nil && ac.MasterSalt() != nil {
			return oc, ac, true
		}
	}
	return Crypto{}, Crypto{}, false
}

// answeredOfferedH264 reports whether an answered video stream uses one
// of the H.264 formats we offered: the same payload type (RFC 3264 §6.1)
// and packetization-mode (RFC 6184 §8.2.2).
func answeredOfferedH264(offer, answer *Media) bool {
	for _, a := range answer.Codecs {
		o, ok := offer.Codec(a.PT)
		if !ok || !strings.EqualFold(a.Name, "H264") || !o.Same(a) {
			continue
		}
		ap, okA := ParseH264Fmtp(a.Fmtp)
		op, okO := ParseH264Fmtp(o.Fmtp)
		if okA && okO && ap.PacketizationMode == op.PacketizationMode {
			return true
		}
	}
	return false
}

// onlyTrailingVideo reports whether the offered lines an answer left out
// are all video or slides, which we can do without.
func onlyTrailingVideo(missing []*Media) bool {
	for _, m := range missing {
		if m.Type != "video" {
			return false
		}
	}
	return true
}
