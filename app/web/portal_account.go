package web

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"parley/app"
	"parley/tenantdb"
	"parley/views/portal"
	"parley/views/ui"
)

// The signed-in customer portal: the client's own conversation (every
// message of their chat but internal notes and the team's system lines,
// with their files), their reply (a website message from the address they
// signed in with), their consents and preferred channel, and copies of
// their data. Every query goes by the session's client id, so another
// client's message, file or export answers exactly like one that does not
// exist.

// portalPageSize is how many messages the conversation shows at once.
const portalPageSize = 30

// portalNotices are the conversation's, preferences' and data pages'
// one-time notices, by query code (fixed texts: a link cannot put words
// on the page).
var portalNotices = map[string]string{
	"sent":      "Sent. The team will answer here, and by email.",
	"consent":   "Saved. Your choice applies from now on.",
	"channel":   "Saved.",
	"requested": "We are preparing a copy of your data. It appears below when it is ready, usually within minutes.",
}

// accountShell is the frame of a signed-in portal page.
func (p *portalReq) accountShell(a *portalAccount, title string) portal.Shell {
	sh := p.shell(title, "", portal.SectionPortal)
	sh.NoIndex = true
	sh.Customer = a.ClientName
	return sh
}

// location is the client's time zone for showing times, UTC if they have none.
func (a *portalAccount) location() *time.Location {
	if a.Timezone != "" {
		if loc, err := time.LoadLocation(a.Timezone); err == nil {
			return loc
		}
	}
	return time.UTC
}

// portalTime shows a time to the client in their time zone.
func (a *portalAccount) portalTime(t time.Time) string {
	return t.In(a.location()).Format("2 Jan 2006, 15:04 MST")
}

// portalFormKey is a fresh key for the reply form: the message it posts is
// stored once, however often the form is sent.
func portalFormKey() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

var portalKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

func (s *Server) showPortalConversation(w http.ResponseWriter, r *http.Request, p *portalReq, a *portalAccount) {
	s.renderConversation(w, r, p, a, http.StatusOK, ui.Form{Values: map[string]string{"key": portalFormKey()}},
		portalNotices[r.URL.Query().Get("done")])
}

// renderConversation shows the client's messages (the newest page, or the
// page before ?before=) and the reply form.
func (s *Server) renderConversation(w http.ResponseWriter, r *http.Request, p *portalReq, a *portalAccount, status int, form ui.Form, notice string) {
	before := r.URL.Query().Get("before")
	msgs, more, err := p.DB.PortalMessages(r.Context(), a.ClientID, before, portalPageSize)
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	page := portal.ConversationPage{Shell: p.accountShell(a, "Your conversation"), Latest: before == "", Form: form,
		Notice: notice}
	for _, m := range msgs {
		page.Messages = append(page.Messages, accountMessage(m, p.Branding.Name, a))
	}
	if more {
		page.OlderHref = "/portal?before=" + url.QueryEscape(msgs[0].ID)
	}
	if len(msgs) > 0 {
		page.After = msgs[len(msgs)-1].ID
	}
	s.render(w, r, status, portal.AccountConversation(page))
}

// accountMessage is a message as the client sees it: theirs, or from the
// workspace (by its public name: never which teammate wrote it).
func accountMessage(m app.Message, brand string, a *portalAccount) portal.AccountMessage {
	out := portal.AccountMessage{ID: m.ID, Mine: m.Direction == app.DirectionIn, Author: brand, Text: m.Text,
		Via: portalVia(m.Transport), At: a.portalTime(m.CreatedAt), AtISO: m.CreatedAt.UTC().Format(time.RFC3339)}
	if out.Mine {
		out.Author = "You"
	}
	if s := m.Subject; s != "" && m.Transport == app.TransportEmail && !hasReplyPrefix(s) {
		out.Subject = s
	}
	for _, f := range m.Attachments {
		out.Files = append(out.Files, portal.AccountFile{ID: f.ID, Name: f.Filename, Size: portalSize(f.Size), Image: f.IsImage()})
	}
	return out
}

func hasReplyPrefix(subject string) bool {
	l := strings.ToLower(subject)
	return strings.HasPrefix(l, "re:") || strings.HasPrefix(l, "fwd:") || strings.HasPrefix(l, "fw:")
}

