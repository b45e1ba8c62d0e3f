package gateway

import (
	"net/netip"
	"strings"

	"github.com/roombridge/roombridge/gateway/lockout"
)

// lockoutKeys are the keys a call's wrong PINs count against in the
// lockout table: its source address and its caller number (the From
// user), when it has one. A carrier trunk sends every caller from the same
// few addresses, so counting by source there would let a handful of
// mistyped PINs lock out every dial-in caller: its trunk sets mode
// "caller" (count the caller number only; anonymous callers are still
// counted by source). "source" counts the address only, for trunks whose
// From is not to be trusted.
func lockoutKeys(src netip.AddrPort, fromUser, mode string) []string {
	keys := make([]string, 0, 2)
	u := strings.ToLower(strings.TrimSpace(fromUser))
	if u == "anonymous" {
		u = ""
	}
	bySource := mode != "caller" || u == ""
	if src.IsValid() && bySource {
		keys = append(keys, lockout.SourceKey(src.Addr()))
	}
	if u != "" && mode != "source" {
		keys = append(keys, callerKeyPrefix+u)
	}
	return keys
}

// callerKeyPrefix starts the lockout key of a caller number.
const callerKeyPrefix = "from:"

// logKey is a lockout key as logs may show it: a caller number masked
// like everywhere else in the logs.
func (g *Gateway) logKey(key string) string {
	if n, ok := strings.CutPrefix(key, callerKeyPrefix); ok {
		return callerKeyPrefix + g.cfg.CallerMask.Apply(n)
	}
	return key
}
