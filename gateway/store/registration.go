package store

import (
	"time"
	"unicode/utf8"
)

// Registration is one binding of a SIP address-of-record to a contact,
// made by a REGISTER (RFC 3261 §10.3): where a registered browser or
// softphone can be reached, until ExpiresAt.
type Registration struct {
	// AOR is the address-of-record, "sip:alice@conf.example.com".
	AOR string
	// Contact is the URI the client registered; with its AOR it is the
	// binding's identity.
	Contact string
	// Username is who authenticated the REGISTER.
	Username string
	// Transport ("udp", "tcp", "tls", "ws", "wss") and Source ("ip:port")
	// say how the REGISTER came, and so how the gateway reaches the
	// client: a browser's Contact is an ".invalid" host (RFC 7118 §5)
	// and only its socket leads back to it.
	Transport string
	Source    string
	// UserAgent is the client's User-Agent header.
	UserAgent string
	// CallID and CSeq order the client's REGISTERs (RFC 3261 §10.3 step 7).
	CallID string
	CSeq   uint32
	// InstanceID is the +sip.instance Contact parameter (RFC 5626 §4.1),
	// empty when the client sent none.
	InstanceID string
	ExpiresAt  time.Time
	// UpdatedAt is set by the store.
	UpdatedAt time.Time
}

// Bounds on stored registration fields; REGISTERs come from the network.
const (
	maxAORLen      = 256
	maxContactLen  = 1024
	maxRegFieldLen = 256
)

// validate checks a binding before it is stored.
func (r Registration) validate() error {
	switch {
	case r.AOR == "" || len(r.AOR) > maxAORLen || !utf8.ValidString(r.AOR):
		return invalid("aor", "must be 1 to %d bytes of UTF-8", maxAORLen)
	case r.Contact == "" || len(r.Contact) > maxContactLen || !utf8.ValidString(r.Contact):
		return invalid("contact", "must be 1 to %d bytes of UTF-8", maxContactLen)
	case r.ExpiresAt.IsZero():
		return invalid("expires_at", "must be set")
	}
	for field, v := range map[string]string{
		"username": r.Username, "transport": r.Transport, "source": r.Source,
		"user_agent": r.UserAgent, "call_id": r.CallID, "instance_id": r.InstanceID,
	} {
		if len(v) > maxRegFieldLen || !utf8.ValidString(v) {
			return invalid(field, "must be at most %d bytes of UTF-8", maxRegFieldLen)
		}
	}
	return nil
}
