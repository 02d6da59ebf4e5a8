package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"parley/app"
	"parley/views/client"
	"parley/views/ui"
)

// profileFields are the inputs of the client form shared by create and edit.
var profileFields = []string{"first_name", "middle_name", "last_name", "gender", "birth_date",
	"passport_number", "tax_pin", "comments", "owner_id", "tags", "language", "timezone", "currency",
	"preferred_channel"}

// clientUpdateFrom reads the client form. Every field is set, so an emptied
// input clears the value; custom fields come as cf_<key>.
func clientUpdateFrom(r *http.Request, fields []app.CustomField) app.ClientUpdate {
	v := func(k string) *string { s := r.PostFormValue(k); return &s }
	tags := app.SplitTags(r.PostFormValue("tags"))
	u := app.ClientUpdate{FirstName: v("first_name"), MiddleName: v("middle_name"), LastName: v("last_name"),
		Gender: v("gender"), BirthDate: v("birth_date"), PassportNumber: v("passport_number"), TaxPIN: v("tax_pin"),
		Comments: v("comments"), OwnerID: v("owner_id"), Tags: &tags, CustomFields: map[string]string{},
		Preferences: app.PreferencesUpdate{Language: v("language"), Timezone: v("timezone"),
			Currency: v("currency"), Channel: v("preferred_channel")}}
	for _, f := range fields {
		u.CustomFields[f.Key] = r.PostFormValue("cf_" + f.Key)
	}
	return u
}

// clientFormValues fills the form from a saved client, for editing.
func clientFormValues(c *app.Client, fields []app.CustomField) ui.Form {
	f := ui.Form{Errors: map[string]string{}, Values: map[string]string{
		"first_name": c.FirstName, "middle_name": c.MiddleName, "last_name": c.LastName, "gender": c.Gender,
		"birth_date": c.BirthDate, "passport_number": c.PassportNumber, "tax_pin": c.TaxPIN,
		"comments": c.Comments, "owner_id": c.OwnerID, "tags": strings.Join(c.Tags, ", "),
		"language": c.Preferences.Language, "timezone": c.Preferences.Timezone,
		"currency": c.Preferences.Currency, "preferred_channel": c.Preferences.Channel,
	}}
	for _, cf := range fields {
		f.Values["cf_"+cf.Key] = c.CustomValues[cf.Key]
	}
	return f
}

// renderClientForm fills in the owners and custom fields around p.
func (s *Server) renderClientForm(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, p client.FormPage) {
	var err error
	if p.Fields, err = t.DB.ListCustomFields(r.Context()); err != nil {
		s.renderError(w, r, err)
		return
	}
	if p.Owners, err = s.ownerOptions(r, t); err != nil {
		s.renderError(w, r, err)
		return
	}
	if p.Creating() {
		p.Shell = s.clientShell(r, t, "New client", "Only the first name is required; everything else can come later.")
	} else {
		p.Shell = s.clientShell(r, t, "Edit "+p.Client.Name(), "")
	}
	s.render(w, r, status, client.Form(p))
}

func (s *Server) showNewClient(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	form := ui.Form{Values: map[string]string{"status": string(app.ClientLead), "owner_id": t.User.ID}}
	s.renderClientForm(w, r, t, http.StatusOK, client.FormPage{Form: form})
}

// newClientFrom reads the create form: the profile plus an email and a
// phone. contactInputs names the form input of each contact, in order, so
// errors about contacts.N land next to the right input.
func newClientFrom(r *http.Request, fields []app.CustomField) (in app.ClientInput, contactInputs []string) {
	u := clientUpdateFrom(r, fields)
	in = app.ClientInput{FirstName: *u.FirstName, MiddleName: *u.MiddleName, LastName: *u.LastName,
		Gender: *u.Gender, BirthDate: *u.BirthDate, PassportNumber: *u.PassportNumber, TaxPIN: *u.TaxPIN,
		Comments: *u.Comments, Status: app.ClientStatus(r.PostFormValue("status")), OwnerID: *u.OwnerID,
		Tags: *u.Tags, CustomFields: u.CustomFields, Preferences: app.Preferences{Language: *u.Preferences.Language,
			Timezone: *u.Preferences.Timezone, Currency: *u.Preferences.Currency, Channel: *u.Preferences.Channel}}
	for _, c := range []struct {
		input string
		typ   app.ContactType
	}{{"contact_email", app.ContactEmail}, {"contact_phone", app.ContactPhone}} {
		if v := strings.TrimSpace(r.PostFormValue(c.input)); v != "" {
			in.Contacts = append(in.Contacts, app.ContactInput{Type: c.typ, Value: v})
			contactInputs = append(contactInputs, c.input)
		}
	}
	return in, contactInputs
}

