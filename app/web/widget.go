package web

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"parley/app"
	"parley/static"
	"parley/tenantdb"
	"parley/views/portal"
)

// The web chat widget. A workspace puts one line on its own site:
//
//	<script async src="https://acme.parley.example/widget.js" data-tenant="acme"></script>
//
// The script's own origin names the workspace (data-tenant is optional and
// only documents it); on a custom domain mapped to the workspace it works
// the same, and then the frame is on the shop's own site, where cookies
// are first-party. A page with a CSP of its own must allow the workspace's
// origin in script-src and frame-src. The page may open the chat from a
// link of its own with window.parleyChat.open().
//
// The script (static/js/widget.js, a few KB) draws a launcher button in a
// shadow root and, on first open only, an iframe of /widget/frame from the
// workspace's origin. Everything the visitor types lives in that frame, so
// the host page can neither read the conversation (another origin) nor
// post into it (the frame's posts are same-origin; a post from the host
// page is cross-site and http.CrossOriginProtection refuses it).
//
// A visitor is known by a token: their random visitor id, sealed under the
// operator's secret key (PARLEY_SECRET_KEY; older keys still open after a
// rotation) and bound to the workspace, see tenantdb.SealWebChatVisitor.
// The frame keeps it twice: in an HttpOnly cookie scoped to
// /widget (SameSite=None; Secure; Partitioned over HTTPS, so it works in a
// third-party frame where the browser allows partitioned cookies), and in
// the frame's localStorage, sent back as the X-Parley-Visitor header (and,
// for the event stream, which cannot carry headers, as ?visitor=). Browsers
// that block cookies in third-party frames (Safari) still give the frame
// its own partitioned storage, so the header keeps the visitor known there;
// with script off, the cookie alone carries the plain-form fallback. The
// token is read from the header first, then the cookie; one that does not
// open (forged, altered, another workspace's) is ignored, and the visitor
// is new.
//
// A new visitor's panel comes with a token for a fresh id already (in the
// page and as a hidden field of its forms), which nothing stores yet: so a
// first message sent twice (a retry after a lost answer, a double click)
// still names one visitor, and with its key is stored once. Nothing is
// written, and no cookie set, until the visitor writes.

const (
	// visitorHeader carries the visitor token from the frame's storage.
	visitorHeader = "X-Parley-Visitor"
	// visitorCookieTTL is how long a visitor stays known without writing.
	visitorCookieTTL = 365 * 24 * time.Hour
	// widgetScriptMaxAge is how long browsers reuse /widget.js before
	// asking again (with its ETag): short, so a change reaches sites soon.
	widgetScriptMaxAge = 5 * time.Minute
	// webChatBodyLimit bounds a widget post (5,000 characters of text fit
	// well within it).
	webChatBodyLimit = 64 << 10
	// webChatPageSize is how many messages the panel shows at once.
	webChatPageSize = 30
)

// Rate limits of the widget, per workspace: a visitor may send 20 messages
// at once, then one every 3 seconds; an address 60, then one a second
// (offices share addresses); an address may start 20 conversations, then
// one a minute; a visitor may leave an email 5 times, then once a minute;
// an address may open 30 event streams, then one every 2 seconds.
var (
	visitorMessageRate = limitRule{every: 3 * time.Second, burst: 20}
	ipMessageRate      = limitRule{every: time.Second, burst: 60}
	newVisitorRate     = limitRule{every: time.Minute, burst: 20}
	visitorEmailRate   = limitRule{every: time.Minute, burst: 5}
	ipStreamRate       = limitRule{every: 2 * time.Second, burst: 30}
)

// webChat serves the widget's routes. It is made once with the routes and
// holds the script and the widget's rate limits.
type webChat struct {
	s      *Server
	script []byte
	limits *rateBuckets
}

func (s *Server) newWebChat() *webChat {
	script, err := fs.ReadFile(static.FS, "js/widget.js")
	if err != nil {
		panic("web chat: the embedded widget script is missing: " + err.Error())
	}
	return &webChat{s: s, script: script, limits: newRateBuckets(s.cfg.Now)}
}

// route names the request's route for the access log and metrics.
func (wc *webChat) route(h func(http.ResponseWriter, *http.Request, *portalReq)) http.Handler {
	return wc.s.portalRoute(func(w http.ResponseWriter, r *http.Request, p *portalReq) {
		info(r.Context()).route = r.Pattern
		h(w, r, p)
	})
}

