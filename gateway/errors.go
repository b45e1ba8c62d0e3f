package gateway

import "errors"

// Admission errors; the web signalling sends their text to the browser, so
// they are worded for the person joining.
var (
	ErrTokenRequired = errors.New("this room needs a join link (token)")
	ErrTokenInvalid  = errors.New("the join link is invalid or has expired")
	ErrTokenRoom     = errors.New("the join link is for another room")
	ErrNoSuchRoom    = errors.New("there is no such room")
)