// clientFormError puts err on the form: field errors next to their inputs
// (contacts.N.value on the input it came from), a contact that another
// client has as a conflict linking that client.
func clientFormError(form ui.Form, err error, contactInputs []string) (ui.Form, *client.Conflict) {
	form = withError(form, err)
	for field, msg := range form.Errors {
		for i, input := range contactInputs {
			if strings.HasPrefix(field, "contacts."+strconv.Itoa(i)+".") {
				form.Errors[input] = msg
			}
		}
	}
	if app.ErrorCode(err) == app.ECONFLICT && app.ErrorRef(err) != "" {
		return form, &client.Conflict{ClientID: app.ErrorRef(err), Message: app.ErrorMessage(err)}
	}
	return form, nil
}

func (s *Server) createClient(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	fields, err := t.DB.ListCustomFields(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	in, contactInputs := newClientFrom(r, fields)
	form := formFrom(r, append(profileFields, "status", "contact_email", "contact_phone")...)
	for _, f := range fields {
		form.Values["cf_"+f.Key] = r.PostFormValue("cf_" + f.Key)
	}
	if r.PostFormValue("confirm_duplicates") != "true" {
		dups, err := t.DB.FindDuplicates(r.Context(), app.DuplicateQuery{FirstName: in.FirstName,
			LastName: in.LastName, BirthDate: in.BirthDate, Contacts: in.Contacts})
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		if len(dups) > 0 {
			s.renderClientForm(w, r, t, http.StatusOK, client.FormPage{Form: form, Duplicates: dups}) // a question, not an error
			return
		}
	}
	c, err := t.DB.CreateClient(r.Context(), in, t.actor())
	if err != nil {
		s.logIfInternal(r, err)
		form, conflict := clientFormError(form, err, contactInputs)
		s.renderClientForm(w, r, t, errorStatus(err), client.FormPage{Form: form, Conflict: conflict})
		return
	}
	s.flash(r, ui.AlertSuccess, "Client created.")
	redirect(w, r, "/clients/"+url.PathEscape(c.ID))
}

func (s *Server) showEditClient(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	c, err := t.DB.ClientByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.clientError(w, r, err)
		return
	}
	fields, err := t.DB.ListCustomFields(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.renderClientForm(w, r, t, http.StatusOK, client.FormPage{Client: c, Form: clientFormValues(c, fields)})
}

func (s *Server) saveClient(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	c, err := t.DB.ClientByID(r.Context(), id)
	if err != nil {
		s.clientError(w, r, err)
		return
	}
	fields, err := t.DB.ListCustomFields(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if _, err := t.DB.UpdateClient(r.Context(), id, clientUpdateFrom(r, fields), t.actor()); err != nil {
		if !isFormError(err) {
			s.clientError(w, r, err) // merged or deleted meanwhile, or an outage
			return
		}
		form := formFrom(r, profileFields...)
		for _, f := range fields {
			form.Values["cf_"+f.Key] = r.PostFormValue("cf_" + f.Key)
		}
		s.renderClientForm(w, r, t, errorStatus(err), client.FormPage{Client: c, Form: withError(form, err)})
		return
	}
	s.flash(r, ui.AlertSuccess, "Changes saved.")
	redirect(w, r, "/clients/"+url.PathEscape(id))
}

// checkDuplicates answers the create form as it is typed with the clients
// that look like the one being entered.
func (s *Server) checkDuplicates(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	in, _ := newClientFrom(r, nil)
	dups, err := t.DB.FindDuplicates(r.Context(), app.DuplicateQuery{FirstName: in.FirstName,
		LastName: in.LastName, BirthDate: in.BirthDate, Contacts: in.Contacts})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, client.Duplicates(client.DuplicatesPanel{Duplicates: dups}))
}
