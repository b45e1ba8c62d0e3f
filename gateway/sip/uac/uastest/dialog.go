package uastest

import (
	"github.com/emiago/sipgo/sip"
	"github.com/roombridge/roombridge/gateway/sdp"
)

func (s *Server) onAck(req *sip.Request, tx sip.ServerTransaction) {
	_ = s.dsc.ReadAck(req, tx)
	if len(req.Body()) == 0 {
		return
	}
	s.mu.Lock()
	c := s.calls[req.CallID().Value()]
	s.mu.Unlock()
	if c == nil || c.offer == nil {
		return
	}
	// The answer to our delayed offer: start the echo.
	ans, err := sdp.Parse(req.Body())
	if err != nil || sdp.AcceptAnswer(c.offer, ans) != nil {
		return
	}
	s.mu.Lock()
	ports := c.ports
	c.ports = nil
	s.mu.Unlock()
	if ports == nil {
		return
	}
	if err := s.startEcho(c, ports, c.offer, ans, c.offer.Audio, ans.Audio); err != nil {
		_ = ports.Close()
	}
}

func (s *Server) onReInvite(req *sip.Request, tx sip.ServerTransaction) {
	s.mu.Lock()
	c := s.calls[req.CallID().Value()]
	if c != nil {
		if req.GetHeader("Session-Expires") != nil {
			s.refreshes++
		} else {
			s.reinvites++
		}
	}
	s.mu.Unlock()
	if c == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	body := c.local.Marshal()
	if len(req.Body()) > 0 {
		if offer, err := sdp.Parse(req.Body()); err == nil {
			p := sdp.Policy{
				Codecs: s.cfg.Codecs, SRTP: sdp.SRTPAllow, Addr: c.local.ConnAddr,
				AudioPort: c.local.Audio.Port, Previous: c.local, Username: "uastest",
			}
			if ans, err := sdp.Answer(offer, p); err == nil {
				body = ans.Marshal()
			}
		}
	}
	res := sip.NewSDPResponseFromRequest(req, body)
	res.AppendHeader(sip.HeaderClone(&c.contact))
	if se := req.GetHeader("Session-Expires"); se != nil {
		res.AppendHeader(sip.NewHeader("Session-Expires", se.Value()))
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
	_ = tx.Respond(res)
}

func (s *Server) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	s.mu.Lock()
	c := s.calls[req.CallID().Value()]
	if c != nil {
		s.refreshes++
	}
	s.mu.Unlock()
	if c == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.HeaderClone(&c.contact))
	if se := req.GetHeader("Session-Expires"); se != nil {
		res.AppendHeader(sip.NewHeader("Session-Expires", se.Value()))
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
	_ = tx.Respond(res)
}

func (s *Server) onBye(req *sip.Request, tx sip.ServerTransaction) {
	dlg, err := s.dsc.MatchDialogRequest(req)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	s.mu.Lock()
	s.byes++ // before the 200, so that the caller's Hangup sees it counted
	s.mu.Unlock()
	s.drop(req.CallID().Value())
	_ = dlg.ReadBye(req, tx)
}

func (s *Server) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	s.mu.Lock()
	s.infos = append(s.infos, Info{ContentType: ct, Body: string(req.Body())})
	s.mu.Unlock()
	_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
}

// drop ends a call's media.
func (s *Server) drop(callID string) {
	s.mu.Lock()
	c := s.calls[callID]
	delete(s.calls, callID)
	closeMedia := func() {}
	if c != nil {
		closeMedia = c.take()
	}
	s.mu.Unlock()
	closeMedia()
}

// take detaches the call's media (s.mu held) and returns what closes it.
func (c *call) take() func() {
	media, ports := c.media, c.ports
	c.media, c.ports = nil, nil
	return func() {
		if media != nil {
			_ = media.Close()
		}
		if ports != nil {
			_ = ports.Close()
		}
	}
}
