package caller

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/srtp/v3"

	"github.com/roombridge/roombridge/gateway/media/g711"
	"github.com/roombridge/roombridge/gateway/media/g722"
	"github.com/roombridge/roombridge/gateway/media/jitter"
	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
	sipgw "github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/gateway/sip/uac"
)

const (
	frameDuration = 20 * time.Millisecond
	// maxCatchUp is how many missed frames a late media loop still sends
	// and plays out (200 ms, what a far end's jitter buffer can still
	// place); the frames of a longer stall are lost.
	maxCatchUp = 10
	// frameTS is a 20 ms frame in RTP clock units: 8000 Hz for G.711,
	// telephone-event and, per RFC 3551 §4.5.2, G.722.
	frameTS = 160
	// dtmfFallback starts DTMF this long after DTMFDelay even if no
	// media has arrived (a one-way call still gets its digits).
	dtmfFallback = 2 * time.Second
	// hangupTimeout bounds the BYE at the end of the call.
	hangupTimeout = 5 * time.Second
)

// Run makes one call as o scripts it and reports on it.
//
// A call that is not answered returns a Report (Answered false, Status set
// when a final response came) and the error from uac.Dial: a
// *uac.StatusError for a SIP failure. Once answered, the call lasts
// o.Duration, or until the far end hangs up or ctx ends, and Run returns
// the Report with a nil error. Everything Run starts (goroutines, ports, the
// SIP socket) is released before it returns.
func Run(ctx context.Context, o Options) (*Report, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	rep := &Report{Target: o.Target, Codec: strings.ToLower(o.Codec.String()), SRTP: o.SRTP, Rate: o.Codec.SampleRate()}
	if o.Transport != uac.TransportUnknown {
		rep.Transport = o.Transport.String()
	}
	play, err := o.audio()
	if err != nil {
		return nil, err
	}
	if !o.LocalIP.IsValid() {
		if o.LocalIP, err = uac.LocalIPFor(ctx, o.Target); err != nil {
			return nil, err
		}
	}
	pool := o.Ports
	if pool == nil {
		if pool, err = rtp.NewPortPool(o.LocalIP, o.PortMin, o.PortMax); err != nil {
			return nil, fmt.Errorf("%w: ports: %w", ErrInvalidOptions, err)
		}
	}
	ports, err := pool.Allocate()
	if err != nil {
		return nil, err
	}
	portsOwned := true
	defer func() {
		if portsOwned {
			_ = ports.Close()
		}
	}()

	pol := sdp.Policy{
		Codecs:    []sdp.Codec{sdpCodec(o.Codec)},
		SRTP:      sdp.SRTPDisable,
		Addr:      o.LocalIP,
		AudioPort: int(ports.RTPAddr().Port()),
		Username:  "roombridge",
	}
	if o.SRTP {
		pol.SRTP, pol.Suites = sdp.SRTPRequire, []sdp.CryptoSuite{sdp.AES_CM_128_HMAC_SHA1_80}
	}
	offer, err := sdp.Offer(pol)
	if err != nil {
		return nil, err
	}

	var infoMu sync.Mutex
	var infoDigits []rune
	call, err := uac.Dial(ctx, uac.Config{
		Target:      o.Target,
		Transport:   o.Transport,
		LocalIP:     o.LocalIP,
		TLSConfig:   o.TLSConfig,
		Insecure:    o.Insecure,
		Username:    o.Username,
		Password:    o.Password,
		FromUser:    o.From,
		FromDisplay: o.FromName,
		Headers:     o.Headers,
		Offer:       offer.Marshal(),
		OnInfo: func(ct string, body []byte) {
			if d, _, err := sipgw.ParseDTMFRelay(body); err == nil {
				infoMu.Lock()
				infoDigits = append(infoDigits, d)
				infoMu.Unlock()
			}
		},
		Logger: o.Logger,
	})
	if err != nil {
		var se *uac.StatusError
		if errors.As(err, &se) {
			rep.Status, rep.Reason = se.Code, se.Reason
		}
		return rep, err
	}
	answeredAt := time.Now()
	rep.Answered, rep.Status, rep.Reason, rep.SetupTime = true, 200, "OK", call.SetupTime()
	defer func() {
		hctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
		defer cancel()
		_ = call.Hangup(hctx)
	}()

	answer, err := sdp.Parse(call.Answer())
	if err == nil {
		err = sdp.AcceptAnswer(offer, answer)
	}
	if err != nil {
		return rep, fmt.Errorf("%w: %w", ErrBadAnswer, err)
	}
	m := &media{o: o, play: play, sendPT: answer.Audio.Codecs[0].PT, recvPT: offer.Audio.Codecs[0].PT}
	if te := answer.Audio.TelephoneEvent; te != nil {
		m.sendTE, m.haveTE = te.PT, true
	}
	if te := offer.Audio.TelephoneEvent; te != nil {
		m.recvTE = te.PT
	}
	if m.jb, err = jitter.New(jitter.Config{ClockRate: 8000, FrameDuration: frameDuration}); err != nil {
		return rep, err
	}
	cfg := rtp.SessionConfig{
		Ports:        ports,
		PayloadType:  m.recvPT,
		ClockRate:    8000,
		Remote:       answer.RTPAddr(answer.Audio),
		RemoteRTCP:   answer.RTCPAddr(answer.Audio),
		Timeout:      rtp.NoTimeout,
		RTCPInterval: o.RTCPInterval,
		Codec:        o.Codec,
		Handler:      rtp.HandlerFunc(m.handleRTP),
		Logger:       o.Logger,
	}
	if o.SRTP {
		ours, theirs, ok := sdp.MatchCrypto(offer.Audio, answer.Audio)
		if !ok {
			return rep, fmt.Errorf("%w: %w", ErrBadAnswer, sdp.ErrNoCommonCrypto)
		}
		cfg.SRTP = &rtp.SRTPKeys{
			Profile:  srtp.ProtectionProfile(ours.Suite.ProfileID()),
			LocalKey: ours.MasterKey(), LocalSalt: ours.MasterSalt(),
			RemoteKey: theirs.MasterKey(), RemoteSalt: theirs.MasterSalt(),
		}
	}
	if o.RTPTimeout > 0 {
		cfg.Timeout = o.RTPTimeout
	}
	sess, err := rtp.NewSession(cfg)
	if err != nil {
		return rep, err
	}
	portsOwned = false // the session closes them
	m.sess = sess
	sess.OnSSRCChange(func(_, _ uint32) { m.jb.Reset() })
	// The session calls OnTimeout at most once.
	m.silent = make(chan struct{})
	sess.OnTimeout(func() { close(m.silent) })

	remote := m.loop(ctx, call)

	st := sess.Stats()
	rep.MOS = sess.MOS()
	_ = sess.Close()
	rep.RemoteHangup = remote
	select {
	case <-m.silent:
		rep.MediaTimeout = !remote
	default:
	}
	rep.Duration = time.Since(answeredAt)
	rep.PacketsSent, rep.PacketsReceived = st.PacketsSent, st.PacketsReceived
	rep.Lost, rep.LossFraction, rep.Jitter, rep.RTT = st.PacketsLost, st.LossFraction, st.Jitter, st.RTT
	rep.Heard = m.heard
	rep.LateTicks, rep.SkippedFrames = m.lateTicks, m.skipped
	rep.analyse()
	if m.dtmf != nil {
		rep.DTMFSent = string(m.dtmf.sentDigits)
	}
	rep.DTMFSent += string(m.infoSent)
	infoMu.Lock()
	rep.DTMFReceived = string(m.rx.digits) + string(infoDigits)
	infoMu.Unlock()
	if o.Record != "" {
		if err := SaveWAV(o.Record, rep.Rate, rep.Heard); err != nil {
			return rep, fmt.Errorf("caller: record: %w", err)
		}
	}
	return rep, nil
}

