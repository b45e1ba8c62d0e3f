package sip

import "sync/atomic"

// Stats are counters since the server started.
type Stats struct {
	Invites        uint64 // initial INVITEs received
	Accepted       uint64 // INVITEs handed to the CallHandler
	Answered       uint64 // calls answered with 200 OK
	Rejected       uint64 // INVITEs given a final error response
	Canceled       uint64 // calls the caller cancelled before the answer
	Forbidden      uint64 // INVITEs from no trunk
	Challenges     uint64 // digest challenges sent
	AuthFailures   uint64 // wrong digest credentials
	AuthReplays    uint64 // right credentials whose nonce count was used before
	AuthLocked     uint64 // INVITEs refused because their source is locked out
	RateLimited    uint64 // requests over their source's rate (Config.Limits, Trunk.MaxCPS)
	Scanners       uint64 // requests from scanner user agents, dropped unanswered
	Protocol       uint64 // requests refused by the RFC 3261 checks (400, 416, 420, 482, 483)
	TrunkFull      uint64 // INVITEs refused because their trunk had MaxCalls calls up
	SessionExpired uint64 // calls ended by the session timer
	Active         int64  // calls in progress
}

type counters struct {
	invites, accepted, answered, rejected, canceled  atomic.Uint64
	forbidden, challenges, authFailures, rateLimited atomic.Uint64
	sessionExpired, authReplays, authLocked          atomic.Uint64
	scanners, protocol, trunkFull                    atomic.Uint64
	active                                           atomic.Int64
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Invites:        c.invites.Load(),
		Accepted:       c.accepted.Load(),
		Answered:       c.answered.Load(),
		Rejected:       c.rejected.Load(),
		Canceled:       c.canceled.Load(),
		Forbidden:      c.forbidden.Load(),
		Challenges:     c.challenges.Load(),
		AuthFailures:   c.authFailures.Load(),
		AuthReplays:    c.authReplays.Load(),
		AuthLocked:     c.authLocked.Load(),
		RateLimited:    c.rateLimited.Load(),
		Scanners:       c.scanners.Load(),
		Protocol:       c.protocol.Load(),
		TrunkFull:      c.trunkFull.Load(),
		SessionExpired: c.sessionExpired.Load(),
		Active:         c.active.Load(),
	}
}
