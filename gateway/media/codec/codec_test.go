package codec

import "testing"

func TestParseAndProperties(t *testing.T) {
	tests := []struct {
		name, mime string
		id         ID
		clock      uint32
		rate       int
		wide       bool
	}{
		{"pcmu", "audio/PCMU", PCMU, 8000, 8000, false},
		{"PCMA", "audio/pcma", PCMA, 8000, 8000, false},
		{"g722", "audio/G722", G722, 8000, 16000, true},
		{"OPUS", "audio/opus", Opus, 48000, 48000, true},
		{"h264", "video/h264", H264, 90000, 0, false},
	}
	for _, tt := range tests {
		if got := Parse(tt.name); got != tt.id {
			t.Errorf("Parse(%q) = %v, want %v", tt.name, got, tt.id)
		}
		if got := ParseMIME(tt.mime); got != tt.id {
			t.Errorf("ParseMIME(%q) = %v, want %v", tt.mime, got, tt.id)
		}
		if tt.id.ClockRate() != tt.clock || tt.id.SampleRate() != tt.rate || tt.id.Wideband() != tt.wide {
			t.Errorf("%v: clock %d rate %d wideband %v", tt.id, tt.id.ClockRate(), tt.id.SampleRate(), tt.id.Wideband())
		}
		if tt.id.Audio() == tt.id.Video() {
			t.Errorf("%v: audio %v video %v", tt.id, tt.id.Audio(), tt.id.Video())
		}
	}
	for _, s := range []string{"", "G729", "telephone-event", "unknown"} {
		if got := Parse(s); got != Unknown {
			t.Errorf("Parse(%q) = %v, want Unknown", s, got)
		}
	}
	if Unknown.Audio() || Unknown.Video() || ID(200).String() != "unknown" {
		t.Error("Unknown or out-of-range IDs claim to be media")
	}
	if PCMU.TicksPer20ms() != 160 || G722.TicksPer20ms() != 160 || Opus.TicksPer20ms() != 960 {
		t.Error("timestamp steps per 20 ms")
	}
}
