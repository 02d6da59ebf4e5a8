package web

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"parley/app"
	"parley/views/portal"
	"parley/views/ui"
)

// The public contact form (/help/contact): a visitor writes a name, an
// email address, a message and optionally one file; it arrives in the
// inbox as a website message from the client with that email (found or
// created), and the team answers by email.
//
// Spam is kept out without third-party services:
//   - a honeypot input people never see: a bot that fills it is thanked
//     like a person and nothing is stored, so it learns nothing;
//   - a signed timestamp in the form: a post sooner than contactMinFill
//     after the form was rendered, older than contactMaxAge, or with a bad
//     signature is refused (the visitor keeps their text);
//   - rate limits per address and per email, per workspace.
//
// The token also carries a random key made when the form was rendered,
// which keys the stored message: a form sent twice stores one message.

const (
	// contactMinFill is the least time a person takes to fill the form.
	contactMinFill = 3 * time.Second
	// contactMaxAge is how long a rendered form may be sent.
	contactMaxAge = 24 * time.Hour
	// A client address may send 5 messages, then one every 2 minutes (5
	// per 10 minutes); an email address 3, then one every 20 minutes.
	contactIPBurst    = 5
	contactIPEvery    = 2 * time.Minute
	contactEmailBurst = 3
	contactEmailEvery = 20 * time.Minute
	// contactReceiptAge is how long the "message sent" page shows the
	// (masked) address.
	contactReceiptAge = time.Hour
	// Form fields.
	contactMaxName  = 100
	contactMaxField = 64 << 10 // bytes of any text field as posted
	// contactMaxBody bounds a post: the file at its largest and the text.
	contactMaxBody = app.MaxAttachmentBytes + 256<<10
	// Signing purposes, so a receipt is not a form token.
	purposeContactForm    = "contact-form"
	purposeContactReceipt = "contact-receipt"
)

// contactForm serves the contact form; it holds the form's rate limits.
type contactForm struct {
	s      *Server
	limits *contactLimits
}

func (s *Server) newContactForm() *contactForm {
	return &contactForm{s: s, limits: newContactLimits(s.cfg.Now)}
}

// contactLimits are the contact form's rate limits, keyed by workspace and
// address or email, and the keys of forms already accepted (a form sent
// twice is not charged twice, and is never refused for the limit).
type contactLimits struct {
	mu        sync.Mutex
	now       func() time.Time
	byIP      map[string]*limiter
	byEmail   map[string]*limiter
	accepted  map[string]time.Time
	lastSweep time.Time
}

func newContactLimits(now func() time.Time) *contactLimits {
	return &contactLimits{now: now, byIP: map[string]*limiter{}, byEmail: map[string]*limiter{}, accepted: map[string]time.Time{}}
}

// wait reports how long until the address and the email may send again:
// 0 if they may now, or if this form (tenant, key) was already accepted.
func (l *contactLimits) wait(tenant, ip, email, key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	if _, ok := l.accepted[tenant+"|"+key]; ok {
		return 0
	}
	var longest time.Duration
	for _, lim := range []*limiter{
		get(l.byIP, tenant+"|"+ip, rate.Every(contactIPEvery), contactIPBurst, now),
		get(l.byEmail, tenant+"|"+email, rate.Every(contactEmailEvery), contactEmailBurst, now),
	} {
		if tokens := lim.TokensAt(now); tokens < 1 {
			d := time.Duration((1 - tokens) / float64(lim.Limit()) * float64(time.Second))
			longest = max(longest, d)
		}
	}
	return longest
}

// record charges an accepted message to the address and the email.
func (l *contactLimits) record(tenant, ip, email, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if _, ok := l.accepted[tenant+"|"+key]; ok {
		return
	}
	l.accepted[tenant+"|"+key] = now
	get(l.byIP, tenant+"|"+ip, rate.Every(contactIPEvery), contactIPBurst, now).AllowN(now, 1)
	get(l.byEmail, tenant+"|"+email, rate.Every(contactEmailEvery), contactEmailBurst, now).AllowN(now, 1)
}

// sweep drops limiters unused for limitsIdle (they are full again by
// then) and keys of forms too old to be sent again, at most once a minute.
func (l *contactLimits) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	for _, m := range []map[string]*limiter{l.byIP, l.byEmail} {
		for k, lim := range m {
			if now.Sub(lim.seen) > limitsIdle {
				delete(m, k)
			}
		}
	}
	for k, at := range l.accepted {
		if now.Sub(at) > contactMaxAge {
			delete(l.accepted, k)
		}
	}
}

