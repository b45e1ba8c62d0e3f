package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/roombridge/roombridge/gateway/sip"
)

// NumberMask hides the middle of a caller's number in the name other
// participants see, keeping Prefix leading and Suffix trailing characters:
// {Prefix: 5, Suffix: 4} shows "+15551230100" as "+1555***0100". Numbers no
// longer than Prefix+Suffix are shown in full, and the zero value masks
// nothing. Only numbers are masked; a SIP user like "alice" is not a phone
// number and is shown as it is.
type NumberMask struct {
	Prefix, Suffix int
}

// Apply masks s when it is a phone number.
func (m NumberMask) Apply(s string) string {
	if m.Prefix <= 0 && m.Suffix <= 0 || !isNumber(s) || len(s) <= m.Prefix+m.Suffix {
		return s
	}
	return s[:max(m.Prefix, 0)] + "***" + s[len(s)-max(m.Suffix, 0):]
}

// isNumber reports whether s looks like a telephone number: an optional
// "+" and at least three digits.
func isNumber(s string) bool {
	s = strings.TrimPrefix(s, "+")
	if len(s) < 3 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// callerName is what the room shows for a caller: the From display name
// when there is one (a room system's "Board Room"), else the From user,
// masked when it is a number.
func callerName(from sip.Party, mask NumberMask) string {
	if n := CleanDisplayName(mask.Apply(from.DisplayName)); from.DisplayName != "" && n != "guest" {
		return n
	}
	if from.User == "" {
		return "phone"
	}
	return CleanDisplayName(mask.Apply(from.User))
}

// legIdentity is a SIP leg's participant identity: stable for a Call-ID
// (so logs of both sides can be matched) without showing the Call-ID,
// which some trunks build from internal addresses.
func legIdentity(callID string) string {
	sum := sha256.Sum256([]byte(callID))
	return "sip_" + hex.EncodeToString(sum[:8])
}

// Participant attributes of SIP callers beyond room.AttrNode.
const (
	// AttrRole is "host" on a caller who keyed the room's host PIN.
	AttrRole = "roombridge.role"
	// AttrViaNode names the node a PIN caller dialled when it was bridged
	// to the node of its room (nodeleg.go).
	AttrViaNode = "roombridge.via_node"
	roleHost    = "host"
)

// name is what the room shows for the caller: the name another node
// vouched for when it bridged the caller here, else callerName.
func (c *call) name() string {
	if c.bridged != nil && c.bridged.name != "" {
		return CleanDisplayName(c.bridged.name)
	}
	return callerName(c.ic.From(), c.g.cfg.CallerMask)
}
