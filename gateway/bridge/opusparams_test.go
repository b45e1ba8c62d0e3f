package bridge

import "testing"

// TestParseOpusFmtp: the receive parameters of RFC 7587 §6.1 that the leg
// honours, read case-insensitively; odd values are ignored.
func TestParseOpusFmtp(t *testing.T) {
	for _, tc := range []struct {
		fmtp string
		want OpusParams
	}{
		{"", OpusParams{}},
		{"minptime=10;useinbandfec=1", OpusParams{FEC: true}},
		{"useinbandfec=0; maxplaybackrate=8000", OpusParams{MaxPlaybackRate: 8000}},
		{"MaxPlaybackRate=16000;UseInbandFEC=1;stereo=0", OpusParams{FEC: true, MaxPlaybackRate: 16000}},
		{"maxplaybackrate=100;useinbandfec=yes", OpusParams{}},
		{"maxplaybackrate=96000", OpusParams{}},
	} {
		if got := ParseOpusFmtp(tc.fmtp); got != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.fmtp, got, tc.want)
		}
	}
	if c := (OpusParams{FEC: true, MaxPlaybackRate: 8000}).encoderConfig(); c.NoFEC || c.LossPercent == 0 || c.MaxPlaybackRate != 8000 {
		t.Errorf("encoder config %+v", c)
	}
	if c := (OpusParams{}).encoderConfig(); !c.NoFEC || c.LossPercent != 0 {
		t.Errorf("encoder config without FEC %+v", c)
	}
}