// serveScript is GET /widget.js: the launcher, with the workspace's name
// and accent filled in, gzipped when the browser takes it, cached for a
// few minutes and revalidated by ETag.
func (wc *webChat) serveScript(w http.ResponseWriter, r *http.Request, p *portalReq) {
	cfg, _ := json.Marshal(map[string]string{"name": p.Branding.Name, "accent": p.Branding.SafeAccent()})
	// json.Marshal escapes <, >, & and U+2028/9: the object is a safe
	// JavaScript literal wherever it lands.
	body := bytes.Replace(wc.script, []byte("__PARLEY_CONFIG__"), cfg, 1)
	sum := sha256.Sum256(body)
	etag := hex.EncodeToString(sum[:10])
	gz := acceptsGzip(r)
	if gz {
		etag += "-gz"
	}
	etag = `"` + etag + `"`
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(widgetScriptMaxAge/time.Second)))
	h.Set("ETag", etag)
	h.Set("Vary", "Accept-Encoding")
	// Sites that isolate themselves (COEP: require-corp) may load it too.
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if gz {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// acceptsGzip reports whether Accept-Encoding takes gzip (with q > 0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		k, v, _ := strings.Cut(strings.ReplaceAll(params, " ", ""), "=")
		if k != "q" {
			return true
		}
		q, err := strconv.ParseFloat(v, 64)
		return err == nil && q > 0
	}
	return false
}

// etagMatches reports whether an If-None-Match header names etag.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// frameHeaders lets any site frame the chat panel: the one exception to
// frame-ancestors 'none'. Everything else in the CSP stays as strict as on
// every page (scripts and styles only from this origin or with the
// request's nonce). A per-workspace allow-list of embedding sites would
// be tighter; until workspaces can configure one, the panel is safe to
// frame anywhere: it shows only the visitor's own conversation (kept in
// storage partitioned by the embedding site), and the embedding page can
// neither read it nor post into it.
func frameHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", strings.Replace(h.Get("Content-Security-Policy"),
		"frame-ancestors 'none'", "frame-ancestors *", 1))
	h.Del("X-Frame-Options")
}

// visitorID returns the visitor the request names by a token that opens:
// the header first, then the cookie, then more (a form field, the event
// stream's query).
func (wc *webChat) visitorID(r *http.Request, p *portalReq, more ...string) (string, bool) {
	tokens := []string{r.Header.Get(visitorHeader)}
	if c, err := r.Cookie(wc.cookieName()); err == nil {
		tokens = append(tokens, c.Value)
	}
	for _, t := range append(tokens, more...) {
		if id, ok := p.DB.OpenWebChatVisitor(t); ok {
			return id, true
		}
	}
	return "", false
}

// knownVisitor returns the visitor the request names, if they have
// written in this workspace before.
func (wc *webChat) knownVisitor(r *http.Request, p *portalReq, more ...string) (tenantdb.WebChatVisitor, bool, error) {
	id, ok := wc.visitorID(r, p, more...)
	if !ok {
		return tenantdb.WebChatVisitor{}, false, nil
	}
	v, err := p.DB.WebChatVisitor(r.Context(), id)
	if app.ErrorCode(err) == app.ENOTFOUND {
		return tenantdb.WebChatVisitor{}, false, nil
	}
	return v, err == nil, err
}

func (wc *webChat) cookieName() string {
	if wc.s.cfg.HTTPS {
		return "__Secure-parley_visitor"
	}
	return "parley_visitor"
}

// setVisitorCookie gives the browser the visitor's token. Over HTTPS it is
// SameSite=None (the frame is usually on another site than the page that
// embeds it) and Partitioned, so browsers that block third-party cookies
// may still keep it for this one embedding site.
func (wc *webChat) setVisitorCookie(w http.ResponseWriter, token string) {
	c := &http.Cookie{Name: wc.cookieName(), Value: token, Path: "/widget", MaxAge: int(visitorCookieTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if wc.s.cfg.HTTPS {
		c.Secure, c.SameSite, c.Partitioned = true, http.SameSiteNoneMode, true
	}
	http.SetCookie(w, c)
}

// wantsJSON says the request came from the panel's script rather than
// from a plain form.
func wantsJSON(r *http.Request) bool {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct == "application/json" || strings.Contains(r.Header.Get("Accept"), "application/json")
}

// readWidgetInput reads a widget post, as JSON from the panel's script or
// as a plain form, into the named string fields.
func readWidgetInput(w http.ResponseWriter, r *http.Request, names ...string) (map[string]string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, webChatBodyLimit)
	out := map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var in map[string]any
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			return nil, app.Errorf(app.EINVALID, "The request is not valid JSON, or it is too large.")
		}
		for _, n := range names {
			if s, ok := in[n].(string); ok {
				out[n] = s
			}
		}
		return out, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, app.Errorf(app.EINVALID, "The form could not be read, or it is too large.")
	}
	for _, n := range names {
		out[n] = r.PostForm.Get(n)
	}
	return out, nil
}

