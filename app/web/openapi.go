package web

import (
	_ "embed"
	"encoding/json"
	"net/http"
)

// openAPIDoc describes /api/v1. It is written by hand next to the handlers
// and held to them by the conformance test in client_api_test.go, which
// validates real responses against it.
//
//go:embed openapi.json
var openAPIDoc []byte

// serveOpenAPI serves the API's description. It needs no token: it holds
// nothing of the workspace, and tools read it before they have one.
func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	info(r.Context()).route = r.Pattern
	writeJSON(w, http.StatusOK, json.RawMessage(openAPIDoc))
}
