package sdp

import (
	"strconv"
	"strings"
)

// BFCP is what an m=application BFCP line (RFC 8856) negotiated for the
// floor control server: the conference, the client's user id and the
// floor of the content stream.
type BFCP struct {
	ConferenceID uint32
	UserID       uint16
	FloorID      uint16
}

// Default BFCP ids when the room system's offer gives none.
const (
	defaultConfID  = 1
	defaultUserID  = 2
	defaultFloorID = 2
	defaultLabel   = "3"
)

// Attr returns the value of the first a=key line, as kept in Attributes.
func (m *Media) Attr(key string) (string, bool) {
	if m == nil {
		return "", false
	}
	for _, a := range m.Attributes {
		if a.Key == key {
			return strings.TrimSpace(a.Value), true
		}
	}
	return "", false
}

// IsBFCP reports whether m is a BFCP stream (RFC 8856 §4: UDP/BFCP,
// TCP/BFCP, and their TLS and DTLS forms).
func (m *Media) IsBFCP() bool {
	return m != nil && m.Type == "application" && strings.HasSuffix(m.Proto, "/BFCP")
}

// BFCPParams reads the ids of a BFCP line of ours (an answer).
func (m *Media) BFCPParams() (BFCP, bool) {
	var b BFCP
	c, ok1 := m.Attr("confid")
	u, ok2 := m.Attr("userid")
	f, ok3 := m.Attr("floorid")
	if !ok1 || !ok2 || !ok3 {
		return b, false
	}
	conf, err1 := strconv.ParseUint(c, 10, 32)
	user, err2 := strconv.ParseUint(u, 10, 16)
	id, _, _ := strings.Cut(f, " ")
	floor, err3 := strconv.ParseUint(id, 10, 16)
	if err1 != nil || err2 != nil || err3 != nil {
		return b, false
	}
	return BFCP{ConferenceID: uint32(conf), UserID: uint16(user), FloorID: uint16(floor)}, true
}

// answerBFCP answers an offered BFCP line as the floor control server
// (a=floorctrl:s-only, RFC 8856 §5) on port, for the content stream
// slides (our answer's, which gets the a=label the floor names). Only
// UDP/BFCP is taken, from a client that may be one (c-only or c-s); the
// conference and user ids and the floor id are the offer's, else ours.
func answerBFCP(m *Media, port int, offeredSlides, slides *Media) *Media {
	if m.Proto != "UDP/BFCP" || m.Rejected() || port == 0 {
		return nil
	}
	if fc, _ := m.Attr("floorctrl"); fc != "" && !strings.Contains(fc, "c-only") && !strings.Contains(fc, "c-s") {
		return nil
	}
	conf, user, floor := strconv.Itoa(defaultConfID), strconv.Itoa(defaultUserID), strconv.Itoa(defaultFloorID)
	if v, ok := m.Attr("confid"); ok && validUint(v, 32) {
		conf = v
	}
	if v, ok := m.Attr("userid"); ok && validUint(v, 16) {
		user = v
	}
	if v, ok := m.Attr("floorid"); ok {
		if id, _, _ := strings.Cut(v, " "); validUint(id, 16) {
			floor = id
		}
	}
	label := defaultLabel
	if v, ok := offeredSlides.Attr("label"); ok && v != "" && !strings.ContainsAny(v, " \t") {
		label = v
	}
	slides.Attributes = append(slides.Attributes, Attribute{Key: "label", Value: label})
	return &Media{
		Index: m.Index, Type: "application", Port: port, Proto: m.Proto, Formats: []string{"*"},
		Direction: DirectionSendRecv,
		Attributes: []Attribute{
			{Key: "floorctrl", Value: "s-only"},
			{Key: "confid", Value: conf},
			{Key: "userid", Value: user},
			{Key: "floorid", Value: floor + " mstrm:" + label},
		},
	}
}

func validUint(s string, bits int) bool {
	_, err := strconv.ParseUint(s, 10, bits)
	return err == nil
}
