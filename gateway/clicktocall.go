package gateway

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/roombridge/roombridge/gateway/dialout"
	"github.com/roombridge/roombridge/gateway/media/dtmf"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
)

// ClickToCall places the calls of SIP callers who dial a number: the
// dial-out registry over the outbound trunks, so that a click-to-call
// gets their failover, registration and digest, and shows in GET
// /v1/calls and the webhooks like a dial from the room API.
type ClickToCall interface {
	// Routes reports whether an outbound trunk may dial number.
	Routes(number string) bool
	Dial(req dialout.Request) (dialout.Info, error)
	Get(id string) (dialout.Info, bool)
	Hangup(id string) (dialout.Info, error)
}

// clickToCall is what EnableClickToCall set.
type clickToCall struct {
	calls  ClickToCall
	trunks map[string]DialTrunk
}

// EnableClickToCall lets authenticated callers dial numbers that calls
// routes, with trunks the outbound trunks' media policies (as for
// DialMedia). Until it is called a number that is no room gets 404.
func (g *Gateway) EnableClickToCall(calls ClickToCall, trunks map[string]DialTrunk) {
	g.c2c.Store(&clickToCall{calls: calls, trunks: maps.Clone(trunks)})
}

// callOutNumber reports whether user, a user part that is no room, is a
// number the outbound trunks dial.
func (g *Gateway) callOutNumber(user string) bool {
	c := g.c2c.Load()
	return c != nil && digits(user) != "" && c.calls.Routes(user)
}

// mayCallOut reports whether the caller may dial out at the gateway's
// expense: one authenticated with a SIP account (sip.users or minted by
// the API: digest, no allow list), or a trunk with click_to_call. Nobody
// is let out on a From header.
func mayCallOut(t *sip.Trunk) bool {
	if t == nil {
		return false
	}
	return t.ClickToCall || t.Name == sip.UsersTrunkName && t.Username != "" && len(t.Allow) == 0
}

// ErrCallOutForbidden refuses a number from a caller who may not call out
// (403).
var ErrCallOutForbidden = fmt.Errorf("%w: this caller may not call out", sip.ErrForbidden)

// resultCallout is the metrics result of a click-to-call whose callee did
// not answer (busy, no answer, every trunk failed).
const resultCallout = "callout_failed"

// callOut bridges the caller to number through the outbound trunks. The
// caller's media is ready (answer: our answer to its offer; local: our
// offer for a delayed offer); its leg waits in a private bridge for the
// callee's. The caller hears 180 while the callee rings, 183 with our
// answer once the callee's early media flows, 200 when the callee
// answers, or the callee's final failure. Its CANCEL cancels the INVITE
// out, and either side's BYE ends the other.
func (c *call) callOut(number string, local *sdp.Session, answer []byte) (string, error) {
	cc := c.g.c2c.Load()
	bridge := privateRoomPrefix + c.id
	if c.leg.Load() != nil {
		if err := c.joinBridge(bridge); err != nil {
			return c.reject(err)
		}
	}
	callee := newC2CCallee(bridge, cc.trunks)
	req := dialout.Request{To: number, Origin: dialout.OriginClickToCall, Media: callee.media(c.g)}
	if t := c.ic.Trunk(); t.Name == sip.UsersTrunkName {
		// The account's name, never the caller's From, says who calls;
		// the number is the trunk's from_number.
		req.Name = CleanDisplayName(t.Username)
	}
	info, err := cc.calls.Dial(req)
	if err != nil {
		return c.reject(fmt.Errorf("%w: %w", sip.ErrOverloaded, err))
	}
	c.log = c.log.With("dial", info.ID)
	c.log.Info("click-to-call: dialling", "to", number, "as", req.Name)
	// Whatever ends the caller's call ends the callee's too.
	defer func() { _, _ = cc.calls.Hangup(info.ID) }()

	early, ringing := callee.flowing, false
	for answered := false; !answered; {
		select {
		case <-c.ctx.Done():
			return c.endedEarly(context.Cause(c.ctx))
		case code := <-callee.progress:
			if code >= 180 && !ringing {
				ringing = true
				if err := c.ic.Ringing(); err != nil {
					return c.endedEarly(err)
				}
			}
		case <-early:
			early = nil
			if answer != nil {
				ringing = true
				if err := c.ic.Progress(answer); err != nil {
					return c.endedEarly(err)
				}
			}
		case <-callee.up:
			answered = true
		case <-callee.ended:
			i, _ := cc.calls.Get(info.ID)
			code, reason := calloutStatus(i)
			c.log.Info("click-to-call: not answered", "cause", i.Cause, "status", i.Status, "answer", code)
			if err := c.ic.Reject(code, reason); err != nil {
				c.log.Debug("reject", "err", err)
			}
			return resultCallout, fmt.Errorf("%w: %d %s (%s)", sip.ErrRejected, code, reason, i.Cause)
		}
	}
	if answer == nil {
		answer = local.Marshal()
	}
	if err := c.ic.Answer(answer); err != nil {
		return c.endedEarly(err)
	}
	if c.leg.Load() == nil {
		neg, err := acceptAnswer(local, c.ic.AckSDP())
		if err != nil {
			return resultNotAccept, err
		}
		if err := c.startMedia(neg); err != nil {
			return resultFailed, err
		}
		if err := c.joinBridge(bridge); err != nil {
			return resultFailed, err
		}
	}
	now := time.Now()
	c.answered.Store(now.UnixNano())
	c.g.observe(c, CallAnswered)
	c.g.m.answerDelay.Observe(now.Sub(c.start).Seconds())
	c.log.Info("click-to-call answered", "codec", c.leg.Load().Codec().String(), "setup", now.Sub(c.start).Round(time.Millisecond))
	return resultAnswered, c.relay(callee)
}

