package api

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the OpenAPI 3.0 description of every route; TestOpenAPI
// keeps it in step with routes().
//
//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPIDoc)
	return nil
}
