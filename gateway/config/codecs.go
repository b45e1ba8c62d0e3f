package config

import (
	"fmt"
	"slices"
	"strings"
)

// TrunkCodecNames are the audio codecs trunks[].codecs may list: the names
// SIP legs run, as SDP writes them (case does not matter).
var TrunkCodecNames = []string{"pcmu", "pcma", "g722", "opus"}

// validateCodecs checks a trunks[].codecs list: known names, each once.
func validateCodecs(key string, codecs []string, bad func(key, format string, args ...any)) {
	seen := map[string]bool{}
	for i, c := range codecs {
		name := strings.ToLower(c)
		k := fmt.Sprintf("%s[%d]", key, i)
		switch {
		case !slices.Contains(TrunkCodecNames, name):
			bad(k, "unknown codec %q; use %s", c, strings.Join(TrunkCodecNames, ", "))
		case seen[name]:
			bad(k, "%q listed twice", c)
		}
		seen[name] = true
	}
}
