// Package outbound places calls out through SIP trunks: the carriers and
// SBCs the gateway calls phones through, and SIP URIs it calls directly.
//
// A [Manager] keeps, per outbound trunk, a registration with the carrier
// when the trunk asks for one (REGISTER with digest, refreshed before it
// expires, retried with backoff after failures, removed on Close; RFC 3261
// §10) and an OPTIONS ping (RFC 3261 §11) whose failures take the trunk out
// of rotation until it answers again. [Manager.Dial] picks the trunks that
// may dial a number in priority order and fails over to the next one on the
// responses [FailoverStatus] lists; within a trunk, the servers of its
// domain are found by RFC 3263 (NAPTR, SRV, then A/AAAA) and tried in turn.
//
// Calls are placed with [uac.Dial]: this package chooses where they go and
// with which identity and credentials; the dialog itself (CANCEL, BYE,
// re-INVITE, INFO, session timers) is the uac package's.
package outbound
