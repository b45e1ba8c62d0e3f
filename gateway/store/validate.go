package store

import "strings"

// Limits of the rules below; they match the config file's validation so that
// every room a valid config declares can be stored.
const (
	maxNameLen      = 64
	minPINLen       = 4
	maxPINLen       = 12
	maxAliasLen     = 32
	maxAliases      = 32
	minNumericIDLen = 3
	maxNumericIDLen = 16
)

// ValidateRoomName checks a room name against ^[a-z0-9][a-z0-9_-]{0,63}$:
// lower case only, so that sip:NAME@domain, the SFU room and the API path
// all spell the room the same way.
func ValidateRoomName(name string) error {
	if name == "" {
		return invalid("name", "is required")
	}
	if len(name) > maxNameLen {
		return invalid("name", "must be at most %d characters", maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := isLowerAlnum(c) || (i > 0 && (c == '-' || c == '_'))
		if !ok {
			return invalid("name", "must be lower-case letters, digits, - or _, starting with a letter or digit")
		}
	}
	return nil
}

// ValidatePIN checks that pin is 4 to 12 ASCII digits. Field names the field
// in the error ("pin" or "host_pin").
func ValidatePIN(field, pin string) error {
	if len(pin) < minPINLen || len(pin) > maxPINLen || !allDigits(pin) {
		return invalid(field, "must be %d to %d digits", minPINLen, maxPINLen)
	}
	return nil
}

// ValidateAlias checks a dialable alias: an optional leading '+' then 1 to
// 32 of letters, digits, '*', '#', '.', '_' or '-' (what a SIP user part of
// a phone number or short name looks like; the same rule as the config file).
func ValidateAlias(alias string) error {
	s := strings.TrimPrefix(alias, "+")
	if s == "" || len(s) > maxAliasLen {
		return invalid("aliases", "%q must be 1 to %d characters", alias, maxAliasLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLowerAlnum(c) && (c < 'A' || c > 'Z') && !strings.ContainsRune("*#._-", rune(c)) {
			return invalid("aliases", "%q may hold only letters, digits, *, #, ., _ and - after an optional +", alias)
		}
	}
	return nil
}

// NormalizeSIPUser is how dialable identifiers are compared: ASCII lower
// case, so "Standup" and "standup" reach the same room.
func NormalizeSIPUser(user string) string { return strings.ToLower(user) }

// normalize returns r ready to store: aliases lower-cased and never nil.
func (r Room) normalize() Room {
	r = r.clone()
	for i, a := range r.Aliases {
		r.Aliases[i] = NormalizeSIPUser(a)
	}
	return r
}

// validate checks the rules a single room must satisfy on its own; rules
// across rooms (uniqueness) are checked by the store inside its transaction.
// r must be normalized.
func (r Room) validate() error {
	if err := ValidateRoomName(r.Name); err != nil {
		return err
	}
	if r.PIN != "" {
		if err := ValidatePIN("pin", r.PIN); err != nil {
			return err
		}
	}
	if r.HostPIN != "" {
		if err := ValidatePIN("host_pin", r.HostPIN); err != nil {
			return err
		}
		if r.HostPIN == r.PIN {
			return invalid("host_pin", "must differ from pin")
		}
	}
	if r.NumericID != "" && (len(r.NumericID) < minNumericIDLen || len(r.NumericID) > maxNumericIDLen || !allDigits(r.NumericID)) {
		return invalid("numeric_id", "must be %d to %d digits", minNumericIDLen, maxNumericIDLen)
	}
	if r.WaitForHost && r.HostPIN == "" {
		return invalid("wait_for_host", "needs a host_pin, or nobody could start the room")
	}
	if r.PINOnDirectDial && r.PIN == "" {
		return invalid("pin_on_direct_dial", "needs a pin")
	}
	if len(r.Aliases) > maxAliases {
		return invalid("aliases", "at most %d aliases", maxAliases)
	}
	seen := make(map[string]bool, len(r.Aliases)+2)
	seen[r.Name] = true
	if r.NumericID != "" {
		seen[r.NumericID] = true
	}
	for _, a := range r.Aliases {
		if err := ValidateAlias(a); err != nil {
			return err
		}
		if seen[a] {
			return invalid("aliases", "%q is listed twice or repeats the room's name or numeric id", a)
		}
		seen[a] = true
	}
	return nil
}

func isLowerAlnum(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
