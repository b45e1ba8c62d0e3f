package sdp

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Answer builds our answer to an offer according to p (RFC 3264 §6). It
// serves initial INVITEs and re-INVITEs alike: hold and resume are just an
// offer with another direction (RFC 3264 §8.4), answered per §6.1.
//
// The answer repeats every offered m= line in order. It accepts the first
// audio stream it can (SRTP streams first unless SRTP is disabled), with the
// first codec of OUR preference that the offer has, and telephone-event at
// that codec's clock rate (RFC 4733 §2.1) when offered. Only that codec is
// answered, so the peer cannot switch codecs mid-call. H.264 video is
// accepted when the policy enables it and a compatible format is offered;
// any other stream is rejected with port 0, so a video problem never fails
// an audio call.
//
// Errors: ErrNoAudio, ErrNoCommonCodec, ErrSRTPRequired, ErrSRTPNotAllowed,
// ErrNoCommonCrypto, ErrUnsupportedTransport for the audio stream, and
// ErrInvalidPolicy. The SIP layer answers all but the last with 488.
//
// A second video stream marked a=content:slides (RFC 4796) is answered
// like the video, on p.SlidesPort, when p.Slides allows it; a UDP/BFCP
// line next to it (RFC 8856) is answered as its floor control server on
// p.BFCPPort when given, and with port 0 otherwise.
func Answer(offer *Session, p Policy) (*Session, error) {
	p, err := p.withDefaults()
	if err != nil {
		return nil, err
	}
	if offer == nil {
		return nil, fmt.Errorf("%w: no offer", ErrNoAudio)
	}
	lines := offer.media()

	var candidates []*Media
	for _, m := range lines {
		if m.Type == "audio" && !m.Rejected() {
			candidates = append(candidates, m)
		}
	}
	if len(candidates) == 0 {
		return nil, ErrNoAudio
	}
	if p.SRTP != SRTPDisable {
		// Devices that want SRTP but can live without it offer an RTP/SAVP
		// and an RTP/AVP audio line; take the secure one when we may.
		slices.SortStableFunc(candidates, func(a, b *Media) int { return boolRank(b.Secure()) - boolRank(a.Secure()) })
	}
	var audio, offeredAudio *Media
	var firstErr error
	for _, m := range candidates {
		a, err := answerAudio(offer, m, p)
		if err == nil {
			audio, offeredAudio = a, m
			break
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("audio m= line %d: %w", m.Index+1, err)
		}
	}
	if audio == nil {
		return nil, firstErr
	}

	secure := audio.Secure() || len(audio.Crypto) > 0
	// A video problem never fails the call: the stream is rejected.
	var video, slides *Media
	if p.videoEnabled() && offer.Video != nil {
		video, _ = answerVideo(offer, offer.Video, p, secure, p.VideoPort, p.Previous.stream(func(s *Session) *Media { return s.Video }))
	}
	if p.slidesEnabled() && offer.Slides != nil {
		slides, _ = answerVideo(offer, offer.Slides, p, secure, p.SlidesPort, p.Previous.stream(func(s *Session) *Media { return s.Slides }))
	}
	var bfcp *Media
	if slides != nil && offer.BFCP != nil {
		bfcp = answerBFCP(offer.BFCP, p.BFCPPort, offer.Slides, slides)
	}

	ans := &Session{
		Origin:   newOrigin(p),
		Name:     p.SessionName,
		ConnAddr: p.Addr,
	}
	for _, m := range lines {
		switch {
		case m == offeredAudio:
			ans.Audio = audio
		case video != nil && m == offer.Video:
			ans.Video = video
		case slides != nil && m == offer.Slides:
			ans.Slides = slides
		case bfcp != nil && m == offer.BFCP:
			ans.BFCP = bfcp
		default:
			ans.Others = append(ans.Others, rejectMedia(m))
		}
	}
	if p.Previous != nil {
		ans.Continue(p.Previous)
	}
	return ans, nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// rejectMedia answers an m= line with port 0 (RFC 3264 §6), keeping its
// media type, protocol and formats as the RFC asks.
func rejectMedia(m *Media) *Media {
	r := &Media{Index: m.Index, Type: m.Type, Proto: m.Proto, Formats: m.Formats}
	if len(r.Formats) == 0 {
		r.Formats = m.formats()
	}
	return r
}

// checkTransport accepts the RTP profiles a SIP leg terminates.
func checkTransport(m *Media) error {
	switch m.Proto {
	case "RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF":
		return nil
	}
	return fmt.Errorf("%w: %q", ErrUnsupportedTransport, m.Proto)
}

// answerCrypto decides SRTP for one offered stream (RFC 4568 §7.1.2) and
// returns the crypto line to answer with, or nil for plain RTP.
//
// An RTP/AVP offer carrying a=crypto lines is "best effort" SRTP as
// Asterisk and FreeSWITCH send it: we take it when SRTP is allowed, and
// fall back to plain RTP when no line is usable and SRTP is not required.
func answerCrypto(m *Media, p Policy, prev *Media) (*Crypto, error) {
	if m.Secure() && p.SRTP == SRTPDisable {
		return nil, ErrSRTPNotAllowed
	}
	if p.SRTP == SRTPDisable || (!m.Secure() && len(m.Crypto) == 0) {
		if p.SRTP == SRTPRequire {
			return nil, ErrSRTPRequired
		}
		return nil, nil
	}
	for _, oc := range m.Crypto {
		// RFC 4568 §6.3: we implement no session parameter, so lines that
		// carry one are not acceptable; nor are lines whose key is
		// unusable.
		if !p.suiteOK(oc.Suite) || len(oc.SessionParams) > 0 || oc.MasterSalt() == nil {
			continue
		}
		c, err := ourKey(oc.Tag, oc.Suite, prev)
		if err != nil {
			return nil, err
		}
		c.SuiteName = oc.SuiteName
		return &c, nil
	}
	switch {
	case m.Secure():
		return nil, fmt.Errorf("%w: offered %s", ErrNoCommonCrypto, suiteList(m.Crypto))
	case p.SRTP == SRTPRequire:
		return nil, fmt.Errorf("%w: best-effort SRTP offer with %s", ErrSRTPRequired, suiteList(m.Crypto))
	}
	return nil, nil
}

// ourKey returns our crypto line for tag and suite: the key of prev when
// it used the same suite, else a fresh one.
func ourKey(tag uint32, suite CryptoSuite, prev *Media) (Crypto, error) {
	if prev != nil && !prev.Rejected() {
		for _, c := range prev.Crypto {
			if c.Suite == suite && len(c.Key) == suite.KeyLen()+suite.SaltLen() {
				c.Tag = tag
				return c, nil
			}
		}
	}
	return NewCrypto(tag, suite)
}

func suiteList(cs []Crypto) string {
	if len(cs) == 0 {
		return "no usable a=crypto"
	}
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.SuiteName
	}
	return strings.Join(names, ", ")
}