// portalVia says how a message travelled, for the client.
func portalVia(t app.Transport) string {
	switch t {
	case app.TransportEmail:
		return "by email"
	case app.TransportSMS:
		return "by SMS"
	case app.TransportPhone:
		return "by phone"
	case app.TransportWebsite:
		return "on the website"
	case app.TransportWhatsApp, app.TransportTelegram, app.TransportInstagram:
		return "on " + t.Label()
	}
	return ""
}

// portalSize is a file size for reading.
func portalSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d bytes", n)
	case n < 1000*1000:
		return fmt.Sprintf("%d KB", (n+500)/1000)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// showPortalNewMessages answers the conversation's poll: the messages
// after ?after=, or 204 when there are none.
func (s *Server) showPortalNewMessages(w http.ResponseWriter, r *http.Request, p *portalReq, a *portalAccount) {
	msgs, err := p.DB.PortalMessagesAfter(r.Context(), a.ClientID, r.URL.Query().Get("after"))
	if app.ErrorCode(err) == app.ENOTFOUND {
		// The message polled after is gone (a retention sweep): stop
		// polling; a reload starts afresh. 286 is htmx's "stop polling".
		w.WriteHeader(286)
		return
	} else if err != nil {
		s.logIfInternal(r, err)
		w.WriteHeader(http.StatusNoContent) // try again at the next poll
		return
	}
	if len(msgs) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	poll := portal.AccountPoll{After: msgs[len(msgs)-1].ID}
	for _, m := range msgs {
		poll.Messages = append(poll.Messages, accountMessage(m, p.Branding.Name, a))
	}
	s.render(w, r, http.StatusOK, portal.AccountNewMessages(poll))
}

// postPortalMessage stores the client's reply in their chat, as a website
// message from the address they signed in with: it arrives in the team's
// inbox unread, live. The form's key makes a double submit store one.
func (s *Server) postPortalMessage(w http.ResponseWriter, r *http.Request, p *portalReq, a *portalAccount) {
	r.Body = http.MaxBytesReader(w, r.Body, maxComposerBody)
	perr := r.ParseMultipartForm(8 << 20) // #nosec G120 -- the body is capped by http.MaxBytesReader on the line above
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	form := ui.Form{Values: map[string]string{"text": r.PostFormValue("text"), "key": r.PostFormValue("key")}, Errors: map[string]string{}}
	refuse := func(err error) {
		s.renderConversation(w, r, p, a, http.StatusUnprocessableEntity, withError(form, err), "")
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(perr, &tooBig):
		refuse(app.InvalidField("attachments", "Attach at most 10 files of up to 10 MB each to one message."))
		return
	case perr != nil && !errors.Is(perr, http.ErrNotMultipart):
		refuse(app.InvalidField("attachments", "The message could not be read; please attach the files again."))
		return
	}
	if !portalKeyPattern.MatchString(form.Value("key")) {
		form.Values["key"] = portalFormKey()
		refuse(app.Errorf(app.EINVALID, "This form was out of date. Check your message and send it again."))
		return
	}
	text := strings.TrimSpace(strings.ReplaceAll(form.Value("text"), "\r\n", "\n"))
	var uploads []app.Upload
	if r.MultipartForm != nil {
		for _, fh := range r.MultipartForm.File["files"] {
			if fh.Filename == "" && fh.Size == 0 {
				continue // a file input left empty
			}
			if len(uploads) == app.MaxAttachments {
				refuse(app.InvalidField("attachments", "Attach up to 10 files to one message."))
				return
			}
			u, err := readUpload(fh)
			if err != nil {
				refuse(app.InvalidField("attachments", "The file “"+fh.Filename+"” could not be read; please attach it again."))
				return
			}
			uploads = append(uploads, u)
		}
	}
	switch {
	case text == "" && len(uploads) == 0:
		refuse(app.InvalidField("text", "Write a message or attach a file."))
		return
	case utf8.RuneCountInString(text) > app.MaxMessageText:
		refuse(app.InvalidField("text", "Keep a message under 10,000 characters."))
		return
	}
	if !s.replies.take(limitKey{"portal-reply:" + p.Tenant.ID + ":" + a.ClientID, portalReplyRate}) {
		refuse(app.Errorf(app.ERATELIMITED, "You have sent many messages in a short while; please wait a minute and send this one again."))
		return
	}
	_, _, err := p.DB.ReceiveWebsiteMessage(r.Context(), app.WebsiteMessage{
		From: app.ContactInput{Type: app.ContactEmail, Value: a.Email}, Name: a.ClientName, Text: text,
		Uploads: uploads, Key: a.ClientID + ":" + form.Value("key"), Source: app.WebsitePortal})
	if app.ErrorCode(err) == app.EINVALID {
		if msg := app.ErrorFields(err); len(msg) > 0 && msg[0].Field == "attachments" {
			refuse(err)
		} else {
			refuse(app.InvalidField("text", app.ErrorMessage(err)))
		}
		return
	} else if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	redirect(w, r, "/portal?done=sent#latest")
}

