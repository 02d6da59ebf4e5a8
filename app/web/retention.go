package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

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
	preview, err := s.previewOf(r, t, p, false, nil)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.renderRetention(w, r, t, http.StatusOK, p, retentionForm(p), preview)
}

func retentionForm(p app.RetentionPolicy) ui.Form {
	return ui.Form{Values: map[string]string{"messages_days": strconv.Itoa(p.MessagesDays), "messages_mode": p.MessagesMode,
		"attachments_days": strconv.Itoa(p.AttachmentsDays), "deleted_clients_days": strconv.Itoa(p.DeletedClientsDays)}}
}

// previewOf counts what policy p would sweep now, for the preview card;
// typed says p is the form's, not saved. A policy refused (invalid, or p
// itself invalid) gets no counts, only why.
func (s *Server) previewOf(r *http.Request, t *tenantReq, p app.RetentionPolicy, typed bool, invalid error) (settings.RetentionPreviewView, error) {
	view := settings.RetentionPreviewView{Policy: p, Typed: typed}
	err := invalid
	if err == nil {
		view.Counts, err = t.DB.RetentionPreview(r.Context(), p)
	}
	if isFormError(err) {
		view.Error = "Correct the policy below to see what it would sweep."
		return view, nil
	}
	return view, err
}

// renderRetention shows the page: the saved policy p, the form and the
// preview card.
func (s *Server) renderRetention(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, p app.RetentionPolicy,
	form ui.Form, preview settings.RetentionPreviewView) {
	typ := app.EventRetentionSwept
	evs, err := t.DB.ListEvents(r.Context(), app.EventFilter{Type: &typ, Limit: 10})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	page := settings.RetentionPage{Shell: s.settingsShell(r, t, "How long "+t.Tenant.Name+" keeps what it holds."),
		Tabs: settingsTabs(t.User, "retention"), Policy: p, Form: form, Preview: preview}
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
		preview, perr := s.previewOf(r, t, p, true, err)
		if perr != nil {
			s.renderError(w, r, perr)
			return
		}
		s.renderRetention(w, r, t, errorStatus(err), old,
			withError(formFrom(r, "messages_days", "messages_mode", "attachments_days", "deleted_clients_days"), err), preview)
		return
	} else if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, "Retention policy saved. The next daily sweep applies it.")
	redirect(w, r, "/settings/retention")
}

// retentionPreviewID is the preview card's element id: htmx asks for it
// by name as the form changes.
const retentionPreviewID = "retention-preview"

// previewRetention counts what the policy in the form would sweep, saving
// nothing: the card alone for htmx as the admin types, or the page with
// the form as typed for a browser without JavaScript (its Preview button).
func (s *Server) previewRetention(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	p, err := retentionFrom(r)
	if err == nil {
		err = p.Normalize()
	}
	view, verr := s.previewOf(r, t, p, true, err)
	if verr != nil {
		s.renderError(w, r, verr)
		return
	}
	status, form := http.StatusOK, formFrom(r, "messages_days", "messages_mode", "attachments_days", "deleted_clients_days")
	if err != nil {
		status, form = errorStatus(err), withError(form, err)
	}
	if isFragment(r, retentionPreviewID) {
		s.render(w, r, status, settings.RetentionPreviewCard(view))
		return
	}
	saved, err := t.DB.RetentionPolicy(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.renderRetention(w, r, t, status, saved, form, view)
}

// retentionPreviewJSON is the answer of /api/v1/settings/retention/preview:
// the policy counted and what a sweep under it would remove now.
type retentionPreviewJSON struct {
	Policy app.RetentionPolicy `json:"policy"`
	app.RetentionPreview
	At time.Time `json:"at"`
}

// apiPreviewRetention counts what the saved policy (GET) or the policy
// sent (POST, the shape PUT takes; nothing is saved) would sweep now.
func (s *Server) apiPreviewRetention(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var p app.RetentionPolicy
	var err error
	if r.Method == http.MethodPost {
		err = decodeBody(w, r, &p)
	} else {
		p, err = t.DB.RetentionPolicy(r.Context())
	}
	if err == nil {
		err = p.Normalize()
	}
	var out retentionPreviewJSON
	if err == nil {
		out = retentionPreviewJSON{Policy: p, At: s.cfg.Now().UTC()}
		out.RetentionPreview, err = t.DB.RetentionPreview(r.Context(), p)
	}
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
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