// answerAudio answers one offered audio stream.
func answerAudio(offer *Session, m *Media, p Policy) (*Media, error) {
	if err := checkTransport(m); err != nil {
		return nil, err
	}
	var prev *Media
	if p.Previous != nil {
		prev = p.Previous.Audio
	}
	crypto, err := answerCrypto(m, p, prev)
	if err != nil {
		return nil, err
	}
	codec, ok := chooseAudioCodec(m.Codecs, p.Codecs)
	if !ok {
		return nil, fmt.Errorf("%w: offered %s", ErrNoCommonCodec, codecList(m.Codecs))
	}
	a := &Media{
		Index:     m.Index,
		Type:      "audio",
		Port:      p.AudioPort,
		Proto:     m.Proto,
		Codecs:    []Codec{codec},
		Ptime:     answerPtime(m, p),
		Direction: offeredDirection(offer, m).Answer(p.Direction.Sends(), p.Direction.Receives()),
		RTCPMux:   m.RTCPMux && p.RTCPMux,
	}
	if te, ok := answerTelephoneEvent(m, codec.ClockRate); ok {
		a.TelephoneEvents = []Codec{te}
		a.TelephoneEvent = &a.TelephoneEvents[0]
	}
	if crypto != nil {
		a.Crypto = []Crypto{*crypto}
	}
	return a, nil
}

