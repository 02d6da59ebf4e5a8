package web

import (
	"net/http"
	"net/url"

	"parley/views/ui"
)

// Legal hold exempts a client from retention sweeps and erasure
// (tenantdb.SetLegalHold); admins who manage retention set it.

// legalHold is the body and answer of /api/v1/clients/{id}/legal-hold.
type legalHold struct {
	LegalHold bool `json:"legal_hold"`
}

func (s *Server) apiGetLegalHold(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	if _, err := t.DB.ClientByID(r.Context(), r.PathValue("id")); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	hold, err := t.DB.LegalHold(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, legalHold{LegalHold: hold})
}

func (s *Server) apiPutLegalHold(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var in legalHold
	if err := decodeBody(w, r, &in); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if err := t.DB.SetLegalHold(r.Context(), r.PathValue("id"), in.LegalHold, t.actor()); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, in)
}

// setLegalHold is the profile's form.
func (s *Server) setLegalHold(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	hold := r.PostFormValue("legal_hold") == "true"
	if err := t.DB.SetLegalHold(r.Context(), id, hold, t.actor()); err != nil {
		s.clientError(w, r, err)
		return
	}
	msg := "Legal hold lifted: retention and erasure apply to this client again."
	if hold {
		msg = "On legal hold: retention sweeps and erasure leave this client alone until the hold is lifted."
	}
	s.flash(r, ui.AlertSuccess, msg)
	redirect(w, r, "/clients/"+url.PathEscape(id))
}