// signPublic returns payload with its HMAC under the workspace's key for purpose.
func signPublic(p *portalReq, r *http.Request, purpose, payload string) (string, error) {
	key, err := p.DB.FormSigningKey(r.Context(), purpose)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return payload + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)), nil
}

// verifyPublic returns the payload of a token made by signPublic, or false if the
// signature does not match.
func verifyPublic(p *portalReq, r *http.Request, purpose, token string) (string, bool, error) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return "", false, nil
	}
	payload := token[:i]
	want, err := signPublic(p, r, purpose, payload)
	if err != nil {
		return "", false, err
	}
	return payload, hmac.Equal([]byte(want), []byte(token)), nil
}

// formToken is what a rendered contact form carries: when it was rendered
// and the key of the message it will make.
type formToken struct {
	Issued time.Time
	Key    string
}

// newFormToken signs a fresh form token.
func (c *contactForm) newFormToken(p *portalReq, r *http.Request) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	payload := strconv.FormatInt(c.s.cfg.Now().Unix(), 10) + "." + base64.RawURLEncoding.EncodeToString(b[:])
	return signPublic(p, r, purposeContactForm, payload)
}

// Token problems, as the visitor reads them.
var (
	errFormForged = app.Errorf(app.EINVALID, "This form could not be checked. Please send it again.")
	errFormFast   = app.Errorf(app.EINVALID, "That was quick! Please take a moment to check your message, then send it again.")
	errFormOld    = app.Errorf(app.EINVALID, "This form was open for more than a day. Please check your message and send it again.")
)

// checkFormToken reads a posted token. A forged or expired token asks for
// a fresh one; a post sent too soon keeps its token (the visitor sends it
// again a moment later, as the same message).
func (c *contactForm) checkFormToken(p *portalReq, r *http.Request, token string) (formToken, error) {
	payload, ok, err := verifyPublic(p, r, purposeContactForm, token)
	if err != nil {
		return formToken{}, err
	}
	issued, key, found := strings.Cut(payload, ".")
	unix, perr := strconv.ParseInt(issued, 10, 64)
	if !ok || !found || perr != nil || key == "" {
		return formToken{}, errFormForged
	}
	ft := formToken{Issued: time.Unix(unix, 0), Key: key}
	age := c.s.cfg.Now().Sub(ft.Issued)
	switch {
	case age < 0 && age > -time.Minute:
		return ft, errFormFast // a clock step; harmless
	case age < 0, age > contactMaxAge:
		return ft, errFormOld
	case age < contactMinFill:
		return ft, errFormFast
	}
	return ft, nil
}

// contactInput is a contact form as posted.
type contactInput struct {
	Name, Email, Message string
	Honeypot, Token      string
	File                 *app.Upload
	// FileChosen says a file was sent, kept or not.
	FileChosen bool
	// FileError is what was wrong with reading the file.
	FileError string
	// TooLong names text fields cut off at contactMaxField.
	TooLong map[string]bool
}

// readContactForm reads a post. Multipart bodies are read part by part,
// so a file over the limit still leaves the text typed before it (the file
// input is the form's last field) to show again.
func readContactForm(w http.ResponseWriter, r *http.Request) (contactInput, error) {
	in := contactInput{TooLong: map[string]bool{}}
	r.Body = http.MaxBytesReader(w, r.Body, contactMaxBody)
	mr, err := r.MultipartReader()
	if errors.Is(err, http.ErrNotMultipart) {
		if err := r.ParseForm(); err != nil {
			return in, app.Errorf(app.EINVALID, "The form could not be read. Please send it again.")
		}
		in.set(r.PostForm)
		return in, nil
	} else if err != nil {
		return in, app.Errorf(app.EINVALID, "The form could not be read. Please send it again.")
	}
	vals := url.Values{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			if in.FileChosen && in.FileError == "" {
				in.FileError = fileTooLarge
			}
			break
		}
		name := part.FormName()
		if name == "attachment" {
			if in.FileChosen {
				continue // one file only; the rest are ignored
			}
			data, err := io.ReadAll(io.LimitReader(part, app.MaxAttachmentBytes+1))
			if part.FileName() == "" && len(data) == 0 {
				continue // the input was left empty
			}
			in.FileChosen = true
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig), len(data) > app.MaxAttachmentBytes:
				in.FileError = fileTooLarge
			case err != nil:
				in.FileError = "The file could not be read. Please choose it again."
			default:
				in.File = &app.Upload{Filename: part.FileName(), Data: data}
			}
			continue
		}
		var buf bytes.Buffer
		n, err := io.Copy(&buf, io.LimitReader(part, contactMaxField+1))
		if err != nil {
			break
		}
		if n > contactMaxField {
			in.TooLong[name] = true
		}
		vals.Set(name, buf.String())
	}
	in.set(vals)
	return in, nil
}