// chooseAudioCodec returns the offered codec that comes first in our
// preference, with the offer's payload type (RFC 3264 §6.1 recommends
// keeping it) and our fmtp, which describes what we receive.
func chooseAudioCodec(offered, ours []Codec) (Codec, bool) {
	for _, want := range ours {
		for _, c := range offered {
			if c.Same(want) {
				c.Name = want.Name
				c.Fmtp = want.Fmtp
				return c, true
			}
		}
	}
	return Codec{}, false
}

func codecList(cs []Codec) string {
	if len(cs) == 0 {
		return "no audio codec"
	}
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.rtpmap()
	}
	return strings.Join(names, ", ")
}

// answerPtime echoes the offered ptime, bounded by a=maxptime, or uses our
// default (RFC 8866 §6.4: ptime is a receiver's wish; echoing it keeps
// devices that only handle one packet size happy).
func answerPtime(m *Media, p Policy) int {
	pt := m.Ptime
	if pt == 0 {
		pt = p.Ptime
	}
	if m.MaxPtime > 0 && pt > m.MaxPtime {
		pt = m.MaxPtime
	}
	return pt
}

// offeredDirection is the direction of an offered stream, with the legacy
// hold of RFC 2543 (c=0.0.0.0, RFC 3264 §8.4) read as "the offerer does not
// receive".
func offeredDirection(s *Session, m *Media) Direction {
	d := m.Direction
	if a := s.ConnectionAddr(m); a.IsValid() && a.IsUnspecified() {
		d = directionOf(d.Sends(), false)
	}
	return d
}

// answerTelephoneEvent picks the offered telephone-event whose clock rate
// is the codec's: RFC 4733 §2.1 ties the event clock to the audio clock, so
// G.711 and G.722 need telephone-event/8000 and Opus telephone-event/48000.
// The events answered are those offered that we handle, 0–16 (DTMF and
// flash, RFC 4733 §3.2); no fmtp means 0–15 (RFC 4733 §2.4.1).
func answerTelephoneEvent(m *Media, clock uint32) (Codec, bool) {
	for _, te := range m.TelephoneEvents {
		if te.ClockRate != clock {
			continue
		}
		events := "0-15"
		if te.Fmtp != "" {
			events = intersectEvents(te.Fmtp, 0, 16)
			if events == "" {
				continue
			}
		}
		te.Name = nameTelephoneEvent
		te.Channels = 0
		te.Fmtp = events
		return te, true
	}
	return Codec{}, false
}

// intersectEvents intersects an RFC 4733 §2.4.1 event list ("0-15,66,70")
// with lo–hi and formats the result the same way.
func intersectEvents(list string, lo, hi int) string {
	var out []string
	for item := range strings.SplitSeq(list, ",") {
		a, b, isRange := strings.Cut(strings.TrimSpace(item), "-")
		from, err1 := strconv.Atoi(strings.TrimSpace(a))
		to := from
		var err2 error
		if isRange {
			to, err2 = strconv.Atoi(strings.TrimSpace(b))
		}
		if err1 != nil || err2 != nil || to < from {
			continue
		}
		from, to = max(from, lo), min(to, hi)
		switch {
		case from > to:
		case from == to:
			out = append(out, strconv.Itoa(from))
		default:
			out = append(out, strconv.Itoa(from)+"-"+strconv.Itoa(to))
		}
	}
	return strings.Join(out, ",")
}

// errNoH264 is internal: video is then rejected, never the call.
var errNoH264 = errors.New("sdp: no acceptable H.264 format")