// webChatLine is a message as the panel's script gets it.
type webChatLine struct {
	ID    string    `json:"id"`
	Mine  bool      `json:"mine"`
	Name  string    `json:"name,omitempty"`
	Text  string    `json:"text"`
	At    time.Time `json:"at"`
	Files int       `json:"files,omitempty"`
}

// chatLine is what the visitor may see of a message: its words, when, and
// who of the team wrote it (their first name only), nothing else.
func chatLine(m app.Message) portal.ChatLine {
	l := portal.ChatLine{ID: m.ID, Mine: m.Direction == app.DirectionIn, Text: m.Text, At: m.CreatedAt,
		Files: len(m.Attachments)}
	if !l.Mine {
		l.Name, _, _ = strings.Cut(strings.TrimSpace(m.Sender.Name), " ")
	}
	return l
}

func jsonLines(msgs []app.Message) []webChatLine {
	out := make([]webChatLine, 0, len(msgs))
	for _, m := range msgs {
		l := chatLine(m)
		out = append(out, webChatLine{ID: l.ID, Mine: l.Mine, Name: l.Name, Text: l.Text, At: l.At, Files: l.Files})
	}
	return out
}

// showFrame is GET /widget/frame: the chat panel, with the visitor's
// conversation when the cookie names them (the panel's script loads it
// with the stored token otherwise).
func (wc *webChat) showFrame(w http.ResponseWriter, r *http.Request, p *portalReq) {
	c := portal.WebChat{Branding: p.Branding, Key: newMessageKey()}
	switch r.URL.Query().Get("sent") {
	case "message":
		c.Status = "Sent. We will answer here as soon as we can."
	case "email":
		c.Status = "Thanks, we will answer by email if you have left."
	}
	if err := wc.loadConversation(r, p, &c, r.URL.Query().Get("before"), ""); err != nil {
		wc.frameError(w, r, p, err)
		return
	}
	wc.renderFrame(w, r, http.StatusOK, c)
}

// loadConversation fills in the recognised visitor's page of messages, or
// a token for a fresh visitor id when the request names nobody known.
func (wc *webChat) loadConversation(r *http.Request, p *portalReq, c *portal.WebChat, before, token string) error {
	v, known, err := wc.knownVisitor(r, p, token)
	if err != nil {
		return err
	}
	if !known {
		if _, ok := p.DB.OpenWebChatVisitor(token); !ok {
			token, err = p.DB.SealWebChatVisitor(tenantdb.NewWebChatVisitorID())
		}
		c.Visitor = token
		return err
	}
	c.Known, c.Email = true, v.Email
	msgs, more, err := p.DB.WebChatMessages(r.Context(), v, tenantdb.WebChatPage{Before: before, Limit: webChatPageSize})
	if isFormError(err) && before != "" {
		msgs, more, err = p.DB.WebChatMessages(r.Context(), v, tenantdb.WebChatPage{Limit: webChatPageSize})
	}
	if err != nil {
		return err
	}
	for _, m := range msgs {
		c.Lines = append(c.Lines, chatLine(m))
	}
	if more && len(msgs) > 0 {
		c.OlderHref = "/widget/frame?before=" + url.QueryEscape(msgs[0].ID)
	}
	return nil
}

func (wc *webChat) renderFrame(w http.ResponseWriter, r *http.Request, status int, c portal.WebChat) {
	frameHeaders(w)
	wc.s.render(w, r, status, portal.WebChatFrame(c))
}

// frameError shows err where the panel would be: a full page, framable.
func (wc *webChat) frameError(w http.ResponseWriter, r *http.Request, p *portalReq, err error) {
	frameHeaders(w)
	wc.s.renderPortalError(w, r, p, err)
}

