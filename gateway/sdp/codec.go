package sdp

import (
	"strconv"
	"strings"

	"github.com/roombridge/roombridge/gateway/media/codec"
)

// Codec is one RTP payload format: a payload type and its a=rtpmap and
// a=fmtp values (RFC 8866 §6.6, §6.15).
type Codec struct {
	PT   uint8
	Name string
	// ClockRate is the RTP clock rate in Hz. Note that G.722 uses 8000
	// although it samples at 16 kHz (RFC 3551 §4.5.2), and Opus always
	// uses 48000 (RFC 7587 §4.1).
	ClockRate uint32
	// Channels is the channel count from a=rtpmap, 0 when not given (which
	// means 1 for audio).
	Channels uint16
	Fmtp     string
}

// Well-known codecs, as the gateway offers and answers them. PT is the
// static payload type (RFC 3551 §6) or the dynamic one we offer.
var (
	PCMU = known(0, codec.PCMU)
	PCMA = known(8, codec.PCMA)
	G722 = known(9, codec.G722)
	// Opus is offered as opus/48000/2 whatever the real channel count
	// (RFC 7587 §7); useinbandfec asks the peer to send in-band FEC.
	Opus = Codec{PT: 111, Name: codec.Opus.String(), ClockRate: codec.Opus.ClockRate(), Channels: 2, Fmtp: "useinbandfec=1"}
	// H264 is H.264 with non-interleaved packetization (RFC 6184 §8.1);
	// the profile-level-id is filled in from the policy.
	H264 = known(96, codec.H264)
)

// known is the payload format of a codec the gateway knows, as it writes it.
func known(pt uint8, id codec.ID) Codec {
	return Codec{PT: pt, Name: id.String(), ClockRate: id.ClockRate()}
}

// ID is the codec this payload format carries, codec.Unknown for formats
// the gateway does not run (and for telephone-event and comfort noise).
// The clock rate must be the codec's own: "opus/8000" is not Opus.
func (c Codec) ID() codec.ID {
	id := codec.Parse(c.Name)
	if id.ClockRate() != c.ClockRate {
		return codec.Unknown
	}
	return id
}

// Names of payload formats that are not media codecs.
const (
	nameTelephoneEvent = "telephone-event"
	nameCN             = "CN"
)

// staticPayloadTypes is RFC 3551 §6 table 4 and 5: payload types that may
// appear on an m= line without an a=rtpmap.
var staticPayloadTypes = map[uint8]Codec{
	0:  {PT: 0, Name: "PCMU", ClockRate: 8000},
	3:  {PT: 3, Name: "GSM", ClockRate: 8000},
	4:  {PT: 4, Name: "G723", ClockRate: 8000},
	5:  {PT: 5, Name: "DVI4", ClockRate: 8000},
	6:  {PT: 6, Name: "DVI4", ClockRate: 16000},
	7:  {PT: 7, Name: "LPC", ClockRate: 8000},
	8:  {PT: 8, Name: "PCMA", ClockRate: 8000},
	9:  {PT: 9, Name: "G722", ClockRate: 8000},
	10: {PT: 10, Name: "L16", ClockRate: 44100, Channels: 2},
	11: {PT: 11, Name: "L16", ClockRate: 44100},
	12: {PT: 12, Name: "QCELP", ClockRate: 8000},
	13: {PT: 13, Name: "CN", ClockRate: 8000},
	14: {PT: 14, Name: "MPA", ClockRate: 90000},
	15: {PT: 15, Name: "G728", ClockRate: 8000},
	16: {PT: 16, Name: "DVI4", ClockRate: 11025},
	17: {PT: 17, Name: "DVI4", ClockRate: 22050},
	18: {PT: 18, Name: "G729", ClockRate: 8000},
	25: {PT: 25, Name: "CelB", ClockRate: 90000},
	26: {PT: 26, Name: "JPEG", ClockRate: 90000},
	28: {PT: 28, Name: "nv", ClockRate: 90000},
	31: {PT: 31, Name: "H261", ClockRate: 90000},
	32: {PT: 32, Name: "MPV", ClockRate: 90000},
	33: {PT: 33, Name: "MP2T", ClockRate: 90000},
	34: {PT: 34, Name: "H263", ClockRate: 90000},
}

// Same reports whether c and o are the same payload format, ignoring the
// payload type number and fmtp: encoding names compare case-insensitively
// (RFC 4855 §3), and an absent channel count equals 1 (RFC 8866 §6.6).
func (c Codec) Same(o Codec) bool {
	return strings.EqualFold(c.Name, o.Name) && c.ClockRate == o.ClockRate && c.channels() == o.channels()
}

func (c Codec) channels() uint16 {
	if c.Channels == 0 {
		return 1
	}
	return c.Channels
}

// IsTelephoneEvent reports whether c is the RFC 4733 telephone-event format.
func (c Codec) IsTelephoneEvent() bool { return strings.EqualFold(c.Name, nameTelephoneEvent) }

// rtpmap formats the a=rtpmap value without the payload type.
func (c Codec) rtpmap() string {
	s := c.Name + "/" + strconv.FormatUint(uint64(c.ClockRate), 10)
	if c.Channels > 1 {
		s += "/" + strconv.FormatUint(uint64(c.Channels), 10)
	}
	return s
}

// String formats the codec for logs, e.g. "0 PCMU/8000".
func (c Codec) String() string {
	return strconv.Itoa(int(c.PT)) + " " + c.rtpmap()
}

// parseRTPMap parses an a=rtpmap value "96 opus/48000/2" (RFC 8866 §6.6).
func parseRTPMap(v string) (pt uint8, c Codec, ok bool) {
	ptStr, rest, found := strings.Cut(strings.TrimSpace(v), " ")
	if !found {
		return 0, c, false
	}
	pt, ok = parsePT(ptStr)
	if !ok {
		return 0, c, false
	}
	parts := strings.Split(strings.TrimSpace(rest), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return 0, c, false
	}
	rate, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil || rate == 0 {
		return 0, c, false
	}
	c = Codec{PT: pt, Name: parts[0], ClockRate: uint32(rate)}
	if len(parts) == 3 {
		ch, err := strconv.ParseUint(parts[2], 10, 16)
		if err != nil {
			return 0, c, false
		}
		c.Channels = uint16(ch)
	}
	return pt, c, true
}

// parsePT parses an RTP payload type number, 0–127 (RFC 3550 §5.1).
func parsePT(s string) (uint8, bool) {
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil || n > 127 {
		return 0, false
	}
	return uint8(n), true
}

// fmtpParam returns the value of a key in an fmtp parameter string
// "a=b;c=d" (RFC 8866 §6.15), matching the key case-insensitively.
func fmtpParam(fmtp, key string) (string, bool) {
	for kv := range strings.SplitSeq(fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if strings.EqualFold(strings.TrimSpace(k), key) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}
