package dtmf

import (
	"errors"
	"testing"
)

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Mode
	}{
		{"", ModeAuto},
		{"auto", ModeAuto},
		{" AUTO ", ModeAuto},
		{"rfc4733", ModeRFC4733},
		{"RFC2833", ModeRFC4733},
		{"info", ModeINFO},
		{"sip-info", ModeINFO},
		{"inband", ModeInband},
		{"In-Band", ModeInband},
	} {
		got, err := ParseMode(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseMode(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		var m Mode
		if err := m.UnmarshalText([]byte(tc.in)); err != nil || m != tc.want {
			t.Errorf("UnmarshalText(%q) = %v, %v", tc.in, m, err)
		}
		if b, _ := got.MarshalText(); string(b) != got.String() {
			t.Errorf("MarshalText %q", b)
		}
	}
	if _, err := ParseMode("dtmf"); !errors.Is(err, ErrUnknownMode) {
		t.Errorf("unknown mode: %v", err)
	}
	var m Mode
	if err := m.UnmarshalText([]byte("x")); err == nil || m != ModeUnknown {
		t.Errorf("UnmarshalText(x) = %v, %v", m, err)
	}
	if ModeUnknown.String() != "unknown" || Source(7).String() != "unknown" || SourceInband.String() != "inband" {
		t.Error("String")
	}
}

func TestModeSources(t *testing.T) {
	for _, tc := range []struct {
		mode              Mode
		te                bool // the peer offered telephone-event
		rtp, info, inband bool
	}{
		{ModeAuto, true, true, true, false},
		{ModeAuto, false, true, true, true},
		{ModeRFC4733, true, true, false, false},
		{ModeRFC4733, false, true, false, false},
		{ModeINFO, true, false, true, false},
		{ModeInband, true, false, false, true},
		{ModeUnknown, false, false, false, false},
	} {
		got := [3]bool{tc.mode.Accepts(SourceRFC4733, tc.te), tc.mode.Accepts(SourceINFO, tc.te), tc.mode.Accepts(SourceInband, tc.te)}
		if got != [3]bool{tc.rtp, tc.info, tc.inband} {
			t.Errorf("%v te=%v: accepts %v", tc.mode, tc.te, got)
		}
		if tc.mode.Inband(tc.te) != tc.inband {
			t.Errorf("%v te=%v: Inband %v", tc.mode, tc.te, !tc.inband)
		}
	}
}

func TestEventCodes(t *testing.T) {
	for code := range uint8(16) {
		key, ok := EventKey(code)
		if !ok {
			t.Fatalf("code %d", code)
		}
		if c, err := EventCode(key); err != nil || c != code {
			t.Errorf("%q → %d %v", key, c, err)
		}
	}
	if _, ok := EventKey(16); ok {
		t.Error("flash is not a digit")
	}
	if c, err := EventCode('d'); err != nil || c != 15 {
		t.Errorf("'d' → %d %v", c, err)
	}
	if _, err := ParseEvent(nil); !errors.Is(err, ErrShortPayload) {
		t.Errorf("ParseEvent(nil): %v", err)
	}
	if _, err := (Event{}).MarshalTo(make([]byte, 2)); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("MarshalTo short: %v", err)
	}
	if _, err := NewTone('x', 8000, -10); err == nil {
		t.Error("tone for x")
	}
	if _, err := NewTone('1', 100, -10); err == nil {
		t.Error("tone at 100 Hz")
	}
}
