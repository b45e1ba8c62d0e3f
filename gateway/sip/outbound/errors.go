package outbound

import "errors"

// Sentinel errors; Dial errors wrap them (and the last attempt's error,
// e.g. a *uac.StatusError, when there was one).
var (
	// ErrInvalidConfig reports a trunk or Config that cannot work; the
	// message names the field.
	ErrInvalidConfig = errors.New("outbound: invalid config")
	// ErrInvalidDestination reports a destination that is neither a
	// number nor a SIP URI.
	ErrInvalidDestination = errors.New("outbound: invalid destination")
	// ErrUnknownTrunk reports a trunk name no outbound trunk has.
	ErrUnknownTrunk = errors.New("outbound: no such outbound trunk")
	// ErrNoRoute reports a number that no outbound trunk may dial.
	ErrNoRoute = errors.New("outbound: no trunk may dial this number")
	// ErrNoTrunkAvailable reports that every trunk that may dial the
	// number is down (its OPTIONS pings fail).
	ErrNoTrunkAvailable = errors.New("outbound: every trunk for this number is down")
	// ErrAllFailed reports a call that every trunk and server tried
	// refused or did not answer; it wraps the last attempt's error.
	ErrAllFailed = errors.New("outbound: every trunk failed")
	// ErrResolve reports a domain whose servers could not be found.
	ErrResolve = errors.New("outbound: cannot resolve")
	// ErrClosed reports a Dial on a closed Manager.
	ErrClosed = errors.New("outbound: manager closed")
)
