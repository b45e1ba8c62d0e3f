package test

import (
	"net/http"

	// The browser tests serve the web client next to fakes of the SFU and
	// the API, so they need its handler without the gateway binary. This
	// is the one place under test/ that imports web.
	"github.com/roombridge/roombridge/web"
)

// webClient returns the web client's handler, as cmd mounts it at "/".
func webClient() http.Handler { return web.Handler(web.Config{}) }
