package web

import (
	"net/http"

	"parley/app"
	"parley/views/layout"
	"parley/views/template"
	"parley/views/ui"
)

func (s *Server) showTemplates(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.renderTemplates(w, r, t, http.StatusOK, template.Page{})
}

// renderTemplates fills in the list around p's form state.
func (s *Server) renderTemplates(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, p template.Page) {
	p.Query = r.URL.Query().Get("q")
	var err error
	if p.Templates, err = t.DB.ListTemplates(r.Context(), p.Query); err != nil {
		s.renderError(w, r, err)
		return
	}
	p.CanManage = t.User.Can(app.PermManageTemplates)
	p.Shell = s.shellFor(r, t, layout.SectionTemplates, "Templates", "Ready-made replies, sent as written on any channel.")
	s.render(w, r, status, template.List(p))
}

func templateInputFrom(r *http.Request) app.TemplateInput {
	return app.TemplateInput{Name: r.PostFormValue("name"), Body: r.PostFormValue("body")}
}

func (s *Server) createTemplate(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	if _, err := t.DB.CreateTemplate(r.Context(), templateInputFrom(r), t.actor()); err != nil {
		s.logIfInternal(r, err)
		s.renderTemplates(w, r, t, errorStatus(err), template.Page{Form: withError(formFrom(r, "name", "body"), err)})
		return
	}
	s.flash(r, ui.AlertSuccess, "Template added.")
	redirect(w, r, "/templates")
}

func (s *Server) saveTemplate(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	_, err := t.DB.UpdateTemplate(r.Context(), id, templateInputFrom(r), t.actor())
	switch {
	case isFormError(err):
		s.renderTemplates(w, r, t, errorStatus(err), template.Page{EditID: id, EditForm: withError(formFrom(r, "name", "body"), err)})
		return
	case err != nil:
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, "Template saved.")
	redirect(w, r, "/templates")
}

func (s *Server) deleteTemplate(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	if err := t.DB.DeleteTemplate(r.Context(), r.PathValue("id"), t.actor()); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, "Template deleted.")
	redirect(w, r, "/templates")
}
