package sdp

import (
	"testing"

	"github.com/roombridge/roombridge/gateway/media/codec"
)

func TestCodecID(t *testing.T) {
	tests := []struct {
		c    Codec
		want codec.ID
	}{
		{PCMU, codec.PCMU},
		{Codec{PT: 8, Name: "pcma", ClockRate: 8000}, codec.PCMA},
		{G722, codec.G722},
		{Opus, codec.Opus},
		{Codec{PT: 96, Name: "opus", ClockRate: 8000}, codec.Unknown},
		{Codec{PT: 101, Name: "telephone-event", ClockRate: 8000}, codec.Unknown},
		{H264, codec.H264},
	}
	for _, tt := range tests {
		if got := tt.c.ID(); got != tt.want {
			t.Errorf("%v.ID() = %v, want %v", tt.c, got, tt.want)
		}
	}
}