// audio returns what to send, at the codec's rate, or nil for a tone or
// silence.
func (o Options) audio() ([]int16, error) {
	w := o.Play
	if w == nil && o.PlayPath != "" {
		var err error
		if w, err = LoadWAV(o.PlayPath); err != nil {
			return nil, err
		}
	}
	if w == nil {
		return nil, nil
	}
	return w.resampled(o.Codec.SampleRate())
}

// stallHook, set only by tests, runs on the media loop after each wake-up:
// it stands in for a process short of CPU.
var stallHook func(tick int)

// media is the RTP side of a call: one loop on a 20 ms ticker sends and
// plays out; the session's reader goroutine feeds the jitter buffer.
type media struct {
	o      Options
	sess   *rtp.Session
	jb     *jitter.Buffer
	play   []int16
	sendPT uint8
	recvPT uint8
	sendTE uint8
	recvTE uint8
	haveTE bool

	firstRx atomic.Bool   // an audio packet arrived
	silent  chan struct{} // closed when nothing arrived for RTPTimeout
	rx      dtmfReceiver  // reader goroutine only, until the session closes
	heard   []int16       // loop only
	// lateTicks counts the loop's wake-ups more than a frame late, skipped
	// the frames a stall of over maxCatchUp frames lost; loop only.
	lateTicks, skipped int
	dtmf               *dtmfSender // loop only
	infoSent           []rune      // INFO goroutine, read after it ends
}