// portalReplyRate bounds a signed-in client's messages: a conversation's
// pace, not a flood into the team's inbox.
var portalReplyRate = limitRule{every: 10 * time.Second, burst: 20}

// servePortalAttachment serves a file of the client's own conversation,
// as the team app serves files: its sniffed type, downloaded unless it is
// an image, and nothing in it may run.
func (s *Server) servePortalAttachment(w http.ResponseWriter, r *http.Request, p *portalReq, a *portalAccount) {
	att, path, err := p.DB.PortalAttachment(r.Context(), a.ClientID, r.PathValue("id"))
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	f, err := os.Open(path) // #nosec G703 -- path is FilesDir joined with filepath.Base of the id of a row found in the DB
	if err != nil {
		s.log.ErrorContext(r.Context(), "attachment file missing", "attachment", att.ID, "err", err)
		s.renderPortalError(w, r, p, app.Errorf(app.ENOTFOUND, "File not found."))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	disposition := "attachment"
	if att.IsImage() {
		disposition = "inline"
	}
	h := w.Header()
	h.Set("Content-Type", att.ContentType)
	h.Set("Content-Disposition", disposition+"; filename*=UTF-8''"+encodeRFC5987(att.Filename))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// Preferences: consents and the preferred channel.

// portalConsentAbout says what a built-in purpose covers.
func portalConsentAbout(p app.ConsentPurpose, brand string) string {
	switch p {
	case app.PurposeMarketing:
		return "News, offers and updates from " + brand + "."
	case app.PurposeAnalytics:
		return "Using how you interact with " + brand + " to improve its service."
	case app.PurposePersonalisation:
		return "Tailoring what " + brand + " shows and sends you to your interests."
	}
	return ""
}

type consentKey struct {
	purpose app.ConsentPurpose
	channel app.Transport
}

// portalConsentRows lists the client's consents as the preferences page
// shows them: each built-in purpose for all channels (asked or not), then
// every other consent on record, built-in purposes first, all channels
// before single ones.
func portalConsentRows(cs []app.Consent, now time.Time, brand string, a *portalAccount) []portal.ConsentRow {
	byKey := map[consentKey]app.Consent{}
	var keys []consentKey
	for _, p := range app.ConsentPurposes {
		keys = append(keys, consentKey{p, app.AnyChannel})
	}
	for _, c := range cs {
		k := consentKey{c.Purpose, c.Channel}
		byKey[k] = c
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	rank := func(p app.ConsentPurpose) int {
		if i := slices.Index(app.ConsentPurposes, p); i >= 0 {
			return i
		}
		return len(app.ConsentPurposes)
	}
	slices.SortStableFunc(keys, func(x, y consentKey) int {
		if d := rank(x.purpose) - rank(y.purpose); d != 0 {
			return d
		}
		if d := strings.Compare(string(x.purpose), string(y.purpose)); d != 0 {
			return d
		}
		return slices.Index(app.Transports, x.channel) - slices.Index(app.Transports, y.channel)
	})
	rows := make([]portal.ConsentRow, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, portalConsentRow(k, byKey, now, brand, a))
	}
	return rows
}

func portalConsentRow(k consentKey, byKey map[consentKey]app.Consent, now time.Time, brand string, a *portalAccount) portal.ConsentRow {
	row := portal.ConsentRow{Purpose: string(k.purpose), Channel: string(k.channel), Title: k.purpose.Label(),
		Scope: app.ConsentChannelLabel(k.channel), About: portalConsentAbout(k.purpose, brand)}
	c, ok := byKey[k]
	state := app.ConsentNotRequested
	if ok {
		state = c.StateAt(now)
	}
	date := func(t time.Time) string { return t.In(a.location()).Format("2 Jan 2006") }
	grant := portal.ConsentAction{Value: "grant", Label: "Give consent", Primary: true}
	switch state {
	case app.ConsentGranted:
		row.StateText = "You agreed on " + date(c.UpdatedAt) + "."
		if c.ExpiresAt != nil {
			row.StateText += " It lasts until " + date(*c.ExpiresAt) + "."
		}
		row.Actions = []portal.ConsentAction{{Value: "revoke", Label: "Withdraw consent"}}
	case app.ConsentNotRequested, app.ConsentPending:
		row.StateText = "You have not answered yet."
		grant.Label = "Yes, I agree"
		row.Actions = []portal.ConsentAction{grant, {Value: "deny", Label: "No, thanks"}}
	case app.ConsentDenied:
		row.StateText = "You said no on " + date(c.UpdatedAt) + "."
		row.Actions = []portal.ConsentAction{grant}
	case app.ConsentRevoked:
		row.StateText = "You withdrew it on " + date(c.UpdatedAt) + "."
		row.Actions = []portal.ConsentAction{grant}
	case app.ConsentExpired:
		at := c.UpdatedAt
		if c.ExpiresAt != nil {
			at = *c.ExpiresAt
		}
		row.StateText = "It expired on " + date(at) + "."
		row.Actions = []portal.ConsentAction{grant}
	}
	row.State = string(state)
	return row
}

// portalConsentMoves are the buttons' target states.
var portalConsentMoves = map[string]app.ConsentState{
	"grant": app.ConsentGranted, "revoke": app.ConsentRevoked, "deny": app.ConsentDenied,
}

// portalChannelOptions are the preferred channels a client may choose.
func portalChannelOptions() []ui.Option {
	out := []ui.Option{{Value: "", Label: "No preference"}}
	for _, t := range app.Transports {
		label := t.Label()
		if t == app.TransportWebsite {
			label = "This website"
		}
		out = append(out, ui.Option{Value: string(t), Label: label})
	}
	return out
}

func (s *Server) showPortalPreferences(w http.ResponseWriter, r *http.Request, p *portalReq, a *portalAccount) {
	s.renderPreferences(w, r, p, a, http.StatusOK, portalNotices[r.URL.Query().Get("done")], nil, ui.Form{})
}

// renderPreferences shows the page; consentErr puts a refusal next to the
// consent it concerns, and channel holds the channel form as sent.
func (s *Server) renderPreferences(w http.ResponseWriter, r *http.Request, p *portalReq, a *portalAccount, status int,
	notice string, consentErr map[consentKey]string, channel ui.Form) {
	cs, _, err := p.DB.ClientConsents(r.Context(), a.ClientID)
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	c, err := p.DB.ClientByID(r.Context(), a.ClientID)
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	page := portal.PreferencesPage{Shell: p.accountShell(a, "Your preferences"), Notice: notice,
		Consents: portalConsentRows(cs, s.cfg.Now(), p.Branding.Name, a), ChannelOptions: portalChannelOptions(),
		Channel: c.Preferences.Channel, ChannelError: channel.Error("preferred_channel")}
	if channel.Values != nil {
		page.Channel = channel.Value("preferred_channel")
	}
	for i, row := range page.Consents {
		page.Consents[i].Error = consentErr[consentKey{app.ConsentPurpose(row.Purpose), app.Transport(row.Channel)}]
	}
	s.render(w, r, status, portal.AccountPreferences(page))
}

// savePortalConsent records the client's choice on one consent, with
// source portal and the client as actor: the team sees it in the
// profile's consent history.
func (s *Server) savePortalConsent(w http.ResponseWriter, r *http.Request, p *portalReq, a *portalAccount) {
	k := consentKey{app.ConsentPurpose(r.PostFormValue("purpose")), app.Transport(r.PostFormValue("channel"))}
	action := r.PostFormValue("action")
	cs, _, err := p.DB.ClientConsents(r.Context(), a.ClientID)
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	var row *portal.ConsentRow
	for _, c := range portalConsentRows(cs, s.cfg.Now(), p.Branding.Name, a) {
		if c.Purpose == string(k.purpose) && c.Channel == string(k.channel) {
			row = &c
		}
	}
	if row == nil {
		// Only the consents the page lists can be changed here.
		s.renderPortalError(w, r, p, app.Errorf(app.ENOTFOUND, "Consent not found."))
		return
	}
	stale := func() {
		s.renderPreferences(w, r, p, a, http.StatusConflict, "", map[consentKey]string{
			k: "This choice changed in the meantime; it is shown as it stands now. Choose again if you like."}, ui.Form{})
	}
	if !slices.ContainsFunc(row.Actions, func(x portal.ConsentAction) bool { return x.Value == action }) {
		stale()
		return
	}
	_, err = p.DB.RecordConsent(r.Context(), a.ClientID, app.ConsentInput{Purpose: k.purpose, Channel: k.channel,
		State: portalConsentMoves[action], Source: app.SourcePortal}, a.actor())
	if app.ErrorCode(err) == app.EINVALID {
		stale() // the state machine refused: it moved since the page was drawn
		return
	} else if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	redirect(w, r, "/portal/preferences?done=consent#consent-"+url.PathEscape(row.Purpose)+"-"+portalScopeID(row.Channel))
}

func portalScopeID(channel string) string {
	if channel == "" {
		return "all"
	}
	return channel
}

// savePortalChannel sets the client's preferred channel.
func (s *Server) savePortalChannel(w http.ResponseWriter, r *http.Request, p *portalReq, a *portalAccount) {
	form := formFrom(r, "preferred_channel")
	v := form.Value("preferred_channel")
	if v != "" && !slices.Contains(app.Transports, app.Transport(v)) {
		s.renderPreferences(w, r, p, a, http.StatusUnprocessableEntity, "", nil,
			withError(form, app.InvalidField("preferred_channel", "Choose one of the channels listed.")))
		return
	}
	_, err := p.DB.UpdateClient(r.Context(), a.ClientID, app.ClientUpdate{Preferences: app.PreferencesUpdate{Channel: &v}}, a.actor())
	if isFormError(err) {
		s.renderPreferences(w, r, p, a, http.StatusUnprocessableEntity, "", nil, withError(form, err))
		return
	} else if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	redirect(w, r, "/portal/preferences?done=channel#channel-title")
}

// Copies of the client's data: the subject access exports of
// tenantdb/export.go, every one of the client's (whoever asked for it),
// downloaded through the portal and logged with the client as actor.

func (s *Server) showPortalData(w http.ResponseWriter, r *http.Request, p *portalReq, a *portalAccount) {
	s.renderData(w, r, p, a, http.StatusOK, portalNotices[r.URL.Query().Get("done")], "")
}

// renderData shows the client's exports and whether they may ask for one.
func (s *Server) renderData(w http.ResponseWriter, r *http.Request, p *portalReq, a *portalAccount, status int, notice, problem string) {
	exports, err := p.DB.ClientExports(r.Context(), a.ClientID)
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	s.repairPortalExports(r, p, exports)
	page := portal.DataPage{Shell: p.accountShell(a, "Your data"), Notice: notice, Error: problem, CanRequest: true}
	if wait := s.portalExportWait(exports, a); wait != "" {
		page.CanRequest, page.Wait = false, wait
	}
	for _, e := range exports {
		page.Exports = append(page.Exports, portalExportRow(e, a))
		page.Pending = page.Pending || e.Status == tenantdb.ExportPending
	}
	if isFragment(r, "exports") {
		// The list refreshing itself while a copy is prepared: only the
		// list (a whole page's head would bring a style of another nonce).
		s.render(w, r, status, portal.AccountExports(page))
		return
	}
	s.render(w, r, status, portal.AccountData(page))
}

// portalExportWait says why the client cannot ask for a copy now ("" if
// they can): one is being prepared, or they asked less than
// app.PortalExportEvery ago.
func (s *Server) portalExportWait(exports []tenantdb.Export, a *portalAccount) string {
	now := s.cfg.Now()
	for _, e := range exports {
		if e.Status == tenantdb.ExportPending {
			return "A copy is being prepared. It appears above when it is ready."
		}
	}
	for _, e := range exports {
		if e.RequestedBy.Type == app.ActorClient && now.Sub(e.CreatedAt) < app.PortalExportEvery {
			return "You asked for a copy on " + a.portalTime(e.CreatedAt) + ". You can ask for another one from " +
				a.portalTime(e.CreatedAt.Add(app.PortalExportEvery)) + "."
		}
	}
	return ""
}

func portalExportRow(e tenantdb.Export, a *portalAccount) portal.ExportRow {
	row := portal.ExportRow{ID: e.ID, Status: e.Status, RequestedAt: "on " + a.portalTime(e.CreatedAt)}
	switch e.Status {
	case tenantdb.ExportPending:
		row.StatusText = "Being prepared…"
	case tenantdb.ExportReady:
		row.StatusText, row.Ready = "Ready to download", true
		row.Detail = "ZIP archive, " + portalSize(e.Size)
		if e.ExpiresAt != nil {
			row.Detail += " · can be downloaded until " + a.portalTime(*e.ExpiresAt)
		}
	case tenantdb.ExportFailed:
		row.StatusText = "It could not be prepared. Ask for a new copy, or write to us."
	case tenantdb.ExportExpired:
		row.StatusText = "Expired: the file is deleted 7 days after it is prepared."
	}
	return row
}

// repairPortalExports enqueues again the exports pending for longer than
// they should be (the job is unique: one still queued is not doubled).
func (s *Server) repairPortalExports(r *http.Request, p *portalReq, exports []tenantdb.Export) {
	for _, e := range exports {
		if e.Status == tenantdb.ExportPending && s.cfg.Now().Sub(e.CreatedAt) > exportRetry {
			s.enqueuePortalExport(r, p, e.ID)
		}
	}
}

func (s *Server) enqueuePortalExport(r *http.Request, p *portalReq, id string) {
	if s.cfg.Exports == nil {
		s.log.WarnContext(r.Context(), "no export queue configured", "export", id)
		return
	}
	if err := s.cfg.Exports.EnqueueExport(r.Context(), p.Tenant.ID, id); err != nil {
		s.log.ErrorContext(r.Context(), "enqueue export failed", "export", id, "err", err)
	}
}

// requestPortalExport asks for a copy of the client's data, as the team's
// button does, with the client as the one who asked: at most one every
// app.PortalExportEvery, and not while one is being prepared.
func (s *Server) requestPortalExport(w http.ResponseWriter, r *http.Request, p *portalReq, a *portalAccount) {
	exports, err := p.DB.ClientExports(r.Context(), a.ClientID)
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	if wait := s.portalExportWait(exports, a); wait != "" {
		s.renderData(w, r, p, a, http.StatusTooManyRequests, "", wait)
		return
	}
	e, err := p.DB.RequestExport(r.Context(), a.ClientID, a.actor())
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	s.enqueuePortalExport(r, p, e.ID)
	redirect(w, r, "/portal/data?done=requested")
}

// downloadPortalExport sends one of the client's own archives; the
// download is logged with the client as actor.
func (s *Server) downloadPortalExport(w http.ResponseWriter, r *http.Request, p *portalReq, a *portalAccount) {
	e, err := p.DB.ExportByID(r.Context(), r.PathValue("id"))
	if err == nil && e.ClientID != a.ClientID {
		err = app.Errorf(app.ENOTFOUND, "Export not found.")
	}
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	e, f, err := p.DB.OpenExport(r.Context(), e.ID, a.actor())
	if c := app.ErrorCode(err); c == app.ECONFLICT || c == app.EGONE {
		s.renderData(w, r, p, a, errorStatus(err), "", app.ErrorMessage(err))
		return
	} else if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	defer f.Close()
	day := e.CreatedAt
	if e.CompletedAt != nil {
		day = *e.CompletedAt
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="`+p.portalExportName(day)+`"`)
	h.Set("Content-Length", fmt.Sprint(e.Size))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, f); err != nil {
		s.log.WarnContext(r.Context(), "export download cut off", "export", e.ID, "err", err)
	}
}

// portalExportName is the archive's file name: the workspace and the day.
func (p *portalReq) portalExportName(day time.Time) string {
	return "my-data-" + p.Tenant.Slug + "-" + day.UTC().Format("20060102") + ".zip"
}
