// Package api is the REST room API under /v1/: rooms (create, list, read,
// change, delete), their participants (list, mute, kick) and join tokens for
// the web client. The OpenAPI 3.0 document of everything here is served at
// GET /v1/openapi.json and is embedded from openapi.json in this directory.
//
// Conventions, all documented in the OpenAPI file:
//   - Every route but /v1/openapi.json needs "Authorization: Bearer KEY".
//   - Request bodies are JSON (Content-Type application/json), at most
//     64 KiB, with no unknown fields.
//   - Every error is {"error": "...", "field": "..."} where field, when
//     present, is the JSON name of the offending request field. The status
//     code is chosen in one place, statusOf in errors.go.
//   - Lists are wrapped: {"rooms": [...]}, {"participants": [...]}.
package api
