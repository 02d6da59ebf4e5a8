package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"parley/app"
	"parley/views/settings"
	"parley/views/ui"
)

// Settings → Retention: how long the workspace keeps messages, files and
// deleted clients (app.RetentionPolicy), swept daily by jobs/retention.go.

func (s *Server) showRetention(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	p, err := t.DB.RetentionPolicy(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.renderRetention(w, r, t, http.StatusOK, p, retentionForm(p))
}

func retentionForm(p app.RetentionPolicy) ui.Form {
	return ui.Form{Values: map[string]string{"messages_days": strconv.Itoa(p.MessagesDays), "messages_mode": p.MessagesMode,
		"attachments_days": strconv.Itoa(p.AttachmentsDays), "deleted_clients_days": strconv.Itoa(p.DeletedClientsDays)}}
}

func (s *Server) renderRetention(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, p app.RetentionPolicy, form ui.Form) {
	typ := app.EventRetentionSwept
	evs, err := t.DB.ListEvents(r.Context(), app.EventFilter{Type: &typ, Limit: 10})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	page := settings.RetentionPage{Shell: s.settingsShell(r, t, "How long "+t.Tenant.Name+" keeps what it holds."),
		Tabs: settingsTabs(t.User, "retention"), Policy: p, Form: form}
	for _, ev := range evs {
		var res app.SweepResult
		_ = json.Unmarshal(ev.Payload, &res) // written by Sweep from this struct
		page.Sweeps = append(page.Sweeps, settings.Sweep{At: ui.FormatTime(ev.OccurredAt), Result: res})
	}
	s.render(w, r, status, settings.Retention(page))
}

// retentionFrom reads the form; a field that is not a whole number is
// refused by name.
func retentionFrom(r *http.Request) (app.RetentionPolicy, error) {
	p := app.RetentionPolicy{MessagesMode: r.PostFormValue("messages_mode")}
	e := &app.Error{Code: app.EINVALID, Message: "Check the retention policy."}
	for field, dst := range map[string]*int{"messages_days": &p.MessagesDays, "attachments_days": &p.AttachmentsDays,
		"deleted_clients_days": &p.DeletedClientsDays} {
		v := strings.TrimSpace(r.PostFormValue(field))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			e.Fields = append(e.Fields, app.FieldError{Field: field, Message: "Enter a whole number of days, or 0 to keep everything."})
			continue
		}
		*dst = n
	}
	return p, e.OrNil()
}

func (s *Server) saveRetention(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	p, err := retentionFrom(r)
	if err == nil {
		p, err = t.DB.SetRetentionPolicy(r.Context(), p, t.actor())
	}
	if isFormError(err) {
		old, _ := t.DB.RetentionPolicy(r.Context())
		s.renderRetention(w, r, t, errorStatus(err), old,
			withError(formFrom(r, "messages_days", "messages_mode", "attachments_days", "deleted_clients_days"), err))
		return
	} else if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, "Retention policy saved. The next daily sweep applies it.")
	redirect(w, r, "/settings/retention")
}

// retentionJSON is the policy as the API shows it, with what it does.
type retentionJSON struct {
	app.RetentionPolicy
	Description []string `json:"description"`
}

func (s *Server) apiGetRetention(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	p, err := t.DB.RetentionPolicy(r.Context())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, retentionJSON{RetentionPolicy: p, Description: p.Describe()})
}

func (s *Server) apiPutRetention(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var p app.RetentionPolicy
	if err := decodeBody(w, r, &p); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	p, err := t.DB.SetRetentionPolicy(r.Context(), p, t.actor())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, retentionJSON{RetentionPolicy: p, Description: p.Describe()})
}
