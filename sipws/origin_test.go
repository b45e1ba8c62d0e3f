package sipws

import (
	"net/http/httptest"
	"testing"
)

func TestAllowOrigins(t *testing.T) {
	check := AllowOrigins("https://Meet.Example.com:443/", "http://127.0.0.1:8080", "not a url")
	r := httptest.NewRequest("GET", "http://sip.example.com:7443/", nil)
	for origin, want := range map[string]bool{
		"https://meet.example.com":      true,
		"https://meet.example.com:443":  true,
		"http://meet.example.com":       false,
		"https://meet.example.com:8443": false,
		"http://127.0.0.1:8080":         true,
		"http://127.0.0.1:8081":         false,
		"null":                          false,
		"https://evil.test":             false,
	} {
		if got := check(origin, r); got != want {
			t.Errorf("%s: %v, want %v", origin, got, want)
		}
	}
	if !AllowOrigins("*")("https://anything.test", r) {
		t.Error(`"*" refused an origin`)
	}
}

func TestSameHostOrigin(t *testing.T) {
	check := SameHostOrigin("http", "8080")
	for _, c := range []struct {
		host, origin string
		want         bool
	}{
		{"127.0.0.1:5066", "http://127.0.0.1:8080", true},
		{"localhost:5066", "http://localhost:8080", true},
		{"LOCALHOST:5066", "http://localhost:8080", true},
		{"[::1]:5066", "http://[::1]:8080", true},
		{"127.0.0.1:5066", "http://localhost:8080", false},
		{"127.0.0.1:5066", "https://127.0.0.1:8080", false},
		{"127.0.0.1:5066", "http://127.0.0.1:9090", false},
		{"gw.example.com:5066", "http://evil.test:8080", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = c.host
		if got := check(c.origin, r); got != c.want {
			t.Errorf("Host %s, Origin %s: %v, want %v", c.host, c.origin, got, c.want)
		}
	}
	// An https origin on the default port has no port in it.
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "gw.example.com:7443"
	if !SameHostOrigin("https", "443")("https://gw.example.com", r) {
		t.Error("https origin on the default port refused")
	}
}