// newMessageKey is a key for a message sent by the plain form.
func newMessageKey() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// listMessages is GET /widget/messages: the visitor's own conversation as
// JSON, oldest first: the newest page, ?before=ID the page before a
// message, ?after=ID what came after one (the live update). A visitor the
// request does not name has no conversation.
func (wc *webChat) listMessages(w http.ResponseWriter, r *http.Request, p *portalReq) {
	v, known, err := wc.knownVisitor(r, p)
	if err != nil {
		wc.s.writeAPIError(w, r, err)
		return
	}
	type page struct {
		Messages []webChatLine `json:"messages"`
		More     bool          `json:"more"`
		// Reset says the cursor was unknown (a message since removed) and
		// this is the newest page: the panel redraws.
		Reset bool `json:"reset,omitempty"`
	}
	if !known {
		writeJSON(w, http.StatusOK, page{Messages: []webChatLine{}})
		return
	}
	q := r.URL.Query()
	pg := tenantdb.WebChatPage{Before: q.Get("before"), After: q.Get("after"), Limit: webChatPageSize}
	if pg.After != "" {
		pg.Limit = 100
	}
	msgs, more, err := p.DB.WebChatMessages(r.Context(), v, pg)
	reset := false
	if isFormError(err) {
		reset = true
		msgs, more, err = p.DB.WebChatMessages(r.Context(), v, tenantdb.WebChatPage{Limit: webChatPageSize})
	}
	if err != nil {
		wc.s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page{Messages: jsonLines(msgs), More: more, Reset: reset})
}

// postMessage is POST /widget/messages: the visitor writes. JSON from the
// panel's script ({"text", "key"}) answers JSON; a plain form comes back
// to the panel.
func (wc *webChat) postMessage(w http.ResponseWriter, r *http.Request, p *portalReq) {
	asJSON := wantsJSON(r)
	in, err := readWidgetInput(w, r, "text", "key", "visitor")
	if err != nil {
		wc.refuse(w, r, p, asJSON, err, portal.WebChat{})
		return
	}
	if in["key"] == "" {
		in["key"] = newMessageKey()
	}
	form := portal.WebChat{Text: in["text"]}
	id, known, err := wc.writer(r, p, in["visitor"])
	if err != nil {
		wc.refuse(w, r, p, asJSON, err, form)
		return
	}
	ip := wc.s.clientIP(r)
	rules := []limitKey{
		{"msg-visitor:" + p.Tenant.ID + ":" + id, visitorMessageRate},
		{"msg-ip:" + p.Tenant.ID + ":" + ip, ipMessageRate},
	}
	newKey := limitKey{"new-visitor:" + p.Tenant.ID + ":" + ip, newVisitorRate}
	if !known && !wc.limits.has(newKey) || !wc.limits.take(rules...) {
		wc.refuse(w, r, p, asJSON, tooMany(), form)
		return
	}
	msg, _, duplicate, err := p.DB.ReceiveWebChatMessage(r.Context(), id, in["key"], in["text"])
	if err != nil {
		wc.refuse(w, r, p, asJSON, err, form)
		return
	}
	token, err := wc.keepVisitor(w, p, id, known, newKey)
	if err != nil {
		wc.refuse(w, r, p, asJSON, err, form)
		return
	}
	if !asJSON {
		http.Redirect(w, r, "/widget/frame?sent=message", http.StatusSeeOther)
		return
	}
	status := http.StatusCreated
	if duplicate {
		status = http.StatusOK
	}
	writeJSON(w, status, map[string]any{"visitor": token, "message": jsonLines([]app.Message{msg})[0]})
}

// leaveEmail is POST /widget/email: the visitor leaves an address (and
// perhaps a name) so the team can answer after they have gone. The answer
// is the same whether or not another client has that address.
func (wc *webChat) leaveEmail(w http.ResponseWriter, r *http.Request, p *portalReq) {
	asJSON := wantsJSON(r)
	in, err := readWidgetInput(w, r, "email", "name", "visitor")
	if err != nil {
		wc.refuse(w, r, p, asJSON, err, portal.WebChat{})
		return
	}
	form := portal.WebChat{EmailValue: in["email"], NameValue: in["name"]}
	id, known, err := wc.writer(r, p, in["visitor"])
	if err != nil {
		wc.refuse(w, r, p, asJSON, err, form)
		return
	}
	ip := wc.s.clientIP(r)
	newKey := limitKey{"new-visitor:" + p.Tenant.ID + ":" + ip, newVisitorRate}
	if !known && !wc.limits.has(newKey) || !wc.limits.take(limitKey{"email-visitor:" + p.Tenant.ID + ":" + id, visitorEmailRate},
		limitKey{"msg-ip:" + p.Tenant.ID + ":" + ip, ipMessageRate}) {
		wc.refuse(w, r, p, asJSON, tooMany(), form)
		return
	}
	v, err := p.DB.LeaveWebChatEmail(r.Context(), id, in["email"], in["name"])
	if err != nil {
		wc.refuse(w, r, p, asJSON, err, form)
		return
	}
	token, err := wc.keepVisitor(w, p, id, known, newKey)
	if err != nil {
		wc.refuse(w, r, p, asJSON, err, form)
		return
	}
	if !asJSON {
		http.Redirect(w, r, "/widget/frame?sent=email", http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"visitor": token, "email": v.Email,
		"message": "Thanks, we will answer at " + v.Email + "."})
}

