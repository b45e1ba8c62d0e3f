// Package webhook tells a meeting app what happens in its rooms and calls,
// without polling: a signed JSON POST per event to each configured
// endpoint subscribed to it.
//
// [Dispatcher.Emit] never blocks: it stamps the event (id, time), encodes
// it once and appends it to each subscribed endpoint's [Queue], a bounded
// queue that drops its oldest delivery when full (counted in metrics). One
// worker per endpoint sends its deliveries in order, retrying failures
// (network errors, timeouts, 408, 429 and 5xx) with exponential backoff and
// full jitter; other 4xx answers are final. A slow or dead endpoint only
// delays its own deliveries.
//
// Every request carries
//
//	X-Roombridge-Timestamp: <unix seconds>
//	X-Roombridge-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// so a receiver can check that the body came from us and is recent (see
// [Verify]); signing the timestamp with the body stops an old request from
// being replayed with a new timestamp.
package webhook
