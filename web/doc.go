// Package web is Roombridge's built-in web client: a landing page, the room
// page that joins the embedded SFU over the WebSocket signalling at /v1/rtc
// (protocol in package sfu, protocol.go), and the admin dashboard that drives
// the room API under /v1/. Everything is plain HTML, CSS and ES modules
// embedded with go:embed, so the gateway stays one binary with no build step.
//
// Handler serves only pages and assets; cmd mounts it at "/" next to the API,
// the signalling endpoint and /metrics. Nothing in the project imports web
// except cmd.
package web
