package web

import "net/http"

// csp allows only our own scripts and styles. connect-src lists ws: and
// wss: explicitly because older browsers do not match WebSocket URLs
// against 'self'. media-src allows blob: and mediastream: for srcObject.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; media-src 'self' blob: mediastream:; " +
	"connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// secure sets headers every response of the web client needs. The room URL
// can carry a join token, so no Referer leaves the page.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Permissions-Policy", "camera=(self), microphone=(self), autoplay=(self)")
		next.ServeHTTP(w, r)
	})
}