// handleRTP runs on the session's reader goroutine.
func (m *media) handleRTP(pkt *rtp.Packet) {
	switch pkt.PayloadType {
	case m.recvPT:
		_ = m.jb.Push(pkt.SequenceNumber, pkt.Timestamp, pkt.Payload, time.Now())
		m.firstRx.Store(true)
	case m.recvTE:
		m.rx.handle(pkt.Timestamp, pkt.Payload)
	}
}

// loop runs the call's media until it ends and reports whether the far
// end hung up.
func (m *media) loop(ctx context.Context, call *uac.Call) (remoteHangup bool) {
	o := m.o
	rate := o.Codec.SampleRate()
	samples := rate / 50
	pcm := make([]int16, samples)
	out := make([]int16, samples)
	enc := make([]byte, samples)
	pkt := make([]byte, 1500)
	m.heard = make([]int16, 0, int(o.Duration/frameDuration+1)*samples)

	var gen *tone.Generator
	if m.play == nil && o.Tone > 0 {
		gen = tone.NewGenerator(o.Tone, rate, 32767*math.Pow(10, o.ToneLevel/20))
	}
	var g722enc *g722.Encoder
	var g722dec *g722.Decoder
	if o.Codec == CodecG722 {
		g722enc, g722dec = g722.NewEncoder(), g722.NewDecoder()
	}

	ticks := func(d time.Duration) int { return int((d + frameDuration - 1) / frameDuration) }
	delayTicks, fallbackTicks := ticks(o.DTMFDelay), ticks(o.DTMFDelay+dtmfFallback)
	var infoStart chan struct{}
	var infoWG sync.WaitGroup
	infoCtx, stopInfo := context.WithCancel(ctx)
	defer func() {
		stopInfo()
		infoWG.Wait()
	}()
	if o.DTMF != "" {
		if o.DTMFVia == DTMFRFC4733 && m.haveTE {
			m.dtmf = newDTMFSender(o.DTMF, ticks(o.DTMFDuration), ticks(o.DTMFGap), frameTS)
		} else {
			if o.DTMFVia == DTMFRFC4733 {
				o.Logger.Info("caller: the answer has no telephone-event; sending DTMF by SIP INFO")
			}
			infoStart = make(chan struct{})
			infoWG.Add(1)
			go func(start <-chan struct{}) {
				defer infoWG.Done()
				m.sendInfo(infoCtx, call, start)
			}(infoStart)
		}
	}

	var b [4]byte
	_, _ = rand.Read(b[:])
	ts := binary.BigEndian.Uint32(b[:]) // RFC 3550 §5.1: a random start
	playPos, started, rxTick := 0, false, -1
	ticker := time.NewTicker(frameDuration)
	defer ticker.Stop()
	end := time.NewTimer(o.Duration)
	defer end.Stop()
	start := time.Now()
	for tick := 0; ; {
		select {
		case <-ctx.Done():
			return false
		case <-call.Context().Done():
			return errors.Is(context.Cause(call.Context()), uac.ErrRemoteHangup)
		case <-end.C:
			return false
		case <-m.silent:
			o.Logger.Info("caller: no media from the far end; hanging up", "timeout", o.RTPTimeout)
			return false
		case <-ticker.C:
		}
		if stallHook != nil {
			stallHook(tick)
		}

		// The frames due by the wall clock since the call's media began:
		// a loop the scheduler delayed (a loaded load generator) sends and
		// plays out the frames it missed, as a phone's own clock would
		// have, rather than leaving a gap the far end conceals. A stall
		// longer than maxCatchUp frames loses the rest, counted.
		due := int(time.Since(start) / frameDuration)
		if late := due - tick; late > 1 {
			m.lateTicks++
			if late > maxCatchUp {
				skip := late - maxCatchUp
				m.skipped += skip
				tick += skip
				ts += uint32(skip) * frameTS
				if started {
					m.heard = append(m.heard, make([]int16, skip*samples)...)
				}
			}
		}
		for ; tick < due; tick++ {
			// DTMF starts DTMFDelay after media began to flow.
			if rxTick < 0 && m.firstRx.Load() {
				rxTick = tick
			}
			if (rxTick >= 0 && tick >= rxTick+delayTicks) || tick >= fallbackTicks {
				if m.dtmf != nil {
					m.dtmf.schedule(tick)
				}
				if infoStart != nil {
					close(infoStart)
					infoStart = nil
				}
			}

			// Send: a telephone-event packet replaces the audio frame.
			if m.dtmf != nil {
				if p, evTS, marker, ok := m.dtmf.next(tick, ts); ok {
					_ = m.sess.WriteRTP(p, m.sendTE, evTS, marker)
					ts += frameTS
					goto receive
				}
			}
			switch {
			case m.play != nil:
				for i := range pcm {
					if playPos >= len(m.play) && o.Loop {
						playPos = 0
					}
					if playPos < len(m.play) {
						pcm[i] = m.play[playPos]
						playPos++
					} else {
						pcm[i] = 0
					}
				}
			case gen != nil:
				gen.Fill(pcm)
			default:
				clear(pcm)
			}
			{
				n := m.encode(g722enc, enc, pcm)
				_ = m.sess.WriteRTP(enc[:n], m.sendPT, ts, tick == 0)
				ts += frameTS
			}

		receive:
			f := m.jb.Pop(pkt)
			switch f.Status {
			case jitter.StatusFrame:
				n := m.decode(g722dec, out, pkt[:f.N])
				clear(out[n:])
				m.heard = append(m.heard, out...)
				started = true
			default: // lost, or nothing to play: the stream stalled or stopped
				if started {
					clear(out)
					m.heard = append(m.heard, out...)
				}
			}
		}
	}
}