// answerVideo answers an offered video stream (the main one or slides)
// with H.264 on port; prev is the same stream in our previous SDP.
func answerVideo(offer *Session, m *Media, p Policy, audioSecure bool, port int, prev *Media) (*Media, error) {
	if err := checkTransport(m); err != nil {
		return nil, err
	}
	// Keep video as secure as audio: SRTP audio with plain video would leak
	// the picture of a call the trunk wanted encrypted.
	vp := p
	if audioSecure && p.SRTP == SRTPAllow {
		vp.SRTP = SRTPRequire
	}
	crypto, err := answerCrypto(m, vp, prev)
	if err != nil {
		return nil, err
	}
	codec, params, ok := chooseH264(m.Codecs, p.H264Profiles)
	if !ok {
		return nil, errNoH264
	}
	// RFC 6184 §8.2.2: packetization-mode must match; the profile is the
	// offered one; with level-asymmetry-allowed on both sides each side
	// states the level it receives, otherwise the answer may not exceed the
	// offered level.
	level := p.H264Level
	if !params.LevelAsymmetryAllowed {
		level = min(level, params.Level)
	}
	codec.Fmtp = h264Fmtp(params.ProfileIDC, params.ProfileIOP, level, params.PacketizationMode, p)
	v := &Media{
		Index:     m.Index,
		Type:      "video",
		Port:      port,
		Proto:     m.Proto,
		Codecs:    []Codec{codec},
		Direction: offeredDirection(offer, m).Answer(p.VideoDirection.Sends(), p.VideoDirection.Receives()),
		RTCPMux:   m.RTCPMux && p.RTCPMux,
		RTCPFb:    answerFeedback(m.RTCPFb, codec.PT),
		Bitrate:   p.VideoBitrate,
		Content:   m.Content,
	}
	if crypto != nil {
		v.Crypto = []Crypto{*crypto}
	}
	return v, nil
}

// chooseH264 picks the offered H.264 format to answer: packetization-mode 1
// before 0 (mode 1 carries large frames without IP fragmentation, RFC 6184
// §6.3), then our profile preference, then the offer's order. Mode 2
// (interleaved) is not supported.
func chooseH264(offered []Codec, profiles []H264Profile) (Codec, H264Params, bool) {
	best, bestRank := -1, 0
	var bestParams H264Params
	for i, c := range offered {
		if !strings.EqualFold(c.Name, "H264") || c.ClockRate != 90000 {
			continue
		}
		params, ok := ParseH264Fmtp(c.Fmtp)
		if !ok || params.PacketizationMode > 1 {
			continue
		}
		pi := slices.Index(profiles, params.Profile)
		if pi < 0 {
			continue
		}
		rank := params.PacketizationMode*1000 + (len(profiles) - pi)
		if best < 0 || rank > bestRank {
			best, bestRank, bestParams = i, rank, params
		}
	}
	if best < 0 {
		return Codec{}, H264Params{}, false
	}
	c := offered[best]
	c.Name = "H264"
	return c, bestParams, true
}

// answerFeedback keeps, of the offered RTCP feedback for pt (or "*"), the
// kinds the video path handles: generic NACK, PLI and FIR (RFC 4585 §4.2,
// RFC 5104 §7.1), TMMBR (RFC 5104 §7.1, "ccm tmmbr") and REMB
// ("goog-remb", draft-alvestrand-rmcat-remb). Feedback is never answered
// unless offered (RFC 4585 §4.2).
func answerFeedback(offered []RTCPFeedback, pt uint8) []RTCPFeedback {
	pts := strconv.Itoa(int(pt))
	var out []RTCPFeedback
	for _, f := range offered {
		if f.PT != "*" && f.PT != pts {
			continue
		}
		ok := (f.Type == "nack" && (f.Param == "" || f.Param == "pli")) || (f.Type == "ccm" && (f.Param == "fir" || f.Param == "tmmbr")) ||
			(f.Type == "goog-remb" && f.Param == "")
		if !ok {
			continue
		}
		fb := RTCPFeedback{PT: pts, Type: f.Type, Param: f.Param}
		if !slices.Contains(out, fb) {
			out = append(out, fb)
		}
	}
	return out
}
