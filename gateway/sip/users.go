package sip

import (
	"net/netip"

	"github.com/emiago/sipgo/sip"
)

// Users looks up the SIP accounts of browser and softphone users: those of
// the configuration and short-lived ones minted by the room API.
type Users interface {
	// Password returns username's digest password; false when there is no
	// such account or it has expired.
	Password(username string) (password string, ok bool)
}

// UsersTrunkName is the trunk name of calls admitted by user credentials
// rather than by a trunk's allow-list.
const UsersTrunkName = "users"

// usersTrunk is what a call admitted by user credentials runs under: no
// allow-list (the digest is the admission), the trunk defaults otherwise.
func (s *Server) usersTrunk(username string) *Trunk {
	return &Trunk{Name: UsersTrunkName, Username: username, Realm: s.realm()}
}

// realm is the digest realm of user accounts (RFC 3261 §22.1).
func (s *Server) realm() string {
	if s.cfg.Domain != "" {
		return s.cfg.Domain
	}
	return defaultRealm
}

// authorizeUser admits a request from a source no trunk allows by the
// digest credentials of a user account (RFC 3261 §22.2), for INVITE and
// REGISTER alike, with the checks of checkDigest (nonce count, digest uri,
// lockout). Like authorize it answers the request itself (401 challenge,
// 403) and reports false when the request may not go on; a wrong password
// and an unknown user get the same 403.
func (s *Server) authorizeUser(req *sip.Request, tx sip.ServerTransaction, src netip.Addr) (*Trunk, bool) {
	creds, credsErr := s.credentials(req, false)
	password, known := "", false
	if credsErr == nil {
		password, known = s.cfg.Users.Password(creds.Username)
	}
	t := &Trunk{Username: creds.Username, Password: password, Realm: s.realm(), DigestAlgorithms: s.cfg.DigestAlgorithms}
	if !s.checkDigest(req, tx, src, digestCheck{creds: creds, credsErr: credsErr, trunk: t, known: known}) {
		return nil, false
	}
	return s.usersTrunk(creds.Username), true
}