// joinBridge puts the caller's leg into its private bridge.
func (c *call) joinBridge(bridge string) error {
	p := room.ParticipantInfo{Identity: c.id, Kind: room.ParticipantKindSIP, PublishOnly: true}
	if err := c.joinParticipant(bridge, p); err != nil {
		return err
	}
	return c.enterHub()
}

// relay carries the keys both ways until one side hangs up.
func (c *call) relay(callee *c2cCallee) error {
	for {
		select {
		case <-c.ctx.Done():
			return context.Cause(c.ctx)
		case <-callee.ended:
			return errCalleeHungUp
		case d := <-c.digits:
			if err := callee.sendDigit(c.ctx, d.Key); err != nil {
				c.log.Info("click-to-call: key not sent to the callee", "err", err)
			}
		case d := <-callee.digits:
			if err := c.sendDigit(d); err != nil {
				c.log.Info("click-to-call: key not sent to the caller", "err", err)
			}
		}
	}
}

// errCalleeHungUp ends a click-to-call whose callee hung up.
var errCalleeHungUp = errors.New("gateway: the click-to-call callee hung up")

// sendDigit sends one of the callee's keys to the caller: RFC 4733 where
// the caller's leg sends events, else SIP INFO.
func (c *call) sendDigit(d dtmf.Digit) error {
	if l := c.leg.Load(); l != nil && l.SendsDigits() {
		return l.SendDigit(d.Key)
	}
	ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
	defer cancel()
	return c.ic.SendInfo(ctx, sip.ContentTypeDTMFRelay, dtmfRelayBody(d.Key))
}

// calloutStatus is the final response a click-to-call's caller gets when
// the callee did not answer: the callee's own failure where it is the
// callee's to give (486, 404, 603...), 503 when every trunk failed, 480
// when nobody answered in time. A carrier's 401/407 is about our
// credentials, not the caller's: 503.
func calloutStatus(i dialout.Info) (int, string) {
	switch i.Cause {
	case dialout.CauseNoAnswer:
		if i.Status == 408 || i.Status == 480 {
			return i.Status, "No Answer"
		}
		return 480, "No Answer"
	case dialout.CauseNoRoute:
		return 404, "No Route"
	case dialout.CauseBusy, dialout.CauseDeclined, dialout.CauseNotFound, dialout.CauseRejected:
		if i.Status >= 400 && i.Status != 401 && i.Status != 407 {
			return i.Status, sipReason(i.Status)
		}
	}
	return 503, "Service Unavailable"
}

// sipReason is the reason phrase of the final responses a callee's
// failure is passed on with.
func sipReason(code int) string {
	switch code {
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 484:
		return "Address Incomplete"
	case 486:
		return "Busy Here"
	case 488:
		return "Not Acceptable Here"
	case 600:
		return "Busy Everywhere"
	case 603:
		return "Decline"
	case 604:
		return "Does Not Exist Anywhere"
	}
	return "Call Failed"
}
