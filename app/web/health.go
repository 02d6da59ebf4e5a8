package web

import (
	"context"
	"net/http"
	"time"
)

// healthz says the process is up; it touches nothing else.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	info(r.Context()).route = r.Pattern
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says whether Parley can serve: the control DB answers and the tenant
// manager accepts work.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	info(r.Context()).route = r.Pattern
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"control_db": "ok", "tenants": "ok"}
	status := http.StatusOK
	if err := s.control.Ping(ctx); err != nil {
		checks["control_db"], status = err.Error(), http.StatusServiceUnavailable
	}
	if err := s.tenants.Usable(); err != nil {
		checks["tenants"], status = err.Error(), http.StatusServiceUnavailable
	}
	state := "ready"
	if status != http.StatusOK {
		state = "not ready"
	}
	writeJSON(w, status, map[string]any{"status": state, "checks": checks, "tenants_open": s.tenants.OpenCount()})
}
