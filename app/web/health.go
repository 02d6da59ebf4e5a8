package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"time"
)

// healthz says the process is up; it touches nothing else.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	info(r.Context()).route = r.Pattern
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says whether Parley can serve: the control DB answers and the tenant
// manager accepts work. Replication lag is shown but makes the node unready
// only past --replica-max-lag: a slow or unreachable replica target is not a
// reason to stop serving, but changes unprotected for that long are.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	info(r.Context()).route = r.Pattern
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"control_db": "ok", "tenants": "ok", "replication": "off"}
	status := http.StatusOK
	if err := s.control.Ping(ctx); err != nil {
		checks["control_db"], status = err.Error(), http.StatusServiceUnavailable
	}
	if err := s.tenants.Usable(); err != nil {
		checks["tenants"], status = err.Error(), http.StatusServiceUnavailable
	}
	body := map[string]any{"checks": checks, "tenants_open": s.tenants.OpenCount()}
	if rep := s.tenants.Replicator(); rep != nil {
		h := rep.Health()
		lag := math.Round(h.MaxLag.Seconds()*1000) / 1000
		switch {
		case h.Severe:
			checks["replication"], status = fmt.Sprintf("severe: changes %.0fs old are not in the replica", lag), http.StatusServiceUnavailable
		case h.Lagging > 0:
			checks["replication"] = fmt.Sprintf("lagging: %d files, up to %.1fs behind", h.Lagging, lag)
		default:
			checks["replication"] = "ok"
		}
		// The target's address and error texts stay in the logs and on the
		// admin listener: /readyz is public.
		detail := map[string]any{"target": h.Target, "files": h.Files, "lagging_files": h.Lagging,
			"max_lag_seconds": lag, "errors": h.Errors, "files_pending": h.FilesPending}
		if !h.LastErrorAt.IsZero() {
			detail["last_error_at"] = h.LastErrorAt.UTC()
		}
		body["replication"] = detail
	}
	body["status"] = "ready"
	if status != http.StatusOK {
		body["status"] = "not ready"
	}
	writeJSON(w, status, body)
}