const fileTooLarge = "The file is larger than 10 MB. Attach a smaller one, or send a link to it in your message."

func (in *contactInput) set(v url.Values) {
	in.Name, in.Email, in.Message = v.Get("name"), v.Get("email"), v.Get("message")
	in.Honeypot, in.Token = v.Get("website"), v.Get("t")
}

// validate checks the fields and normalises them in place. Errors are by
// field: name, email, message, attachment.
func (in *contactInput) validate() error {
	e := &app.Error{Code: app.EINVALID, Message: "Please check the form."}
	add := func(field, msg string) { e.Fields = append(e.Fields, app.FieldError{Field: field, Message: msg}) }
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	switch {
	case in.Name == "":
		add("name", "Enter your name.")
	case utf8.RuneCountInString(in.Name) > contactMaxName || in.TooLong["name"] || strings.ContainsFunc(in.Name, unicode.IsControl):
		add("name", "Use at most 100 characters for your name.")
	}
	k := app.ContactInput{Type: app.ContactEmail, Value: in.Email}
	switch {
	case strings.TrimSpace(in.Email) == "":
		add("email", "Enter your email address: we answer there.")
	case in.TooLong["email"] || k.Normalize("email", "") != nil:
		add("email", "Enter a valid email address, like anna@example.com.")
	default:
		in.Email = k.Value
	}
	in.Message = strings.TrimSpace(strings.ReplaceAll(in.Message, "\r\n", "\n"))
	switch {
	case in.Message == "":
		add("message", "Write your message.")
	case in.TooLong["message"] || utf8.RuneCountInString(in.Message) > app.MaxMessageText:
		add("message", "Keep your message under 10,000 characters (it has "+
			strconv.Itoa(utf8.RuneCountInString(in.Message))+"). You can attach a longer text as a file.")
	}
	if in.FileError != "" {
		add("attachment", in.FileError)
	} else if in.File != nil {
		if err := app.CheckUpload(in.File, "attachment"); err != nil {
			add("attachment", "This file type cannot be sent. Attach an image (PNG, JPEG, GIF, WebP), a PDF, a text file, audio, video or a ZIP archive.")
		}
	}
	return e.OrNil()
}

func (c *contactForm) showContactForm(w http.ResponseWriter, r *http.Request, p *portalReq) {
	token, err := c.newFormToken(p, r)
	if err != nil {
		c.s.renderPortalError(w, r, p, err)
		return
	}
	c.render(w, r, p, http.StatusOK, ui.Form{}, token, false)
}

func (c *contactForm) render(w http.ResponseWriter, r *http.Request, p *portalReq, status int, form ui.Form, token string, fileLost bool) {
	sh := p.shell("Contact us", "Write to "+p.Branding.Name+": we answer by email.", portal.SectionContact)
	c.s.render(w, r, status, portal.Contact(portal.ContactPage{Shell: sh, Form: form, Token: token, FileLost: fileLost}))
}

// sendContactForm takes a post: a bot (honeypot filled) is thanked and
// nothing is kept; a person's message is checked, limited and stored, then
// the browser goes to the "sent" page.
func (c *contactForm) sendContactForm(w http.ResponseWriter, r *http.Request, p *portalReq) {
	in, err := readContactForm(w, r)
	if err != nil {
		c.refuse(w, r, p, in, http.StatusBadRequest, err, "")
		return
	}
	if strings.TrimSpace(in.Honeypot) != "" {
		k := app.ContactInput{Type: app.ContactEmail, Value: in.Email}
		email := ""
		if k.Normalize("email", "") == nil {
			email = k.Value
		}
		c.thank(w, r, p, email)
		return
	}
	ft, tokenErr := c.checkFormToken(p, r, in.Token)
	if tokenErr != nil && app.ErrorCode(tokenErr) != app.EINVALID {
		c.s.renderPortalError(w, r, p, tokenErr)
		return
	}
	if err := in.validate(); err != nil || tokenErr != nil {
		msg := app.ErrorMessage(tokenErr)
		token := in.Token
		if tokenErr != nil && tokenErr != errFormFast {
			token = "" // forged or expired: a fresh one
		}
		c.refuse(w, r, p, in, http.StatusUnprocessableEntity, err, token, msg)
		return
	}
	ip := c.s.clientIP(r)
	if wait := c.limits.wait(p.Tenant.ID, ip, in.Email, ft.Key); wait > 0 {
		mins := int(math.Ceil(wait.Minutes()))
		msg := "Several messages were sent from here or from this address in a short time. Please try again in about " +
			strconv.Itoa(mins) + " minute" + pluralS(mins) + "; your message is kept below."
		c.refuse(w, r, p, in, http.StatusTooManyRequests, nil, in.Token, msg)
		return
	}
	var uploads []app.Upload
	if in.File != nil {
		uploads = []app.Upload{*in.File}
	}
	_, dup, err := p.DB.ReceiveWebsiteMessage(r.Context(), app.WebsiteMessage{
		From: app.ContactInput{Type: app.ContactEmail, Value: in.Email}, Name: in.Name, Subject: "Contact form",
		Text: in.Message, Uploads: uploads, Key: ft.Key, Source: app.WebsiteContactForm})
	if app.ErrorCode(err) == app.EINVALID {
		c.refuse(w, r, p, in, http.StatusUnprocessableEntity, err, in.Token)
		return
	} else if err != nil {
		c.s.renderPortalError(w, r, p, err)
		return
	}
	if !dup {
		c.limits.record(p.Tenant.ID, ip, in.Email, ft.Key)
	}
	c.thank(w, r, p, in.Email)
}

