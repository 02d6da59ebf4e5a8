package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"parley/app"
	"parley/views/client"
	"parley/views/ui"
)

// The profile's contacts, addresses and notes: each change goes back to the
// profile, or re-renders it with the refused form and its errors.

func (s *Server) addContact(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	in := app.ContactInput{Type: app.ContactType(r.PostFormValue("type")), Value: r.PostFormValue("value"),
		Label: r.PostFormValue("label"), Verified: r.PostFormValue("verified") == "true"}
	if r.PostFormValue("confirm_duplicates") != "true" {
		// Another client with this number on another channel (a phone that
		// is someone's WhatsApp) is likely the same person: ask first. The
		// same contact of the same type is refused below, with a merge offer.
		dups, err := t.DB.FindDuplicates(r.Context(), app.DuplicateQuery{ExcludeID: id, Contacts: []app.ContactInput{in}})
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		if len(dups) > 0 && !slices.ContainsFunc(dups, func(d app.Duplicate) bool { return d.SameContact }) {
			form := formFrom(r, "type", "value", "label", "verified")
			s.renderProfile(w, r, t, http.StatusOK, func(p *client.ProfilePage) {
				p.ContactForm, p.ContactDuplicates = form, dups
			})
			return
		}
	}
	_, err := t.DB.AddContact(r.Context(), id, in, t.actor())
	if isFormError(err) {
		form, conflict := clientFormError(formFrom(r, "type", "value", "label", "verified"), err, nil)
		s.renderProfile(w, r, t, errorStatus(err), func(p *client.ProfilePage) {
			p.ContactForm, p.Conflict = form, conflict
			if p.ContactForm.Message == "" {
				p.ContactForm.Message = app.ErrorMessage(err)
			}
		})
		return
	}
	s.afterClientChange(w, r, id, err, "Contact added.", "#contacts")
}

func (s *Server) removeContact(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	err := t.DB.RemoveContact(r.Context(), id, r.PathValue("contactID"), t.actor())
	s.afterClientChange(w, r, id, err, "Contact removed.", "#contacts")
}

func (s *Server) addAddress(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	in := app.AddressInput{Type: app.AddressType(r.PostFormValue("type")), Label: r.PostFormValue("label"),
		Street: r.PostFormValue("street"), City: r.PostFormValue("city"), Region: r.PostFormValue("region"),
		PostalCode: r.PostFormValue("postal_code"), Country: r.PostFormValue("country"),
		IsDefault: r.PostFormValue("is_default") == "true"}
	_, err := t.DB.AddAddress(r.Context(), id, in, t.actor())
	if isFormError(err) {
		form := withError(formFrom(r, "type", "label", "street", "city", "region", "postal_code", "country", "is_default"), err)
		s.renderProfile(w, r, t, errorStatus(err), func(p *client.ProfilePage) { p.AddressForm = form })
		return
	}
	s.afterClientChange(w, r, id, err, "Address added.", "#addresses")
}

func (s *Server) makeDefaultAddress(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	err := t.DB.SetDefaultAddress(r.Context(), id, r.PathValue("addressID"), t.actor())
	s.afterClientChange(w, r, id, err, "Default address changed.", "#addresses")
}

func (s *Server) removeAddress(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	err := t.DB.RemoveAddress(r.Context(), id, r.PathValue("addressID"), t.actor())
	s.afterClientChange(w, r, id, err, "Address removed.", "#addresses")
}

func noteInputFrom(r *http.Request) app.NoteInput {
	return app.NoteInput{Type: app.NoteType(r.PostFormValue("type")), Body: r.PostFormValue("body"),
		Pinned: r.PostFormValue("pinned") == "true"}
}

func (s *Server) addNote(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	_, err := t.DB.AddNote(r.Context(), id, noteInputFrom(r), t.actor())
	if isFormError(err) {
		form := withError(formFrom(r, "type", "body", "pinned"), err)
		s.renderProfile(w, r, t, errorStatus(err), func(p *client.ProfilePage) { p.NoteForm = form })
		return
	}
	s.afterClientChange(w, r, id, err, "Note added.", "#notes")
}

func (s *Server) editNote(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	_, err := t.DB.EditNote(r.Context(), id, r.PathValue("noteID"), noteInputFrom(r), t.actor(), t.can(app.PermManageClients))
	s.afterClientChange(w, r, id, err, "Note saved.", "#notes")
}

func (s *Server) deleteNote(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	err := t.DB.DeleteNote(r.Context(), id, r.PathValue("noteID"), t.actor(), t.can(app.PermManageClients))
	s.afterClientChange(w, r, id, err, "Note deleted.", "#notes")
}

// isFormError reports whether err is about what was typed, so the form is
// shown again with it rather than an error page.
func isFormError(err error) bool {
	c := app.ErrorCode(err)
	return c == app.EINVALID || c == app.ECONFLICT
}

// showMergeClients lets the user pick the client to merge into this one
// (likely duplicates first, or by search), then compares the two.
func (s *Server) showMergeClients(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.renderMerge(w, r, t, http.StatusOK, r.URL.Query().Get("other"), "")
}