// writer returns who is writing: the visitor a token names (known says
// they have written before), or a fresh visitor id when no token opens.
func (wc *webChat) writer(r *http.Request, p *portalReq, formToken string) (id string, known bool, err error) {
	id, ok := wc.visitorID(r, p, formToken)
	if !ok {
		return tenantdb.NewWebChatVisitorID(), false, nil
	}
	_, err = p.DB.WebChatVisitor(r.Context(), id)
	if app.ErrorCode(err) == app.ENOTFOUND {
		return id, false, nil
	}
	return id, err == nil, err
}

func tooMany() error {
	return app.Errorf(app.ERATELIMITED, "You are sending too fast. Wait a few seconds, then try again.")
}

// refuse answers a refused widget post: JSON for the panel's script, else
// the panel again with the error next to the field and what was typed.
func (wc *webChat) refuse(w http.ResponseWriter, r *http.Request, p *portalReq, asJSON bool, err error, form portal.WebChat) {
	if app.ErrorCode(err) == app.ERATELIMITED {
		w.Header().Set("Retry-After", "5")
	}
	if asJSON {
		wc.s.writeAPIError(w, r, err)
		return
	}
	if !isFormError(err) && app.ErrorCode(err) != app.ERATELIMITED {
		wc.frameError(w, r, p, err)
		return
	}
	form.Branding, form.Key = p.Branding, newMessageKey()
	msg := app.ErrorMessage(err)
	fields := app.ErrorFields(err)
	for _, fe := range fields {
		switch fe.Field {
		case "email":
			form.EmailError = fe.Message
		case "name":
			form.NameError = fe.Message
		default:
			form.TextError = fe.Message
		}
	}
	if len(fields) == 0 {
		if form.EmailValue != "" || form.NameValue != "" {
			form.EmailError = msg
		} else {
			form.TextError = msg
		}
	}
	if lerr := wc.loadConversation(r, p, &form, "", r.PostForm.Get("visitor")); lerr != nil {
		wc.frameError(w, r, p, lerr)
		return
	}
	wc.renderFrame(w, r, errorStatus(err), form)
}

// streamEvents is GET /widget/events: a signal ("message") whenever a
// message is written in the visitor's chat, and nothing about anything
// else; the panel then fetches what is new. A visitor without a chat gets
// 204, which tells EventSource not to reconnect: the panel opens the
// stream again once they have written.
func (wc *webChat) streamEvents(w http.ResponseWriter, r *http.Request, p *portalReq) {
	v, known, err := wc.knownVisitor(r, p, r.URL.Query().Get("visitor"))
	if err != nil {
		wc.s.writeAPIError(w, r, err)
		return
	}
	if !known || v.ChatID == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !wc.limits.take(limitKey{"stream-ip:" + p.Tenant.ID + ":" + wc.s.clientIP(r), ipStreamRate}) {
		w.Header().Set("Retry-After", "5")
		wc.s.writeAPIError(w, r, tooMany())
		return
	}
	sub, err := wc.s.live.subscribeVisitor(r.Context(), p.DB, v.ChatID)
	if err != nil {
		wc.s.writeAPIError(w, r, err)
		return
	}
	defer wc.s.live.unsubscribe(p.DB.TenantID, sub)
	wc.s.pumpEvents(w, r, sub)
}

// keepVisitor ends a visitor's accepted post: a new visitor is charged to
// their address's new-visitor budget, and the visitor's sealed token is
// set as their cookie and returned for the panel to keep.
func (wc *webChat) keepVisitor(w http.ResponseWriter, p *portalReq, id string, known bool, newKey limitKey) (string, error) {
	if !known {
		wc.limits.take(newKey)
	}
	token, err := p.DB.SealWebChatVisitor(id)
	if err != nil {
		return "", err
	}
	wc.setVisitorCookie(w, token)
	return token, nil
}