// refuse shows the form again with what was typed (never the file: the
// browser cannot be given it back), field errors from err, and message.
// An empty token gets a fresh one.
func (c *contactForm) refuse(w http.ResponseWriter, r *http.Request, p *portalReq, in contactInput, status int, err error,
	token string, message ...string) {
	form := ui.Form{Values: map[string]string{"name": in.Name, "email": in.Email, "message": in.Message}, Errors: map[string]string{}}
	for _, fe := range app.ErrorFields(err) {
		field, _, _ := strings.Cut(fe.Field, ".")
		if field == "attachments" {
			field = "attachment"
		}
		if _, seen := form.Errors[field]; !seen {
			form.Errors[field] = fe.Message
		}
	}
	if len(message) > 0 && message[0] != "" {
		form.Message = message[0]
	} else if err != nil && len(form.Errors) == 0 {
		form.Message = app.ErrorMessage(err)
	}
	if token == "" {
		var terr error
		if token, terr = c.newFormToken(p, r); terr != nil {
			c.s.renderPortalError(w, r, p, terr)
			return
		}
	}
	c.render(w, r, p, status, form, token, in.FileChosen)
}

// thank sends the browser to the "sent" page with a signed receipt naming
// the (masked) address the answer will go to.
func (c *contactForm) thank(w http.ResponseWriter, r *http.Request, p *portalReq, email string) {
	target := "/help/contact/sent"
	if email != "" {
		payload := base64.RawURLEncoding.EncodeToString([]byte(maskEmail(email))) + "." +
			strconv.FormatInt(c.s.cfg.Now().Unix(), 10)
		receipt, err := signPublic(p, r, purposeContactReceipt, payload)
		if err != nil {
			c.s.renderPortalError(w, r, p, err)
			return
		}
		target += "?r=" + url.QueryEscape(receipt)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// showContactSent says the message arrived and how it will be answered.
// The address shown comes only from a receipt this workspace signed in the
// last hour, masked: nothing from the URL is shown as typed.
func (c *contactForm) showContactSent(w http.ResponseWriter, r *http.Request, p *portalReq) {
	masked := ""
	if payload, ok, err := verifyPublic(p, r, purposeContactReceipt, r.URL.Query().Get("r")); err != nil {
		c.s.renderPortalError(w, r, p, err)
		return
	} else if ok {
		enc, at, _ := strings.Cut(payload, ".")
		unix, perr := strconv.ParseInt(at, 10, 64)
		raw, derr := base64.RawURLEncoding.DecodeString(enc)
		age := c.s.cfg.Now().Sub(time.Unix(unix, 0))
		if perr == nil && derr == nil && age >= -time.Minute && age <= contactReceiptAge {
			masked = string(raw)
		}
	}
	sh := p.shell("Message sent", "", portal.SectionContact)
	sh.NoIndex = true
	c.s.render(w, r, http.StatusOK, portal.ContactSent(portal.ContactSentPage{Shell: sh, MaskedEmail: masked}))
}

// maskEmail shows enough of an address for its owner to recognise it:
// "anna.lee@example.com" becomes "a…@e….com".
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || domain == "" {
		return ""
	}
	first := func(s string) string {
		r, _ := utf8.DecodeRuneInString(s)
		return string(r) + "…"
	}
	out := first(local) + "@"
	if i := strings.LastIndexByte(domain, '.'); i > 0 {
		return out + first(domain[:i]) + domain[i:]
	}
	return out + first(domain)
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