func (s *Server) renderMerge(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, otherID, problem string) {
	ctx := r.Context()
	id := r.PathValue("id")
	survivor, err := t.DB.ClientProfile(ctx, id)
	if err != nil {
		s.clientError(w, r, err)
		return
	}
	p := client.MergePage{Survivor: survivor, Query: r.URL.Query().Get("q"), Error: problem,
		Shell: s.clientShell(r, t, "Merge into "+survivor.Client.Name(), "")}
	if otherID != "" && otherID != id {
		other, err := t.DB.ClientProfile(ctx, otherID)
		switch app.ErrorCode(err) {
		case "":
			p.Other, p.Rows = other, mergeRows(survivor, other)
		case app.ENOTFOUND, app.EMOVED:
			p.Error = "Client not found. It may have been deleted or merged already."
		default:
			s.renderError(w, r, err)
			return
		}
	}
	if p.Other == nil {
		if p.Candidates, err = s.mergeCandidates(r, t, survivor, p.Query); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	s.render(w, r, status, client.Merge(p))
}

// mergeCandidates are the clients offered for a merge: a search's results,
// or this client's likely duplicates.
func (s *Server) mergeCandidates(r *http.Request, t *tenantReq, survivor *app.ClientProfile, q string) ([]app.Duplicate, error) {
	if q == "" {
		var contacts []app.ContactInput
		for _, k := range survivor.Contacts {
			contacts = append(contacts, app.ContactInput{Type: k.Type, Value: k.Value})
		}
		return t.DB.FindDuplicates(r.Context(), app.DuplicateQuery{ExcludeID: survivor.Client.ID,
			FirstName: survivor.Client.FirstName, LastName: survivor.Client.LastName,
			BirthDate: survivor.Client.BirthDate, Contacts: contacts})
	}
	page, err := t.DB.SearchClients(r.Context(), app.ClientFilter{Query: q, Limit: 20})
	if err != nil {
		return nil, err
	}
	var out []app.Duplicate
	for _, h := range page.Hits {
		if h.Client.ID != survivor.Client.ID {
			reason := ""
			if len(h.Contacts) > 0 {
				reason = h.Contacts[0].Display()
			}
			out = append(out, app.Duplicate{Client: h.Client, Reason: reason})
		}
	}
	return out, nil
}

// mergeRows lays the two clients' profile fields side by side.
func mergeRows(mine, theirs *app.ClientProfile) []client.MergeRow {
	a, b := mine.Client, theirs.Client
	row := func(field, label, x, y string) client.MergeRow {
		return client.MergeRow{Field: field, Label: label, Mine: x, Theirs: y}
	}
	rows := []client.MergeRow{
		row("first_name", "First name", a.FirstName, b.FirstName),
		row("middle_name", "Middle name", a.MiddleName, b.MiddleName),
		row("last_name", "Last name", a.LastName, b.LastName),
		row("gender", "Gender", a.Gender, b.Gender),
		row("birth_date", "Date of birth", a.BirthDate, b.BirthDate),
		row("passport_number", "Passport number", a.PassportNumber, b.PassportNumber),
		row("tax_pin", "Tax PIN", a.TaxPIN, b.TaxPIN),
		row("status", "Status", a.Status.Label(), b.Status.Label()),
		row("owner_id", "Owner", a.OwnerName, b.OwnerName),
		row("language", "Language", a.Preferences.Language, b.Preferences.Language),
		row("timezone", "Time zone", a.Preferences.Timezone, b.Preferences.Timezone),
		row("currency", "Currency", a.Preferences.Currency, b.Preferences.Currency),
		row("preferred_channel", "Preferred channel", a.Preferences.Channel, b.Preferences.Channel),
		row("comments", "Comments", a.Comments, b.Comments),
	}
	for _, f := range mine.CustomFields {
		rows = append(rows, row("custom_fields."+f.Key, f.Label, a.CustomValues[f.Key], b.CustomValues[f.Key]))
	}
	return rows
}

func (s *Server) mergeClients(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, app.Errorf(app.EINVALID, "The form could not be read."))
		return
	}
	in := app.MergeInput{OtherID: r.PostFormValue("other_id")}
	for k, v := range r.PostForm {
		if field, ok := strings.CutPrefix(k, "pick_"); ok && len(v) > 0 && v[0] == "theirs" {
			in.TakeOther = append(in.TakeOther, field)
		}
	}
	// Only to name the merged client in the confirmation; MergeClients
	// itself reports a missing or merged other client.
	other, _ := t.DB.ClientByID(r.Context(), in.OtherID)
	c, err := t.DB.MergeClients(r.Context(), id, in, t.actor())
	if isFormError(err) {
		s.renderMerge(w, r, t, errorStatus(err), in.OtherID, app.ErrorMessage(err))
		return
	} else if err != nil {
		s.clientError(w, r, err)
		return
	}
	msg := "Clients merged."
	if other != nil {
		msg = other.Name() + " was merged into " + c.Name() + "."
	}
	s.flash(r, ui.AlertSuccess, msg)
	redirect(w, r, "/clients/"+url.PathEscape(id))
}
