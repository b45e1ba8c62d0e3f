package sipws

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// OriginCheck reports whether a page at origin (the handshake's Origin
// header, never empty) may open a SIP socket. Browsers always send Origin
// on a WebSocket handshake (RFC 6455 §4.1), so this is what keeps other
// sites' pages from using a visitor's browser to reach the gateway.
type OriginCheck func(origin string, r *http.Request) bool

// AllowOrigins allows exactly the listed origins ("https://meet.example.com",
// "http://127.0.0.1:8080"), compared after lower-casing the scheme and host
// and dropping default ports and trailing slashes; "*" allows any origin.
func AllowOrigins(origins ...string) OriginCheck {
	allowed := make(map[string]bool, len(origins))
	for _, o := range origins {
		if o == "*" {
			return func(string, *http.Request) bool { return true }
		}
		if n, ok := NormalizeOrigin(o); ok {
			allowed[n] = true
		}
	}
	return func(origin string, _ *http.Request) bool {
		n, ok := NormalizeOrigin(origin)
		return ok && allowed[n]
	}
}

// SameHostOrigin allows pages served by the gateway itself when it has no
// configured public URL: an origin with this scheme and port whose host is
// the host the client used to reach the SIP socket (its Host header). A
// page on another site has another host, so it is refused.
func SameHostOrigin(scheme, port string) OriginCheck {
	return func(origin string, r *http.Request) bool {
		u, err := url.Parse(origin)
		if err != nil || !strings.EqualFold(u.Scheme, scheme) {
			return false
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		return strings.EqualFold(u.Hostname(), strings.Trim(host, "[]")) && originPort(u) == port
	}
}

// AnyOf allows an origin that any of checks allows.
func AnyOf(checks ...OriginCheck) OriginCheck {
	return func(origin string, r *http.Request) bool {
		for _, c := range checks {
			if c != nil && c(origin, r) {
				return true
			}
		}
		return false
	}
}

// NormalizeOrigin returns scheme://host[:port] in lower case without a
// default port, or false when s is not an http(s) origin.
func NormalizeOrigin(s string) (string, bool) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" && p != defaultPort(scheme) {
		host += ":" + p
	}
	return scheme + "://" + host, true
}

func originPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return defaultPort(strings.ToLower(u.Scheme))
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}
