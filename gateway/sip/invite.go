package sip

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/roombridge/roombridge/gateway/lockout"
)

// onInvite dispatches an INVITE: with a To tag it is a re-INVITE inside a
// dialog (RFC 3261 §14.2), otherwise a new call.
func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		s.handleReInvite(req, tx)
		return
	}
	s.handleInvite(req, tx)
}

// handleInvite admits a new call: rate limit, request checks, trunk match,
// digest authentication and session-timer negotiation, in that order, so
// that nothing is allocated for a call until the caller is known. It then
// runs the call handler in this goroutine (sipgo gives each request its
// own) until the call is over.
func (s *Server) handleInvite(req *sip.Request, tx sip.ServerTransaction) {
	s.stats.invites.Add(1)
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		s.respondErr(req, tx, fmt.Errorf("%w: source %q", errBadRequest, req.Source()))
		return
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	// RFC 3261 §8.2.6.1: 100 Trying at once, so the caller stops
	// retransmitting while we authenticate and route.
	s.respond(req, tx, 100, "Trying", nil)

	if err := checkInvite(req); err != nil {
		s.stats.rejected.Add(1)
		s.respondErr(req, tx, err, rejectHeaders(req, err)...)
		return
	}
	// §8.2.2.2: the same request reaching us twice by different paths
	// (a forking proxy's copies) is answered once; the others get 482.
	merged, release := s.claimRequest(req)
	if merged {
		s.stats.protocol.Add(1)
		s.respondErr(req, tx, errLoopDetected)
		return
	}
	defer release()
	called := requestUser(req)
	trunk, ok := s.authorize(req, tx, src.Addr(), called)
	if !ok {
		return
	}
	st, err := negotiateTimer(req, s.cfg.SessionExpires, s.cfg.MinSE)
	if err != nil {
		s.stats.rejected.Add(1)
		// RFC 4028 §6: 422 carries our Min-SE.
		s.respondErr(req, tx, err, sip.NewHeader("Min-SE", strconv.Itoa(int(s.cfg.MinSE/time.Second))))
		return
	}
	c := s.newCall(req, tx, trunk, src, st)
	if err := s.register(c); err != nil {
		if errors.Is(err, errTrunkFull) {
			s.stats.trunkFull.Add(1)
			s.log.Info("sip: INVITE refused: trunk at max_calls", "call_id", callIDOf(req), "trunk", trunk.Name)
		}
		s.respondErr(req, tx, err, sip.NewHeader("Retry-After", "5"))
		return
	}
	s.stats.accepted.Add(1)
	c.run()
}

// rejectHeaders are the headers a rejection for err needs: Unsupported for
// 420 (RFC 3261 §8.2.2.3), Accept for 415 (§21.4.13).
func rejectHeaders(req *sip.Request, err error) []sip.Header {
	switch code, _ := status(err, 500); code {
	case 420:
		var unsup []string
		for _, t := range optionTags(req, "Require", "") {
			if !supportedTag(t) {
				unsup = append(unsup, t)
			}
		}
		return []sip.Header{sip.NewHeader("Unsupported", strings.Join(unsup, ", "))}
	case 415:
		return []sip.Header{sip.NewHeader("Accept", "application/sdp")}
	}
	return nil
}

func supportedTag(t string) bool { return t == "timer" }

// checkInvite makes the checks of RFC 3261 §8.2 that sipgo and the guard
// leave to us: the headers a dialog needs and the body type (§8.2.3).
func checkInvite(req *sip.Request) error {
	if req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
		return fmt.Errorf("%w: missing From, To, Call-ID or CSeq", errBadRequest)
	}
	if !req.From().Params.Has("tag") {
		return fmt.Errorf("%w: From without tag", errBadRequest)
	}
	if req.Contact() == nil {
		return fmt.Errorf("%w: missing Contact", errBadRequest)
	}
	if sc := req.Contact().Address.Scheme; sc != "sip" && sc != "sips" {
		return fmt.Errorf("%w: Contact scheme %q", errBadRequest, sc)
	}
	if len(req.Body()) > 0 {
		if ct := contentType(req); ct != "application/sdp" {
			return fmt.Errorf("%w: %q", errUnsupportedMedia, ct)
		}
		if enc := headerValue(req, "Content-Encoding", "e"); enc != "" && !strings.EqualFold(enc, "identity") {
			return fmt.Errorf("%w: Content-Encoding %q", errUnsupportedMedia, enc)
		}
	}
	return nil
}

// requestUser is the called number: the Request-URI user part, or the To
// user when the Request-URI has none.
func requestUser(req *sip.Request) string {
	if req.Recipient.User != "" {
		return req.Recipient.User
	}
	if to := req.To(); to != nil {
		return to.Address.User
	}
	return ""
}

