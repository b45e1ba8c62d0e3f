package uastest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
)

func (s *Server) contactFor(req *sip.Request) sip.ContactHeader {
	addr := s.udp
	var params sip.HeaderParams
	switch strings.ToLower(req.Transport()) {
	case "tcp":
		addr, params = s.tcp, sip.HeaderParams{{K: "transport", V: "tcp"}}
	case "tls":
		addr, params = s.tls, sip.HeaderParams{{K: "transport", V: "tls"}}
	}
	h, p, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(p)
	return sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "uas", Host: h, Port: port, UriParams: params}}
}

func (s *Server) allow() string {
	if s.cfg.NoUpdate {
		return "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"
	}
	return "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE"
}

func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		s.onReInvite(req, tx)
		return
	}
	if s.cfg.Password != "" && !s.authorized(req) {
		res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
		chal := digest.Challenge{Realm: "uastest", Nonce: s.nonce, Algorithm: "MD5", QOP: []string{"auth"}}
		res.AppendHeader(sip.NewHeader("WWW-Authenticate", chal.String()))
		_ = tx.Respond(res)
		return
	}
	dlg, err := s.dsc.ReadInvite(req, tx)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 500, "Server Error", nil))
		return
	}
	contact := s.contactFor(req)
	if s.cfg.RingFor > 0 {
		_ = dlg.Respond(180, "Ringing", nil, sip.HeaderClone(&contact))
		select {
		case <-time.After(s.cfg.RingFor):
		case <-dlg.Context().Done():
			return // cancelled
		case <-s.ctx.Done():
			return
		}
	}
	if s.cfg.Reject != 0 {
		_ = dlg.Respond(s.cfg.Reject, reason(s.cfg.Reject), nil)
		return
	}
	c := &call{dlg: dlg, contact: contact}
	var body []byte
	if offerBody := req.Body(); len(offerBody) > 0 {
		body, err = s.answer(c, offerBody)
		if err != nil {
			_ = dlg.Respond(488, "Not Acceptable Here", nil)
			return
		}
	} else {
		body, err = s.offer(c)
		if err != nil {
			_ = dlg.Respond(500, "Server Error", nil)
			return
		}
	}
	res := sip.NewSDPResponseFromRequest(dlg.InviteRequest, body)
	res.AppendHeader(sip.HeaderClone(&contact))
	res.AppendHeader(sip.NewHeader("Allow", s.allow()))
	if s.cfg.SessionExpires > 0 {
		res.AppendHeader(sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=uac", int(s.cfg.SessionExpires/time.Second))))
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
	callID := req.CallID().Value()
	s.mu.Lock()
	if s.closed {
		closeMedia := c.take()
		s.mu.Unlock()
		closeMedia()
		return
	}
	s.calls[callID] = c
	s.answered++
	s.mu.Unlock()
	if err := dlg.WriteResponse(res); err != nil {
		s.drop(callID)
		return
	}
	if s.cfg.HangupAfter > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			select {
			case <-time.After(s.cfg.HangupAfter):
			case <-dlg.Context().Done():
				return
			case <-s.ctx.Done():
				return
			}
			ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
			defer cancel()
			_ = dlg.Bye(ctx)
			s.drop(callID)
		}()
	}
}

// answer answers the caller's offer and starts the echo.
func (s *Server) answer(c *call, offerBody []byte) ([]byte, error) {
	offer, err := sdp.Parse(offerBody)
	if err != nil {
		return nil, err
	}
	ports, err := s.pool.Allocate()
	if err != nil {
		return nil, err
	}
	ans, err := sdp.Answer(offer, s.policy(ports))
	if err != nil {
		_ = ports.Close()
		return nil, err
	}
	if s.cfg.Silent {
		c.ports = ports // not shared yet; closed with the call
	} else if err := s.startEcho(c, ports, ans, offer, ans.Audio, offer.Audio); err != nil {
		_ = ports.Close()
		return nil, err
	}
	c.local = ans
	return ans.Marshal(), nil
}

// offer makes our offer for a delayed-offer INVITE; media starts with the
// answer in the ACK.
func (s *Server) offer(c *call) ([]byte, error) {
	ports, err := s.pool.Allocate()
	if err != nil {
		return nil, err
	}
	off, err := sdp.Offer(s.policy(ports))
	if err != nil {
		_ = ports.Close()
		return nil, err
	}
	c.offer, c.local, c.ports = off, off, ports
	return off.Marshal(), nil
}

func (s *Server) policy(ports *rtp.PortPair) sdp.Policy {
	return sdp.Policy{
		Codecs: s.cfg.Codecs, SRTP: sdp.SRTPAllow,
		Suites: []sdp.CryptoSuite{sdp.AES_CM_128_HMAC_SHA1_80, sdp.AES_CM_128_HMAC_SHA1_32},
		Addr:   ports.RTPAddr().Addr(), AudioPort: int(ports.RTPAddr().Port()), Username: "uastest",
	}
}

// authorized checks the INVITE's digest credentials against our nonce.
func (s *Server) authorized(req *sip.Request) bool {
	h := req.GetHeader("Authorization")
	if h == nil {
		return false
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil || cred.Nonce != s.nonce || cred.Username != s.cfg.Username {
		return false
	}
	chal := &digest.Challenge{Realm: "uastest", Nonce: s.nonce, Algorithm: "MD5", QOP: []string{"auth"}}
	want, err := digest.Digest(chal, digest.Options{
		Method: "INVITE", URI: cred.URI, Username: s.cfg.Username,
		Password: s.cfg.Password, Cnonce: cred.Cnonce, Count: cred.Nc,
	})
	return err == nil && want.Response == cred.Response
}

func reason(code int) string {
	switch code {
	case 486:
		return "Busy Here"
	case 603:
		return "Decline"
	case 404:
		return "Not Found"
	case 480:
		return "Temporarily Unavailable"
	}
	return "Failed"
}
