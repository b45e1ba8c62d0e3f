package store

import (
	"regexp"
	"testing"
)

var (
	nameOracle  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	pinOracle   = regexp.MustCompile(`^[0-9]{4,12}$`)
	aliasOracle = regexp.MustCompile(`^\+?[0-9A-Za-z*#._-]{1,32}$`)
)

// FuzzValidateRoomName checks the hand-written name check against the rule
// as a regular expression.
func FuzzValidateRoomName(f *testing.F) {
	for _, s := range []string{"standup", "a", "-x", "A", "", "a_b-c", "room\x00", "ä"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidateRoomName(s) == nil, nameOracle.MatchString(s); got != want {
			t.Fatalf("ValidateRoomName(%q) ok=%v, regexp says %v", s, got, want)
		}
	})
}

// FuzzValidatePIN checks the PIN and alias checks against their regexps.
func FuzzValidatePIN(f *testing.F) {
	for _, s := range []string{"1234", "123", "123456789012", "1234567890123", "12a4", "+4711", "*42#", "٣٣٣٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidatePIN("pin", s) == nil, pinOracle.MatchString(s); got != want {
			t.Fatalf("ValidatePIN(%q) ok=%v, regexp says %v", s, got, want)
		}
		if got, want := ValidateAlias(s) == nil, aliasOracle.MatchString(s); got != want {
			t.Fatalf("ValidateAlias(%q) ok=%v, regexp says %v", s, got, want)
		}
	})
}