// authorize matches the request to a trunk and checks its digest
// credentials (RFC 3261 §22.2, RFC 7616). It answers the request itself
// (403, or a 401/407 challenge) and reports false when the call may not go
// on.
func (s *Server) authorize(req *sip.Request, tx sip.ServerTransaction, src netip.Addr, called string) (*Trunk, bool) {
	cands := matchTrunks(s.cfg.Trunks, src, called)
	if len(cands) == 0 && s.cfg.Users != nil {
		return s.authorizeUser(req, tx, src)
	}
	if len(cands) == 0 {
		s.stats.forbidden.Add(1)
		s.log.Info("sip: no trunk for INVITE", "call_id", callIDOf(req), "source", src, "called", called)
		s.respondErr(req, tx, fmt.Errorf("%w: no trunk for %s", ErrForbidden, src))
		return nil, false
	}
	creds, credsErr := s.credentials(req, s.cfg.ProxyAuth)
	trunk := pickTrunk(cands, creds.Username)
	if trunk.Username == "" {
		return trunk, true
	}
	return trunk, s.checkDigest(req, tx, src, digestCheck{
		creds: creds, credsErr: credsErr, trunk: trunk, known: true, proxy: s.cfg.ProxyAuth,
	})
}

// credentials parses the request's Authorization (or, with proxy,
// Proxy-Authorization) header; errDigestSyntax when there is none.
func (s *Server) credentials(req *sip.Request, proxy bool) (digestCredentials, error) {
	name := "Authorization"
	if proxy {
		name = "Proxy-Authorization"
	}
	if h := req.GetHeader(name); h != nil {
		return parseDigestCredentials(h.Value())
	}
	return digestCredentials{}, errDigestSyntax
}

// digestCheck is what checkDigest checks: the parsed credentials against
// trunk (or a user account as a trunk: known is false for a username with
// no account), challenging with 407 when proxy.
type digestCheck struct {
	creds    digestCredentials
	credsErr error
	trunk    *Trunk
	known    bool
	proxy    bool
}

// checkDigest checks a request's credentials (RFC 7616) and reports
// whether it may go on; otherwise it has answered it: 403 for wrong
// credentials (counted against the source in Config.Lockout) or a source
// locked out (before its credentials are looked at), else a 401/407
// challenge, stale=true when the credentials were right but their nonce
// expired, forgotten or its count used.
func (s *Server) checkDigest(req *sip.Request, tx sip.ServerTransaction, src netip.Addr, d digestCheck) bool {
	key := lockout.SourceKey(src)
	if s.cfg.Lockout != nil {
		if _, locked := s.cfg.Lockout.Locked(key); locked {
			s.stats.authLocked.Add(1)
			s.log.Info("sip: request refused: source locked out after wrong credentials", "call_id", callIDOf(req), "method", req.Method, "source", src, "trunk", d.trunk.Name)
			s.respondErr(req, tx, fmt.Errorf("%w: locked out", ErrForbidden))
			return false
		}
	}
	result := authChallenge
	if d.credsErr == nil {
		result = s.nonces.verify(d.creds, d.trunk, digestRequest{
			method: string(req.Method), uri: req.Recipient, src: src, algs: d.trunk.DigestAlgorithms,
		})
		if !d.known && result != authChallenge {
			result = authFailed // the same 403 as a wrong password
		}
	}
	switch result {
	case authOK:
		return true
	case authFailed:
		s.stats.authFailures.Add(1)
		lockedNow := s.cfg.Lockout != nil && s.cfg.Lockout.Fail(key)
		s.log.Warn("sip: digest authentication failed", "call_id", callIDOf(req), "method", req.Method, "source", src, "trunk", d.trunk.Name, "locked_out", lockedNow)
		s.respondErr(req, tx, fmt.Errorf("%w: wrong credentials", ErrForbidden))
		return false
	case authReplay:
		s.stats.authReplays.Add(1)
		s.log.Warn("sip: digest credentials replayed", "call_id", callIDOf(req), "method", req.Method, "source", src, "trunk", d.trunk.Name)
	}
	s.stats.challenges.Add(1)
	chalName, chalErr := "WWW-Authenticate", errUnauthorized
	if d.proxy {
		chalName, chalErr = "Proxy-Authenticate", errProxyAuth
	}
	stale := result == authStale || result == authReplay
	var hdrs []sip.Header
	for _, v := range s.nonces.challenge(d.trunk.Realm, src, d.trunk.DigestAlgorithms, stale) {
		hdrs = append(hdrs, sip.NewHeader(chalName, v))
	}
	s.respondErr(req, tx, chalErr, hdrs...)
	return false
}
