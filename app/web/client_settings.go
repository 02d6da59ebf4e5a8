package web

import (
	"net/http"
	"strings"

	"parley/app"
	"parley/views/settings"
	"parley/views/ui"
)

func (s *Server) showCustomFields(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.renderCustomFields(w, r, t, http.StatusOK, ui.Form{Values: map[string]string{"type": "text"}})
}

func (s *Server) renderCustomFields(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, form ui.Form) {
	fields, err := t.DB.ListCustomFields(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, settings.CustomFields(settings.CustomFieldsPage{
		Shell: s.settingsShell(r, t, "What your team records about every client."),
		Tabs:  settingsTabs(t.User, "fields"), Fields: fields, Form: form}))
}

func (s *Server) createCustomField(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	in := app.CustomFieldInput{Key: r.PostFormValue("key"), Label: r.PostFormValue("label"),
		Type: app.CustomFieldType(r.PostFormValue("type")), Options: strings.Split(r.PostFormValue("options"), "\n"),
		Required: r.PostFormValue("required") == "true"}
	if _, err := t.DB.CreateCustomField(r.Context(), in, t.actor()); err != nil {
		s.logIfInternal(r, err)
		form := withError(formFrom(r, "key", "label", "type", "options", "required"), err)
		s.renderCustomFields(w, r, t, errorStatus(err), form)
		return
	}
	s.flash(r, ui.AlertSuccess, "Field added. It shows on every client's profile and form.")
	redirect(w, r, "/settings/fields")
}

func (s *Server) deleteCustomField(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	if err := t.DB.DeleteCustomField(r.Context(), r.PathValue("id"), t.actor()); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, "Field removed.")
	redirect(w, r, "/settings/fields")
}

func (s *Server) showWorkspaceSettings(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	ws, err := t.DB.WorkspaceSettings(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.renderWorkspaceSettings(w, r, t, http.StatusOK, ui.Form{Values: map[string]string{"default_country": ws.DefaultCountry}})
}

func (s *Server) renderWorkspaceSettings(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, form ui.Form) {
	s.render(w, r, status, settings.Workspace(settings.WorkspacePage{
		Shell: s.settingsShell(r, t, "How "+t.Tenant.Name+" works."), Tabs: settingsTabs(t.User, "workspace"),
		Form: form, Countries: app.Countries()}))
}

func (s *Server) saveWorkspaceSettings(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	if err := t.DB.SetDefaultCountry(r.Context(), r.PostFormValue("default_country"), t.actor()); err != nil {
		s.logIfInternal(r, err)
		s.renderWorkspaceSettings(w, r, t, errorStatus(err), withError(formFrom(r, "default_country"), err))
		return
	}
	s.flash(r, ui.AlertSuccess, "Settings saved.")
	redirect(w, r, "/settings/workspace")
}
