package api

import (
	"encoding/json"
	"net/http"
)

// writeJSON writes v with status. Responses carry PINs and tokens, so they
// must not be cached by browsers or proxies.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// The status line is gone; a failed write means the client left.
	_ = json.NewEncoder(w).Encode(v)
}
