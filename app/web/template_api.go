package web

import (
	"net/http"

	"parley/app"
)

// templateList is the answer of GET /api/v1/templates.
type templateList struct {
	Data []app.Template `json:"data"`
}

func (s *Server) apiListTemplates(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	ts, err := t.DB.ListTemplates(r.Context(), r.URL.Query().Get("q"))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, templateList{Data: nonNil(ts)})
}

func (s *Server) apiGetTemplate(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	tpl, err := t.DB.TemplateByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tpl)
}

func (s *Server) apiCreateTemplate(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var in app.TemplateInput
	if err := decodeBody(w, r, &in); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	tpl, err := t.DB.CreateTemplate(r.Context(), in, t.actor())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/templates/"+tpl.ID)
	writeJSON(w, http.StatusCreated, tpl)
}

func (s *Server) apiUpdateTemplate(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var in app.TemplateInput
	if err := decodeBody(w, r, &in); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	tpl, err := t.DB.UpdateTemplate(r.Context(), r.PathValue("id"), in, t.actor())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tpl)
}

func (s *Server) apiDeleteTemplate(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	if err := t.DB.DeleteTemplate(r.Context(), r.PathValue("id"), t.actor()); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
