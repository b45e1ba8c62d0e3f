package lksignal

import "testing"

func TestRTCURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ws://127.0.0.1:7880", "ws://127.0.0.1:7880/rtc"},
		{"http://lk.example:7880/", "ws://lk.example:7880/rtc"},
		{"https://lk.example", "wss://lk.example/rtc"},
		{"wss://lk.example/base", "wss://lk.example/base/rtc"},
	} {
		u, err := rtcURL(tc.in)
		if err != nil || u.String() != tc.want {
			t.Errorf("rtcURL(%q) = %v, %v; want %s", tc.in, u, err, tc.want)
		}
	}
}
