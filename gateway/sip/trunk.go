package sip

import (
	"net/netip"
	"strings"
)

// allows reports whether the trunk accepts INVITEs from addr.
func (t *Trunk) allows(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range t.Allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// servesNumber reports whether number matches one of the trunk's Numbers
// patterns (all numbers when Numbers is empty).
func (t *Trunk) servesNumber(number string) bool {
	if len(t.Numbers) == 0 {
		return true
	}
	for _, p := range t.Numbers {
		if matchNumber(p, number) {
			return true
		}
	}
	return false
}

// matchNumber matches an exact number, a prefix ending in "*", or "*".
func matchNumber(pattern, number string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(number, prefix)
	}
	return pattern == number
}

// matchTrunks returns, in configuration order, the trunks whose Allow
// contains src and whose Numbers match the called number.
func matchTrunks(trunks []Trunk, src netip.Addr, called string) []*Trunk {
	var out []*Trunk
	for i := range trunks {
		t := &trunks[i]
		if t.allows(src) && t.servesNumber(called) {
			out = append(out, t)
		}
	}
	return out
}

// pickTrunk chooses among matching trunks: the first one whose Username is
// the digest username the request carries, else the first one.
func pickTrunk(cands []*Trunk, username string) *Trunk {
	if len(cands) == 0 {
		return nil
	}
	if username != "" {
		for _, t := range cands {
			if t.Username == username {
				return t
			}
		}
	}
	return cands[0]
}
