package main

import (
	"strings"

	"github.com/roombridge/roombridge/gateway/config"
	"github.com/roombridge/roombridge/gateway/sdp"
)

// trunkCodecs maps each trunk with a trunks[].codecs list to its codecs in
// that order (names checked by config validation).
func trunkCodecs(trunks []config.Trunk) map[string][]sdp.Codec {
	byName := map[string]sdp.Codec{"pcmu": sdp.PCMU, "pcma": sdp.PCMA, "g722": sdp.G722, "opus": sdp.Opus}
	out := map[string][]sdp.Codec{}
	for _, t := range trunks {
		for _, name := range t.Codecs {
			if c, ok := byName[strings.ToLower(name)]; ok {
				out[t.Name] = append(out[t.Name], c)
			}
		}
	}
	return out
}