func (m *media) encode(g *g722.Encoder, dst []byte, pcm []int16) int {
	switch m.o.Codec {
	case CodecPCMA:
		return g711.EncodeAlaw(dst, pcm)
	case CodecG722:
		return g.Encode(dst, pcm)
	}
	return g711.EncodeUlaw(dst, pcm)
}

func (m *media) decode(g *g722.Decoder, dst []int16, payload []byte) int {
	switch m.o.Codec {
	case CodecPCMA:
		return g711.DecodeAlaw(dst, payload)
	case CodecG722:
		return g.Decode(dst, payload)
	}
	return g711.DecodeUlaw(dst, payload)
}

// sendInfo sends the digits as SIP INFO application/dtmf-relay, once start
// is closed.
func (m *media) sendInfo(ctx context.Context, call *uac.Call, start <-chan struct{}) {
	select {
	case <-ctx.Done():
		return
	case <-start:
	}
	o := m.o
	for _, r := range o.DTMF {
		body := fmt.Sprintf("Signal=%c\r\nDuration=%d\r\n", r, o.DTMFDuration.Milliseconds())
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := call.SendInfo(rctx, sipgw.ContentTypeDTMFRelay, []byte(body))
		cancel()
		if err != nil {
			o.Logger.Info("caller: DTMF INFO failed", "digit", string(r), "error", err)
			return
		}
		m.infoSent = append(m.infoSent, r)
		select {
		case <-ctx.Done():
			return
		case <-time.After(o.DTMFDuration + o.DTMFGap):
		}
	}
}
