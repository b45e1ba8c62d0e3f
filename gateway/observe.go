package gateway

import (
	"maps"
	"strings"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/sip"
)

// CallObserver is told how the gateway's SIP calls and their participants
// come and go: what webhooks report. ObserveCall runs on the call's
// goroutine, so it must not block (queue and return).
type CallObserver interface {
	ObserveCall(CallEvent)
}

// CallEventType says what a CallEvent reports.
type CallEventType int

// Call events, in the order a call produces them; a call that is refused
// goes from CallStarted to CallEnded.
const (
	CallEventUnknown  CallEventType = iota
	CallStarted                     // an INVITE passed the SIP checks
	ParticipantJoined               // the caller joined a room
	CallAnswered                    // 200 OK was ACKed
	ParticipantLeft                 // the caller left the room
	CallEnded                       // the call is over
)

// String is the webhook event name.
func (t CallEventType) String() string {
	switch t {
	case CallStarted:
		return "call_started"
	case ParticipantJoined:
		return "participant_joined"
	case CallAnswered:
		return "call_answered"
	case ParticipantLeft:
		return "participant_left"
	case CallEnded:
		return "call_ended"
	}
	return "unknown"
}

// CallEvent is a snapshot of a call when something happened to it.
type CallEvent struct {
	Type CallEventType
	Time time.Time
	// ID is the call's participant identity, SIPCallID its Call-ID.
	ID, SIPCallID string
	// Direction is "outbound" for a dial-out's callee, empty for calls
	// that came in.
	Direction string
	// From and To are the URIs of the INVITE's From and To.
	From, To         string
	Trunk, Transport string
	// Room is the room the call is in (empty before it joins one).
	Room string
	// Participant is who the caller is in the room: name (masked per
	// sip.caller_mask), kind and attributes (with the trunk's
	// headers_to_attributes).
	Participant room.ParticipantInfo
	StartedAt   time.Time
	AnsweredAt  time.Time // zero if not answered
	// Result (CallEnded) is the outcome as counted in metrics, Cause why
	// the call ended, Status the SIP status of a rejection (0 otherwise).
	Result string
	Cause  string
	Status int
	// Quality (CallEnded) is the leg's media quality, nil without media.
	Quality *LegQuality
}

// observe tells the observer about c.
func (g *Gateway) observe(c *call, typ CallEventType) {
	if g.cfg.Observer == nil {
		return
	}
	g.cfg.Observer.ObserveCall(c.event(typ))
}

// observeEnd reports the end of c, with its outcome and quality.
func (g *Gateway) observeEnd(c *call, result string, err error) {
	if g.cfg.Observer == nil {
		return
	}
	e := c.event(CallEnded)
	e.Result = result
	if err != nil {
		e.Cause = err.Error()
		if result != resultAnswered {
			e.Status = sip.StatusCode(err)
		}
	}
	if l, s := c.leg.Load(), c.sess.Load(); l != nil && s != nil && c.answered.Load() != 0 {
		q := c.quality(l, s)
		e.Quality = &q
	}
	g.cfg.Observer.ObserveCall(e)
}

func (c *call) event(typ CallEventType) CallEvent {
	e := CallEvent{
		Type: typ, Time: time.Now().UTC(), ID: c.id, SIPCallID: c.ic.CallID(),
		From: c.ic.From().URI, To: c.ic.To().URI, Transport: c.ic.Transport(),
		StartedAt: c.start.UTC(),
		Participant: room.ParticipantInfo{
			Identity: c.id, Name: c.name(),
			Kind: room.ParticipantKindSIP, Attributes: c.attributes(),
		},
	}
	if t := c.ic.Trunk(); t != nil {
		e.Trunk = t.Name
	}
	if r := c.room.Load(); r != nil {
		e.Room = *r
	}
	if at := c.answered.Load(); at != 0 {
		e.AnsweredAt = time.Unix(0, at).UTC()
	}
	return e
}

// attributes are the caller's participant attributes: its transport and
// trunk, and the headers its trunk maps to attributes
// (trunks[].headers_to_attributes).
func (c *call) attributes() map[string]string {
	attrs := map[string]string{"sip.transport": c.ic.Transport()}
	if c.g.cfg.NodeID != "" {
		attrs[room.AttrNode] = c.g.cfg.NodeID
	}
	if c.hostPIN {
		attrs[AttrRole] = roleHost
	}
	if c.bridged != nil && c.bridged.node != "" {
		attrs[AttrViaNode] = c.bridged.node
	}
	t := c.ic.Trunk()
	if t == nil {
		return attrs
	}
	attrs["sip.trunk"] = t.Name
	for header, attr := range c.g.cfg.HeaderAttributes[t.Name] {
		if attr == room.AttrNode {
			continue // set by this node, not by a caller's header
		}
		if v := strings.TrimSpace(c.ic.Header(header)); v != "" {
			attrs[attr] = truncate(v, maxAttributeLen)
		}
	}
	return maps.Clone(attrs)
}

// maxAttributeLen bounds an attribute taken from a header: a caller must
// not make every participant listing and token carry kilobytes.
const maxAttributeLen = 256

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
