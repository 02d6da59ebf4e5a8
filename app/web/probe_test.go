package web_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"parley/app"
	"parley/app/channel"
	"parley/app/channel/meta"
	"parley/app/web"
	"parley/tenantdb"
)

// The cross-tenant probe walks every route of routes.go as one workspace
// (the attacker) holding another's (the victim's) ids, sessions, tokens,
// secrets and slugs, and checks that each answer is exactly the answer to
// an id or credential that does not exist: the rule of STYLE.md. It also
// checks that nothing it sent changed the victim's file.
//
// By default (CI) it probes every id slot of every route once, alpha
// attacking bravo. PARLEY_PROBE=full probes every object of every kind,
// in both directions.

// probeSpec says how to probe one route.
//
// ids lists the route's id slots as name=kind: a path parameter
// ("id=client"), a query parameter ("?before=message") or a form or JSON
// field ("&assignee_id=user"). Path parameters that go together take one
// object whose value has as many "|"-separated parts ("id/name=kbfile").
// Each slot is probed in turn with the victim's object while the other
// slots hold the attacker's own. "-" marks a route outside any workspace
// (the base domain, health checks, static files) or a catch-all; those
// have nothing to probe.
type probeSpec struct {
	ids    string
	body   string // the rest of a valid form (url-encoded) or JSON body
	stream bool   // the answer may be an event stream that does not end
	htmx   bool   // a fragment: asked as htmx asks, else it redirects to its page
	signed bool   // a provider media link: signed with the attacker\'s own channel secret
	// last runs the route's probes after all others: a pending custom
	// domain may be claimed by several workspaces, so adding the victim's
	// makes it the attacker's own claim too, which later probes must not see.
	last bool
}

// probeRoutes is every route of routes.go, keyed by the variable of the mux
// that registers it and its pattern. TestCrossTenantProbe fails when a
// route is missing here, so a new route is probed from the day it is added.
var probeRoutes = map[string]probeSpec{
	// The base domain and the shared routes belong to no workspace.
	"root GET /{$}":       {ids: "-"},
	"root GET /signup":    {ids: "-"},
	"root POST /signup":   {ids: "-"},
	"root GET /login":     {ids: "-"},
	"root POST /login":    {ids: "-"},
	"shared GET /healthz": {ids: "-"},
	"shared GET /readyz":  {ids: "-"},
	"shared GET /static/": {ids: "-"},
	"shared /":            {ids: "-"},

	// The team app: the attacker's session on its own host.
	"m GET /{$}":                                         {},
	"m GET /login":                                       {},
	"m POST /login":                                      {ids: "&email=useremail", body: "password=correct+horse+battery"},
	"m POST /logout":                                     {},
	"m GET /login/link":                                  {ids: "?token=loginlink", last: true},
	"m GET /invite/{secret}":                             {ids: "secret=invitesecret"},
	"m POST /invite/{secret}":                            {ids: "secret=invitesecret", body: "name=Probe&password=a+long+enough+password"},
	"m GET /reset/{secret}":                              {ids: "secret=resetsecret"},
	"m POST /reset/{secret}":                             {ids: "secret=resetsecret", body: "password=a+long+enough+password"},
	"m GET /inbox/events":                                {stream: true},
	"m GET /inbox":                                       {},
	"m GET /notifications":                               {},
	"m GET /notifications/count":                         {},
	"m GET /inbox/list":                                  {ids: "?chat=chat", htmx: true},
	"m GET /inbox/search":                                {ids: "?q=word ?at=message"},
	"m GET /inbox/unread":                                {},
	"m GET /inbox/templates":                             {ids: "?q=word"},
	"m GET /inbox/{chatID}":                              {ids: "chatID=chat"},
	"m GET /inbox/{chatID}/history":                      {ids: "chatID=chat ?before=message", htmx: true},
	"m GET /inbox/{chatID}/live":                         {ids: "chatID=chat ?after=message"},
	"m POST /inbox/{chatID}/messages":                    {ids: "chatID=chat &contact_id=contact", body: "text=Probe+reply"},
	"m POST /inbox/{chatID}/assign":                      {ids: "chatID=chat &assignee_id=user"},
	"m POST /inbox/{chatID}/status":                      {ids: "chatID=chat", body: "status=open"},
	"m POST /inbox/messages/{id}/retry":                  {ids: "id=message"},
	"m GET /inbox/messages/{id}/html":                    {ids: "id=message"},
	"m GET /attachments/{id}":                            {ids: "id=attachment"},
	"m GET /clients/{id}/chat":                           {ids: "id=client"},
	"m POST /clients/{id}/chat":                          {ids: "id=client"},
	"m GET /clients":                                     {ids: "?q=word"},
	"m GET /clients/new":                                 {},
	"m POST /clients":                                    {ids: "&owner_id=user &contact_email=clientemail", body: "first_name=Probe"},
	"m POST /clients/duplicates":                         {ids: "&contact_email=clientemail", body: "first_name=Zed"},
	"m GET /clients/{id}":                                {ids: "id=client"},
	"m GET /clients/{id}/edit":                           {ids: "id=client"},
	"m POST /clients/{id}":                               {ids: "id=client &owner_id=user", body: "first_name=Ann"},
	"m POST /clients/{id}/status":                        {ids: "id=client", body: "status=active"},
	"m POST /clients/{id}/delete":                        {ids: "id=client"},
	"m POST /clients/{id}/contacts":                      {ids: "id=client", body: "type=email&value=probe%40example.com"},
	"m POST /clients/{id}/contacts/{contactID}/delete":   {ids: "id=client contactID=contact"},
	"m POST /clients/{id}/addresses":                     {ids: "id=client", body: "type=shipping&street=1+Probe+St&city=Leeds&country=GB"},
	"m POST /clients/{id}/addresses/{addressID}/default": {ids: "id=client addressID=address"},
	"m POST /clients/{id}/addresses/{addressID}/delete":  {ids: "id=client addressID=address"},
	"m POST /clients/{id}/notes":                         {ids: "id=client", body: "body=Probe+note"},
	"m POST /clients/{id}/notes/{noteID}":                {ids: "id=client noteID=note", body: "body=Probe+note"},
	"m POST /clients/{id}/notes/{noteID}/delete":         {ids: "id=client noteID=note"},
	"m GET /clients/{id}/timeline":                       {ids: "id=client"},
	"m GET /clients/{id}/consents":                       {ids: "id=client"},
	"m POST /clients/{id}/consents":                      {ids: "id=client", body: "purpose=marketing&state=granted&source=form"},
	"m GET /clients/{id}/merge":                          {ids: "id=client ?other=client ?q=word"},
	"m POST /clients/{id}/merge":                         {ids: "id=client &other_id=client"},
	"m GET /clients/{id}/privacy":                        {ids: "id=client"},
	"m POST /clients/{id}/exports":                       {ids: "id=client"},
	"m GET /clients/{id}/exports/{exportID}":             {ids: "id=client exportID=export"},
	"m POST /clients/{id}/erase":                         {ids: "id=client"},
	"m GET /templates":                                   {ids: "?q=word"},
	"m POST /templates":                                  {body: "name=Probe&body=Probe"},
	"m POST /templates/{id}":                             {ids: "id=template", body: "name=Probe&body=Probe"},
	"m POST /templates/{id}/delete":                      {ids: "id=template"},
	"m GET /help-center":                                 {ids: "?category=kbcategory ?q=word"},
	"m GET /help-center/articles/new":                    {ids: "?translation_of=kbarticle"},
	"m POST /help-center/articles":                       {ids: "&category_id=kbcategory &translation_of=kbarticle", body: "title=Probe&body_markdown=Probe&locale=de"},
	"m POST /help-center/articles/new/image":             {},
	"m GET /help-center/articles/{id}":                   {ids: "id=kbarticle"},
	"m POST /help-center/articles/{id}":                  {ids: "id=kbarticle &category_id=kbcategory", body: "title=Probe&body_markdown=Probe"},
	"m POST /help-center/articles/{id}/image":            {ids: "id=kbarticle"},
	"m POST /help-center/articles/{id}/unpublish":        {ids: "id=kbarticle"},
	"m POST /help-center/articles/{id}/delete":           {ids: "id=kbarticle"},
	"m POST /help-center/preview":                        {body: "title=Probe&body_markdown=Probe"},
	"m GET /help-center/categories":                      {},
	"m POST /help-center/categories":                     {body: "name=Probe"},
	"m POST /help-center/categories/{id}":                {ids: "id=kbcategory", body: "name=Probe"},
	"m POST /help-center/categories/{id}/move":           {ids: "id=kbcategory", body: "direction=down"},
	"m POST /help-center/categories/{id}/delete":         {ids: "id=kbcategory"},
	"m GET /settings":                                    {},
	"m GET /settings/account":                            {},
	"m POST /settings/account":                           {},
	"m POST /settings/account/password":                  {},
	"m GET /settings/team":                               {},
	"m POST /settings/team/invites":                      {ids: "&email=useremail", body: "role=agent"},
	"m POST /settings/team/invites/{id}/revoke":          {ids: "id=invite"},
	"m POST /settings/team/users/{id}/role":              {ids: "id=user", body: "role=agent"},
	"m POST /settings/team/users/{id}/deactivate":        {ids: "id=user"},
	"m POST /settings/team/users/{id}/reactivate":        {ids: "id=user"},
	"m POST /settings/team/users/{id}/reset-password":    {ids: "id=user"},
	"m GET /settings/tokens":                             {},
	"m POST /settings/tokens":                            {},
	"m POST /settings/tokens/{id}/revoke":                {ids: "id=token"},
	"m GET /settings/audit":                              {},
	"m GET /settings/audit/export":                       {},
	"m GET /settings/workspace":                          {},
	"m POST /settings/workspace":                         {},
	"m POST /clients/{id}/legal-hold":                    {ids: "id=client", body: "legal_hold=on"},
	"m GET /settings/retention":                          {},
	"m POST /settings/retention":                         {},
	"m POST /settings/retention/preview":                 {},
	"m GET /settings/consents":                           {},
	"m GET /settings/fields":                             {},
	"m POST /settings/fields":                            {},
	"m POST /settings/fields/{id}/delete":                {ids: "id=customfield"},
	"m GET /settings/channels":                           {},
	"m POST /settings/channels":                          {},
	"m GET /settings/channels/new":                       {},
	"m POST /settings/channels/{id}":                     {ids: "id=channel", body: "name=Sandbox"},
	"m POST /settings/channels/{id}/test":                {ids: "id=channel"},
	"m POST /settings/channels/{id}/delete":              {ids: "id=channel"},
	"m GET /settings/channels/{id}/outbox":               {ids: "id=channel"},
	"m POST /settings/channels/{id}/inbound":             {ids: "id=channel", body: "from=probe%40example.com&text=Probe"},
	"m GET /settings/portal":                             {},
	"m POST /settings/portal":                            {},
	"m POST /settings/portal/preview":                    {},
	"m POST /settings/portal/domains":                    {ids: "&domain=domain", last: true},
	"m POST /settings/portal/domains/{domain}/verify":    {ids: "domain=domain"},
	"m POST /settings/portal/domains/{domain}/delete":    {ids: "domain=domain"},
	"m /": {ids: "-"},

	// The API: the attacker's Bearer token on its own host.
	"api GET /api/v1/me":                                       {},
	"api GET /api/v1/openapi.json":                             {},
	"api GET /api/v1/clients":                                  {ids: "?owner_id=user ?q=word"},
	"api POST /api/v1/clients":                                 {ids: "&owner_id=user", body: `{"first_name":"Probe"}`},
	"api GET /api/v1/clients/{id}":                             {ids: "id=client"},
	"api PATCH /api/v1/clients/{id}":                           {ids: "id=client &owner_id=user", body: `{"first_name":"Ann"}`},
	"api DELETE /api/v1/clients/{id}":                          {ids: "id=client"},
	"api POST /api/v1/clients/{id}/contacts":                   {ids: "id=client", body: `{"type":"email","value":"probe@example.com"}`},
	"api DELETE /api/v1/clients/{id}/contacts/{contactID}":     {ids: "id=client contactID=contact"},
	"api POST /api/v1/clients/{id}/addresses":                  {ids: "id=client", body: `{"type":"shipping","street":"1 Probe St","city":"Leeds","country":"GB"}`},
	"api DELETE /api/v1/clients/{id}/addresses/{addressID}":    {ids: "id=client addressID=address"},
	"api POST /api/v1/clients/{id}/notes":                      {ids: "id=client", body: `{"body":"Probe note"}`},
	"api DELETE /api/v1/clients/{id}/notes/{noteID}":           {ids: "id=client noteID=note"},
	"api POST /api/v1/clients/{id}/merge":                      {ids: "id=client &other_id=client"},
	"api GET /api/v1/clients/{id}/timeline":                    {ids: "id=client"},
	"api GET /api/v1/clients/{id}/consents":                    {ids: "id=client"},
	"api POST /api/v1/clients/{id}/consents":                   {ids: "id=client", body: `{"purpose":"marketing","state":"granted","source":"form"}`},
	"api POST /api/v1/clients/{id}/export":                     {ids: "id=client"},
	"api POST /api/v1/clients/{id}/erase":                      {ids: "id=client"},
	"api GET /api/v1/exports/{id}":                             {ids: "id=export"},
	"api GET /api/v1/audit":                                    {},
	"api GET /api/v1/templates":                                {ids: "?q=word"},
	"api POST /api/v1/templates":                               {body: `{"name":"Probe","body":"Probe"}`},
	"api GET /api/v1/templates/{id}":                           {ids: "id=template"},
	"api PATCH /api/v1/templates/{id}":                         {ids: "id=template", body: `{"name":"Probe"}`},
	"api DELETE /api/v1/templates/{id}":                        {ids: "id=template"},
	"api GET /api/v1/chats":                                    {ids: "?client_id=client ?assignee=user"},
	"api GET /api/v1/chats/{id}":                               {ids: "id=chat"},
	"api PATCH /api/v1/chats/{id}":                             {ids: "id=chat &assignee_id=user"},
	"api GET /api/v1/chats/{id}/messages":                      {ids: "id=chat ?before=message"},
	"api POST /api/v1/chats/{id}/messages":                     {ids: "id=chat &contact_id=contact &template_id=template", body: `{"text":"Probe reply"}`},
	"api POST /api/v1/chats/{id}/read":                         {ids: "id=chat"},
	"api POST /api/v1/clients/{id}/chat":                       {ids: "id=client"},
	"api GET /api/v1/messages/search":                          {ids: "?q=word"},
	"api GET /api/v1/messages/{id}":                            {ids: "id=message"},
	"api POST /api/v1/messages/{id}/retry":                     {ids: "id=message"},
	"api POST /api/v1/sandbox/inbound":                         {body: `{"from":{"type":"email","value":"probe@example.com"},"text":"Probe"}`},
	"api GET /api/v1/clients/{id}/legal-hold":                  {ids: "id=client"},
	"api PUT /api/v1/clients/{id}/legal-hold":                  {ids: "id=client", body: `{"legal_hold":true}`},
	"api GET /api/v1/settings/retention":                       {},
	"api PUT /api/v1/settings/retention":                       {},
	"api GET /api/v1/settings/retention/preview":               {},
	"api POST /api/v1/settings/retention/preview":              {},
	"api GET /api/v1/consents":                                 {},
	"api GET /api/v1/consents/summary":                         {},
	"api GET /api/v1/kb/categories":                            {},
	"api POST /api/v1/kb/categories":                           {body: `{"name":"Probe"}`},
	"api GET /api/v1/kb/categories/{id}":                       {ids: "id=kbcategory"},
	"api PATCH /api/v1/kb/categories/{id}":                     {ids: "id=kbcategory", body: `{"name":"Probe"}`},
	"api DELETE /api/v1/kb/categories/{id}":                    {ids: "id=kbcategory"},
	"api GET /api/v1/kb/articles":                              {ids: "?category_id=kbcategory ?q=word"},
	"api POST /api/v1/kb/articles":                             {ids: "&category_id=kbcategory &translation_of=kbarticle", body: `{"title":"Probe","body_markdown":"Probe","locale":"de"}`},
	"api GET /api/v1/kb/articles/{id}":                         {ids: "id=kbarticle"},
	"api PATCH /api/v1/kb/articles/{id}":                       {ids: "id=kbarticle &category_id=kbcategory", body: `{"title":"Probe"}`},
	"api DELETE /api/v1/kb/articles/{id}":                      {ids: "id=kbarticle"},
	"api GET /api/v1/channels":                                 {},
	"api POST /api/v1/channels":                                {},
	"api GET /api/v1/channels/{id}":                            {ids: "id=channel"},
	"api PATCH /api/v1/channels/{id}":                          {ids: "id=channel", body: `{"name":"Sandbox"}`},
	"api DELETE /api/v1/channels/{id}":                         {ids: "id=channel"},
	"api GET /api/v1/settings/portal":                          {},
	"api PUT /api/v1/settings/portal":                          {},
	"api PUT /api/v1/settings/portal/logo":                     {},
	"api DELETE /api/v1/settings/portal/logo":                  {},
	"api GET /api/v1/settings/portal/domains":                  {},
	"api POST /api/v1/settings/portal/domains":                 {ids: "&domain=domain", last: true},
	"api DELETE /api/v1/settings/portal/domains/{domain}":      {ids: "domain=domain"},
	"api POST /api/v1/settings/portal/domains/{domain}/verify": {ids: "domain=domain"},
	"api POST /api/v1/channels/{id}/test":                      {ids: "id=channel"},
	"api /api/":                                                {ids: "-"},

	// Provider webhooks: the channel id in the path is the only key.
	"hooks POST /hooks/{channelID}":                     {ids: "channelID=hookchannel"},
	"hooks GET /hooks/{channelID}":                      {ids: "channelID=hookchannel", body: "hub.mode=subscribe&hub.verify_token=probe-verify-token&hub.challenge=1158201444"},
	"hooks GET /hooks/{channelID}/media/{attID}/{name}": {ids: "channelID=hookchannel attID/name=mediaattachment", signed: true},
	"hooks /": {ids: "-"},

	// The public site: the attacker's portal session and web chat visitor.
	"pub GET /help":                         {},
	"pub GET /help/search":                  {ids: "?q=word"},
	"pub GET /help/categories/{slug}":       {ids: "slug=kbcategoryslug"},
	"pub GET /help/articles/{slug}":         {ids: "slug=kbarticleslug"},
	"pub POST /help/articles/{slug}/vote":   {ids: "slug=kbarticleslug", body: "helpful=yes"},
	"pub GET /help/sitemap.xml":             {},
	"pub GET /help/files/{id}/{name}":       {ids: "id/name=kbfile"},
	"pub GET /help/contact":                 {},
	"pub POST /help/contact":                {},
	"pub GET /help/contact/sent":            {ids: "?r=receipt"},
	"pub GET /help/logo/{file}":             {ids: "file=logo"},
	"pub GET /widget.js":                    {},
	"pub GET /widget/frame":                 {ids: "?before=visitormessage"},
	"pub GET /widget/messages":              {ids: "?after=visitormessage"},
	"pub POST /widget/messages":             {ids: "&visitor=visitor", body: "text=Probe"},
	"pub POST /widget/email":                {ids: "&visitor=visitor &email=clientemail"},
	"pub GET /widget/events":                {ids: "?visitor=visitor", stream: true},
	"pub GET /portal/login":                 {},
	"pub POST /portal/login":                {ids: "&email=clientemail"},
	"pub GET /portal/login/sent":            {},
	"pub GET /portal/login/{token}":         {ids: "token=portallink"},
	"pub POST /portal/login/{token}":        {ids: "token=portallink"},
	"pub POST /portal/logout":               {},
	"pub GET /portal":                       {ids: "?before=message"},
	"pub GET /portal/messages/new":          {ids: "?after=message"},
	"pub POST /portal/messages":             {body: "text=Probe"},
	"pub GET /portal/attachments/{id}":      {ids: "id=attachment"},
	"pub GET /portal/preferences":           {},
	"pub POST /portal/preferences/consents": {},
	"pub POST /portal/preferences/channel":  {},
	"pub GET /portal/data":                  {},
	"pub POST /portal/data/exports":         {},
	"pub GET /portal/data/exports/{id}":     {ids: "id=export"},
	"pub /":                                 {ids: "-"},
}

// probeRouteDecl finds every route registered in routes.go: the mux variable
// and the pattern.
var probeRouteDecl = regexp.MustCompile(`\b(\w+)\.Handle(?:Func)?\("([^"]+)"`)

// probeRoute is one route of routes.go.
type probeRoute struct {
	key, mux, method, pattern string
	spec                      probeSpec
}

// probeRegisteredRoutes reads routes.go and pairs each route with its spec,
// failing for a route the table does not know and for a stale entry.
func probeRegisteredRoutes(t *testing.T) []probeRoute {
	t.Helper()
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var routes []probeRoute
	seen := map[string]bool{}
	for _, m := range probeRouteDecl.FindAllStringSubmatch(string(src), -1) {
		key := m[1] + " " + m[2]
		seen[key] = true
		spec, ok := probeRoutes[key]
		if !ok {
			t.Errorf("%s (routes.go) is not in probeRoutes: say which ids it takes, so the cross-tenant probe covers it", key)
			continue
		}
		r := probeRoute{key: key, mux: m[1], pattern: m[2], spec: spec}
		if method, path, ok := strings.Cut(m[2], " "); ok {
			r.method, r.pattern = method, path
		}
		routes = append(routes, r)
	}
	if len(routes) < 200 {
		t.Fatalf("found only %d routes in routes.go; has the way routes are registered changed?", len(routes))
	}
	for key := range probeRoutes {
		if !seen[key] {
			t.Errorf("probeRoutes has %s, which routes.go no longer registers", key)
		}
	}
	return routes
}

// probeTenant is one workspace filled with one of every kind of object a
// route can name, and the credentials of its admin, API, portal client and
// web chat visitor.
type probeTenant struct {
	slug    string
	ws      *tenantdb.Workspace
	objs    map[string][]string // kind -> values, the first is probed by default
	session string              // Cookie header of the signed-in admin
	token   string              // an admin API token's secret
	portal  string              // the portal client's cookie value
	visitor string              // the web chat visitor's token
	hook    app.Channel         // a channel with webhooks and media links
}

// probeEnv is the server with the two workspaces.
type probeEnv struct {
	e      *env
	mailer *ptMailer
	full   bool
	ws     map[string]*probeTenant
	known  map[string]bool // every fixture value: left as they are when normalising
}

func probeSetup(t *testing.T) *probeEnv {
	t.Helper()
	m := &ptMailer{provider: &ptProvider{}}
	q, eq := &exportQueue{}, &erasureQueue{}
	e := setup(t, func(c *web.Config) {
		c.Delivery, c.ClientIPHeader, c.Exports, c.Erasures = m, ptHeader, q, eq
		c.LookupTXT = func(context.Context, string) ([]string, error) { return nil, nil }
		c.Drivers = map[app.ChannelType]app.Driver{app.ChannelWhatsAppCloud: meta.New(meta.Options{Now: c.Now}).WhatsApp()}
	})
	m.e, q.tenants, eq.tenants = e, e.tenants, e.tenants
	p := &probeEnv{e: e, mailer: m, full: os.Getenv("PARLEY_PROBE") == "full", ws: map[string]*probeTenant{}, known: map[string]bool{}}
	for _, slug := range []string{"alpha", "bravo"} {
		pt := p.fill(t, slug)
		p.ws[slug] = pt
		for _, vs := range pt.objs {
			for _, v := range vs {
				for _, part := range strings.Split(v, "|") {
					p.known[part] = true
				}
			}
		}
	}
	return p
}

// fill provisions slug and makes one of every kind of object in it.
func (p *probeEnv) fill(t *testing.T, slug string) *probeTenant {
	t.Helper()
	ws := p.e.workspace(slug)
	f := &probeFill{t: t, ctx: context.Background(), e: p.e, db: p.e.db(ws), slug: slug,
		pt: &probeTenant{slug: slug, ws: ws, objs: map[string][]string{}},
		// word is in the names and texts of this workspace only: searches for
		// it elsewhere must find what a search for a word in no workspace finds.
		word: "quokka" + slug, annEmail: "ann@" + slug + ".example"}
	f.add("word", f.word)
	f.team()
	f.clients()
	f.conversation()
	f.helpCenter()
	f.settings()
	p.signIn(t, f.pt, f.annEmail)
	return f.pt
}

// probeFill fills one workspace.
type probeFill struct {
	t        *testing.T
	ctx      context.Context
	e        *env
	db       *tenantdb.DB
	slug     string
	pt       *probeTenant
	word     string
	annEmail string
	agent    *app.User
	ann      *app.Client
}

var probeActor = app.CLIActor

func (f *probeFill) add(kind string, v ...string) { f.pt.objs[kind] = append(f.pt.objs[kind], v...) }

func (f *probeFill) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("fill %s: %v", f.slug, err)
	}
}

// team makes a second user, an invite, a password reset, a sign-in link
// and an admin API token.
func (f *probeFill) team() {
	var err error
	f.agent, err = f.db.CreateUser(f.ctx, app.NewUser{Email: "agent@" + f.slug + ".example", Name: "Agent of " + f.slug,
		Password: "a good long password", Role: app.RoleAgent}, probeActor)
	f.must(err)
	f.add("user", f.agent.ID, f.pt.ws.Admin.ID)
	f.add("useremail", "admin@"+f.slug+".example", f.agent.Email)
	inv, secret, err := f.db.CreateInvite(f.ctx, app.NewInvite{Email: "new@" + f.slug + ".example", Role: app.RoleAgent}, probeActor)
	f.must(err)
	f.add("invite", inv.ID)
	f.add("invitesecret", secret)
	reset, _, err := f.db.CreatePasswordReset(f.ctx, f.agent.ID, probeActor)
	f.must(err)
	f.add("resetsecret", reset)
	link, err := f.db.CreateLoginLink(f.ctx, f.agent.ID)
	f.must(err)
	f.add("loginlink", link)
	tok, secret, err := f.db.CreateToken(f.ctx, app.NewAPIToken{Name: "probe", Role: app.RoleAdmin}, probeActor)
	f.must(err)
	f.add("token", tok.ID)
	f.pt.token = secret
}

// clients makes Ann with a contact, an address, a note, a consent and a
// ready export; Bo, who shares her last name (a merge search from Ann
// finds him); and Cy, whose erasure waits for its job.
func (f *probeFill) clients() {
	var err error
	f.ann, err = f.db.CreateClient(f.ctx, app.ClientInput{FirstName: "Ann", LastName: "Quokka" + f.slug, OwnerID: f.agent.ID}, probeActor)
	f.must(err)
	f.add("client", f.ann.ID)
	f.add("clientemail", f.annEmail)
	bo, err := f.db.CreateClient(f.ctx, app.ClientInput{FirstName: "Bo", LastName: "Quokka" + f.slug}, probeActor)
	f.must(err)
	f.add("client", bo.ID)
	cy, err := f.db.CreateClient(f.ctx, app.ClientInput{FirstName: "Cy", LastName: "Erased"}, probeActor)
	f.must(err)
	_, err = f.db.RequestErasure(f.ctx, cy.ID, probeActor)
	f.must(err)
	f.add("client", cy.ID)

	contact, err := f.db.AddContact(f.ctx, f.ann.ID, app.ContactInput{Type: app.ContactEmail, Value: f.annEmail}, probeActor)
	f.must(err)
	f.add("contact", contact.ID)
	addr, err := f.db.AddAddress(f.ctx, f.ann.ID, app.AddressInput{Type: app.AddressShipping, Street: "1 High St", City: "Leeds", Country: "GB"}, probeActor)
	f.must(err)
	f.add("address", addr.ID)
	note, err := f.db.AddNote(f.ctx, f.ann.ID, app.NoteInput{Body: "Secret note of " + f.slug}, probeActor)
	f.must(err)
	f.add("note", note.ID)
	_, err = f.db.RecordConsent(f.ctx, f.ann.ID, app.ConsentInput{Purpose: app.PurposeMarketing, State: app.ConsentGranted, Source: app.SourceForm}, probeActor)
	f.must(err)
	ex, err := f.db.RequestExport(f.ctx, f.ann.ID, probeActor)
	f.must(err)
	_, err = f.db.BuildExport(f.ctx, ex.ID)
	f.must(err)
	f.add("export", ex.ID)
}

// conversation connects a sandbox and a WhatsApp channel (which has
// webhooks and media links) and fills Ann's chat: her email with a file,
// her WhatsApp message, the team's reply with a file through WhatsApp,
// and an internal note.
func (f *probeFill) conversation() {
	all := app.ChatScope{All: true}
	sandbox, err := f.db.ConnectChannel(f.ctx, app.ChannelSandbox, "Sandbox", app.SandboxSettings{}, nil, probeActor)
	f.must(err)
	hookID := tenantdb.NewChannelID()
	f.pt.hook, err = f.db.ConnectChannelID(f.ctx, hookID, app.ChannelWhatsAppCloud, "WhatsApp",
		map[string]string{"phone_number_id": "1065" + fmt.Sprint(len(f.slug)), "verify_token": "probe-verify-token",
			channel.WebhookURLKey: hostURL(f.slug, "/hooks/"+hookID), "api_base_url": "http://127.0.0.1:9"},
		map[string]string{"access_token": "token-" + f.slug, "app_secret": "secret-" + f.slug, app.WebhookSecretKey: "webhook-secret-" + f.slug}, probeActor)
	f.must(err)
	f.add("channel", sandbox.ID, hookID)
	f.add("hookchannel", hookID)

	msg, _, err := f.db.ReceiveMessage(f.ctx, app.InboundMessage{ChannelID: sandbox.ID, From: app.ContactInput{Type: app.ContactEmail, Value: f.annEmail},
		Text: "Where is my order, asks " + f.word, ProviderMessageID: "probe-" + f.slug,
		Uploads: []app.Upload{{Filename: "invoice-" + f.slug + ".txt", Data: []byte("invoice of " + f.slug)}}})
	f.must(err)
	_, err = f.db.UpdateChat(f.ctx, msg.ChatID, app.ChatUpdate{AssigneeID: &f.agent.ID}, all, probeActor)
	f.must(err)
	whatsApp := app.ContactInput{Type: app.ContactWhatsApp, Value: "+14155550123"}
	phone, err := f.db.AddContact(f.ctx, f.ann.ID, whatsApp, probeActor)
	f.must(err)
	_, _, err = f.db.ReceiveMessage(f.ctx, app.InboundMessage{ChannelID: hookID, From: whatsApp, Text: "Hi on WhatsApp", ProviderMessageID: "wamid.probe-" + f.slug})
	f.must(err)
	out, err := f.db.SendMessage(f.ctx, msg.ChatID, app.SendInput{Text: "Your invoice", ChannelID: hookID, ContactID: phone.ID,
		Uploads: []app.Upload{{Filename: "receipt-" + f.slug + ".txt", Data: []byte("receipt of " + f.slug)}}}, all, probeActor)
	f.must(err)
	note, err := f.db.SendMessage(f.ctx, msg.ChatID, app.SendInput{Text: "Internal note of " + f.slug, Note: true}, all, probeActor)
	f.must(err)
	if len(msg.Attachments) != 1 || len(out.Attachments) != 1 {
		f.t.Fatalf("fill %s: got %d and %d attachments, want 1 each", f.slug, len(msg.Attachments), len(out.Attachments))
	}
	file := func(a app.Attachment) string { return a.ID + "|" + a.Filename }
	f.add("chat", msg.ChatID)
	f.add("message", msg.ID, out.ID, note.ID)
	f.add("contact", phone.ID)
	f.add("attachment", file(msg.Attachments[0]), file(out.Attachments[0]))
	f.add("mediaattachment", file(out.Attachments[0]))
}

// helpCenter makes a category, a published article and a draft, an image
// and a logo (of another colour in each workspace: logos are stored by
// their content's hash).
func (f *probeFill) helpCenter() {
	cat := mustKBCategory(f.t, f.db, "Shipping "+f.slug, "How we ship")
	f.add("kbcategory", cat.ID)
	f.add("kbcategoryslug", cat.Slug)
	published := mustKBArticle(f.t, f.db, app.KBArticleInput{Title: "Returns at " + f.word, BodyMarkdown: "Send it back.", CategoryID: cat.ID, Published: true})
	draft := mustKBArticle(f.t, f.db, app.KBArticleInput{Title: "Draft of " + f.slug, BodyMarkdown: "Not yet.", CategoryID: cat.ID})
	f.add("kbarticle", published.ID, draft.ID)
	f.add("kbarticleslug", published.Slug, draft.Slug)
	img := mustKBImage(f.t, f.db, "diagram-"+f.slug+".png")
	f.add("kbfile", img.ID+"|"+img.Filename)
	b, err := f.db.SetBranding(f.ctx, app.Branding{Name: "Help of " + f.slug, Accent: "#336699"},
		&app.Upload{Filename: "logo.png", Data: pngBytes(f.t, color.RGBA{R: f.slug[0], A: 255})}, false, probeActor)
	f.must(err)
	logo, _, _ := strings.Cut(b.LogoURL[strings.LastIndexByte(b.LogoURL, '/')+1:], "?")
	// The full probe also asks for this logo by its path from another
	// workspace's logo directory.
	f.add("logo", logo, "../../"+f.pt.ws.Tenant.ID+".files/portal/"+logo)
}

// settings makes a template, a custom field and a pending custom domain.
func (f *probeFill) settings() {
	tpl, err := f.db.CreateTemplate(f.ctx, app.TemplateInput{Name: "Hours of " + f.slug, Body: "We are open, " + f.word + "."}, probeActor)
	f.must(err)
	f.add("template", tpl.ID)
	field, err := f.db.CreateCustomField(f.ctx, app.CustomFieldInput{Key: "loyalty_" + f.slug, Label: "Loyalty", Type: app.FieldText}, probeActor)
	f.must(err)
	f.add("customfield", field.ID)
	d, err := f.e.control.AddDomain(f.ctx, f.pt.ws.Tenant.ID, "help."+f.slug+".example", baseDomain)
	f.must(err)
	f.add("domain", d.Domain)
}

// signIn makes the credentials a browser of each side holds: the admin's
// session, the client's portal session (and an unused sign-in link), a
// web chat visitor with a message and a contact form's receipt.
func (p *probeEnv) signIn(t *testing.T, pt *probeTenant, annEmail string) {
	t.Helper()
	e, slug := p.e, pt.slug
	admin := e.browser()
	admin.login(slug, "admin@"+slug+".example", "correct horse battery")
	pt.session = probeCookies(admin.c.Jar.Cookies(probeURL(hostURL(slug, "/"))))

	client := ptSignIn(t, e, pt.ws, annEmail)
	for _, c := range client.c.Jar.Cookies(probeURL(hostURL(slug, "/portal"))) {
		if c.Name == "parley_portal" {
			pt.portal = c.Value
		}
	}
	if pt.portal == "" {
		t.Fatalf("%s: the portal sign-in set no cookie", slug)
	}
	// A second link, never used: its secret is what the probe offers.
	if res := e.browser().ptRequest(slug, annEmail, "192.0.2.9"); res.Status != http.StatusSeeOther {
		t.Fatalf("%s: ask for a second link: got %d", slug, res.Status)
	}
	pt.objs["portallink"] = []string{strings.TrimPrefix(ptLink(t, e, pt.ws, annEmail), "/portal/login/")}
	p.startWebChat(t, pt)
	p.sendContactForm(t, pt)
}

// startWebChat writes in the web chat as a new visitor.
func (p *probeEnv) startWebChat(t *testing.T, pt *probeTenant) {
	t.Helper()
	e, slug := p.e, pt.slug
	req, _ := http.NewRequest("POST", hostURL(slug, "/widget/messages"), strings.NewReader(`{"text":"Hello from the widget of `+slug+`","key":"probe-key-0001"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res := e.browser().do(req)
	var posted struct {
		Visitor string `json:"visitor"`
		Message struct {
			ID string `json:"id"`
		} `json:"message"`
	}
	if err := json.Unmarshal([]byte(res.Body), &posted); err != nil || posted.Visitor == "" || posted.Message.ID == "" {
		t.Fatalf("%s: web chat post: got %d %s", slug, res.Status, snippet(res.Body))
	}
	pt.visitor = posted.Visitor
	pt.objs["visitor"] = []string{posted.Visitor}
	pt.objs["visitormessage"] = []string{posted.Message.ID}
	pt.objs["message"] = append(pt.objs["message"], posted.Message.ID)
	db := e.db(pt.ws)
	if id, ok := db.OpenWebChatVisitor(posted.Visitor); !ok {
		t.Fatalf("%s: the visitor token does not open", slug)
	} else if v, err := db.WebChatVisitor(context.Background(), id); err != nil {
		t.Fatal(err)
	} else {
		pt.objs["chat"] = append(pt.objs["chat"], v.ChatID)
	}
}

// sendContactForm sends the contact form, for its signed receipt.
func (p *probeEnv) sendContactForm(t *testing.T, pt *probeTenant) {
	t.Helper()
	e, slug := p.e, pt.slug
	tok := openForm(t, e.browser(), hostURL(slug, "/help/contact"))
	e.clock.Advance(10 * time.Second) // a form filled in faster than a person can is refused
	sent := e.browser().post(slug, "/help/contact", contactFields(tok))
	loc, err := url.Parse(sent.Header.Get("Location"))
	if sent.Status != http.StatusSeeOther || err != nil || loc.Query().Get("r") == "" {
		t.Fatalf("%s: contact form: got %d to %q, want 303 with a receipt", slug, sent.Status, sent.Header.Get("Location"))
	}
	pt.objs["receipt"] = []string{loc.Query().Get("r")}
}

func probeURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func probeUnescape(s string) string {
	u, err := url.PathUnescape(s)
	if err != nil {
		panic(err)
	}
	return u
}

func probeCookies(cs []*http.Cookie) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// probeSlot is one place a request names an id.
type probeSlot struct {
	where  byte     // 'p' path, '?' query, '&' form or JSON field
	params []string // names; several path parameters share one object
	kind   string
}

func probeParseSlots(t *testing.T, key, ids string) []probeSlot {
	var slots []probeSlot
	for _, f := range strings.Fields(ids) {
		names, kind, ok := strings.Cut(f, "=")
		if !ok || kind == "" {
			t.Fatalf("%s: bad id slot %q", key, f)
		}
		s := probeSlot{where: 'p', kind: kind}
		if names[0] == '?' || names[0] == '&' {
			s.where, names = names[0], names[1:]
		}
		s.params = strings.Split(names, "/")
		slots = append(slots, s)
	}
	return slots
}

// probeMissing returns a value shaped like v that names nothing: the same
// length, alphabet and punctuation, so that it passes the same format
// checks. Of a value with several parts, only the first (the id) changes;
// everything from its first dot on (a file's extension, a domain's parent)
// stays.
func probeMissing(v string) string {
	first, rest, _ := strings.Cut(v, "|")
	ext := ""
	if i := strings.IndexByte(first, '.'); i > 0 {
		first, ext = first[:i], first[i:]
	}
	b := []byte(first)
	// Keep a prefix such as "prl_" or "ppl_" or "v1:key:" and the time part
	// of a ULID: change the random part only.
	for i := len(b) / 2; i < len(b); i++ {
		b[i] = probeRotate(b[i])
	}
	out := string(b) + ext
	if rest != "" {
		out += "|" + rest
	}
	return out
}

const probeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

func probeRotate(c byte) byte {
	switch {
	case strings.IndexByte(probeAlphabet, c) >= 0:
		return probeAlphabet[(strings.IndexByte(probeAlphabet, c)+7)%len(probeAlphabet)]
	case c >= 'a' && c <= 'z':
		return 'a' + (c-'a'+7)%26
	case c >= 'A' && c <= 'Z':
		return 'A' + (c-'A'+7)%26
	}
	return c
}

// probeCase is one comparison: a request naming the victim's object or
// credential, and the same request naming one that does not exist.
type probeCase struct {
	route            probeRoute
	what             string // which id or credential
	foreign, missing func() *http.Request
	foreignV, missV  string // the two values, hidden when comparing answers
	// own is the request with the attacker's own object in the slot, and
	// ownV that object: its answer must differ from the missing one, or the
	// slot is not reaching the code it is meant to probe.
	own          func() *http.Request
	ownV         string
	isCredential bool // what is probed is a credential, not an id
}

// probeLeak is a probe whose two answers differ.
type probeLeak struct {
	route, what string
	foreign     string
	missing     string
}

// cases builds every probe of one route, attacker against victim.
func (p *probeEnv) cases(t *testing.T, r probeRoute, att, vic *probeTenant) []probeCase {
	if r.spec.ids == "-" || r.method == "" {
		return nil
	}
	slots := probeParseSlots(t, r.key, r.spec.ids)
	var out []probeCase
	// Each id slot, with the victim's object.
	for i, s := range slots {
		objs := vic.objs[s.kind]
		if len(objs) == 0 || len(att.objs[s.kind]) == 0 {
			t.Fatalf("%s: no fixture of kind %q", r.key, s.kind)
		}
		if !p.full {
			objs = objs[:1]
		}
		for _, v := range objs {
			values := func(x string) []string {
				vs := make([]string, len(slots))
				for j, o := range slots {
					vs[j] = att.objs[o.kind][0]
				}
				vs[i] = x
				return vs
			}
			miss := probeMissing(v)
			ownV := att.objs[s.kind][0]
			out = append(out, probeCase{route: r, what: fmt.Sprintf("%s %s %s", strings.Join(s.params, "/"), s.kind, v),
				foreign:  func() *http.Request { return p.request(t, r, att, slots, values(v), nil) },
				missing:  func() *http.Request { return p.request(t, r, att, slots, values(miss), nil) },
				foreignV: v, missV: miss,
				own: func() *http.Request { return p.request(t, r, att, slots, values(ownV), nil) }, ownV: ownV})
		}
	}
	// The victim's credential on the attacker's host, with every id slot
	// holding the attacker's own objects.
	own := make([]string, len(slots))
	for j, o := range slots {
		own[j] = att.objs[o.kind][0]
	}
	mine := p.credentials(r, att, att)
	for i, c := range p.credentials(r, att, vic) {
		miss, ownV := probeMissing(c.value), mine[i].value
		out = append(out, probeCase{route: r, what: c.what, isCredential: true, ownV: ownV,
			own: func() *http.Request {
				return p.request(t, r, att, slots, own, func(req *http.Request) { c.set(req, ownV) })
			},
			foreign: func() *http.Request {
				return p.request(t, r, att, slots, own, func(req *http.Request) { c.set(req, c.value) })
			},
			missing: func() *http.Request {
				return p.request(t, r, att, slots, own, func(req *http.Request) { c.set(req, miss) })
			},
			foreignV: c.value, missV: miss})
	}
	return out
}

// probeCredential is a way a request says who is asking.
type probeCredential struct {
	what  string
	value string
	set   func(req *http.Request, v string)
}

// credentials are the victim's credentials that apply to r's site, as
// they are sent to the attacker's host.
func (p *probeEnv) credentials(r probeRoute, att, vic *probeTenant) []probeCredential {
	cookie := func(name string) func(*http.Request, string) {
		return func(req *http.Request, v string) { req.Header.Set("Cookie", name+"="+v) }
	}
	header := func(name, prefix string) func(*http.Request, string) {
		return func(req *http.Request, v string) { req.Header.Set(name, prefix+v) }
	}
	switch r.mux {
	case "m":
		name, value, _ := strings.Cut(vic.session, "=")
		return []probeCredential{{"session cookie", value, cookie(name)}}
	case "api":
		return []probeCredential{{"API token", vic.token, header("Authorization", "Bearer ")}}
	case "pub":
		creds := []probeCredential{{"portal cookie", vic.portal, cookie("parley_portal")}}
		if strings.HasPrefix(r.pattern, "/widget") {
			creds = append(creds, probeCredential{"visitor cookie", vic.visitor, cookie("parley_visitor")},
				// The header alone: with the attacker's own cookie beside it, a
				// header that does not open falls back to the cookie.
				probeCredential{"visitor header", vic.visitor, func(req *http.Request, v string) {
					req.Header.Set("Cookie", "parley_portal="+att.portal)
					req.Header.Set("X-Parley-Visitor", v)
				}})
		}
		return creds
	}
	return nil
}

// request builds r's request on att's host with the slots holding values;
// cred, when set, replaces the attacker's own credential.
func (p *probeEnv) request(t *testing.T, r probeRoute, att *probeTenant, slots []probeSlot, values []string, cred func(*http.Request)) *http.Request {
	path := r.pattern
	query, form := url.Values{}, url.Values{}
	jsonBody := map[string]any{}
	isAPI := r.mux == "api"
	if r.spec.body != "" {
		if strings.HasPrefix(r.spec.body, "{") {
			if err := json.Unmarshal([]byte(r.spec.body), &jsonBody); err != nil {
				t.Fatalf("%s: body: %v", r.key, err)
			}
		} else if vs, err := url.ParseQuery(r.spec.body); err != nil {
			t.Fatalf("%s: body: %v", r.key, err)
		} else if r.method == "GET" {
			query = vs
		} else {
			form = vs
		}
	}
	for i, s := range slots {
		parts := strings.Split(values[i], "|")
		for j, name := range s.params {
			switch s.where {
			case 'p':
				path = strings.Replace(path, "{"+name+"}", url.PathEscape(parts[j]), 1)
			case '?':
				query.Set(name, parts[j])
			case '&':
				if isAPI {
					jsonBody[name] = parts[j]
				} else {
					form.Set(name, parts[j])
				}
			}
		}
	}
	path = strings.TrimSuffix(path, "{$}")
	if r.spec.signed {
		// Sign the link as the server would for the attacker's own channel:
		// a tenant knows its own webhook secret, never another's.
		parts := strings.Split(path, "/")
		file := app.Attachment{ID: probeUnescape(parts[len(parts)-2]), Filename: probeUnescape(parts[len(parts)-1])}
		link, _ := url.Parse(channel.MediaURL(att.hook, file, p.e.clock.Now()))
		for k, v := range link.Query() {
			query[k] = v
		}
	}
	u := hostURL(att.slug, path)
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	contentType := ""
	switch {
	case r.method == "GET" || r.method == "DELETE" && len(jsonBody) == 0:
	case isAPI:
		b, _ := json.Marshal(jsonBody)
		body, contentType = strings.NewReader(string(b)), "application/json"
	default:
		body, contentType = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
	}
	req, err := http.NewRequest(r.method, u, body)
	if err != nil {
		t.Fatalf("%s: %v", r.key, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if r.spec.htmx {
		req.Header.Set("HX-Request", "true")
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	switch r.mux {
	case "m":
		req.Header.Set("Cookie", att.session)
	case "api":
		req.Header.Set("Authorization", "Bearer "+att.token)
	case "pub":
		req.Header.Set("Cookie", "parley_portal="+att.portal+"; parley_visitor="+att.visitor)
	}
	if cred != nil {
		cred(req)
	}
	return req
}

// probeAnswer is a response reduced to what must not depend on whose id it was.
type probeAnswer struct {
	status int
	text   string // normalised headers and body
}

var (
	probeNonce   = regexp.MustCompile(`nonce(="|-)[A-Za-z0-9+/=]+`)
	probeULID    = regexp.MustCompile(`\b[0-9A-HJKMNP-TV-Z]{26}\b`)
	probeCookie  = regexp.MustCompile(`^([^=]+)=[^;]*`)
	probeHiddenT = regexp.MustCompile(`(name="(?:t|key)" value=")[^"]*"`)
	probeJSONKey = regexp.MustCompile(`("(?:key|visitor)":")[^"]*"`)
	probeExpires = regexp.MustCompile(`Expires=[^;]*`)
	probeSealed  = regexp.MustCompile(`v1:[0-9a-f]{8}:[A-Za-z0-9+/]+`)
	probeHex     = regexp.MustCompile(`\b[0-9a-f]{32}\b`)
	probeSecret  = regexp.MustCompile(`\b[a-z]{3}_[a-z0-9]{32,}\b`)
)

// probeSkippedHeaders change with every request whoever asks.
var probeSkippedHeaders = map[string]bool{"Date": true, "X-Request-Id": true, "Content-Length": true}

// normalise turns a response into text that is the same for two requests
// that differ only in the value the probe changed: per-request nonces,
// ids of objects the requests themselves made, fresh form keys and cookie
// values are blanked, and the two probed values are both written as {V}.
func (p *probeEnv) normalise(res *http.Response, body []byte, values ...string) probeAnswer {
	var b strings.Builder
	names := make([]string, 0, len(res.Header))
	for k := range res.Header {
		if !probeSkippedHeaders[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range res.Header[k] {
			if k == "Set-Cookie" {
				// The session library dates cookies by the wall clock.
				v = probeExpires.ReplaceAllString(probeCookie.ReplaceAllString(v, "$1=*"), "Expires=*")
			}
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	b.WriteString("\n")
	b.Write(body)
	text := b.String()
	for _, v := range values {
		for _, form := range []string{v, url.PathEscape(v), url.QueryEscape(v), strings.ReplaceAll(v, ".", "-")} {
			if form != "" {
				text = strings.ReplaceAll(text, form, "{V}")
			}
		}
	}
	text = probeNonce.ReplaceAllString(text, "nonce=*")
	text = probeSealed.ReplaceAllString(text, "v1:{SEALED}")
	text = probeHex.ReplaceAllString(text, "{HEX}")
	text = probeSecret.ReplaceAllString(text, "{SECRET}")
	text = probeHiddenT.ReplaceAllString(text, `$1*"`)
	text = probeJSONKey.ReplaceAllString(text, `$1*"`)
	text = probeULID.ReplaceAllStringFunc(text, func(id string) string {
		if p.known[id] {
			return id
		}
		return "{NEW}"
	})
	return probeAnswer{status: res.StatusCode, text: text}
}

// do sends req and returns its normalised answer. An event stream is read
// for a moment only.
func (p *probeEnv) do(t *testing.T, r probeRoute, req *http.Request, values ...string) probeAnswer {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if r.spec.stream {
		ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	}
	defer cancel()
	b := p.e.browser()
	b.c.Jar = nil
	res, err := b.c.Do(req.WithContext(ctx))
	if err != nil {
		if r.spec.stream && ctx.Err() != nil {
			return probeAnswer{status: -1, text: "stream opened"}
		}
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil && !(r.spec.stream && ctx.Err() != nil) {
		t.Fatalf("%s %s: read: %v", req.Method, req.URL, err)
	}
	return p.normalise(res, body, values...)
}

// run sends a probe's requests: the missing value, the victim's, and the
// missing one again. The victim's answer must match one of the others: two
// answers to missing values may differ when the first request changed
// something (a rate limit spent, a flash message shown), never because of
// whose id it was.
func (p *probeEnv) run(t *testing.T, c probeCase) *probeLeak {
	before := p.do(t, c.route, c.missing(), c.foreignV, c.missV)
	got := p.do(t, c.route, c.foreign(), c.foreignV, c.missV)
	if got == before {
		return nil
	}
	after := p.do(t, c.route, c.missing(), c.foreignV, c.missV)
	if got == after {
		return nil
	}
	return &probeLeak{route: c.route.key, what: c.what, foreign: probeDescribe(got, after), missing: probeDescribe(after, got)}
}

// probeDescribe gives a's status and its text from the first byte where it
// differs from b.
func probeDescribe(a, b probeAnswer) string {
	i := 0
	for i < len(a.text) && i < len(b.text) && a.text[i] == b.text[i] {
		i++
	}
	start := max(0, i-80)
	end := min(len(a.text), i+160)
	return fmt.Sprintf("%d …%q…", a.status, a.text[start:end])
}

// dumpTenant writes every row of every table of ws's file, its files and
// its rows in the control DB, in a stable order.
func (p *probeEnv) dumpTenant(t *testing.T, pt *probeTenant) string {
	t.Helper()
	path := p.e.tenants.TenantPath(pt.ws.Tenant.ID)
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	tables := probeStrings(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	for _, table := range tables {
		fmt.Fprintf(&b, "== %s\n", table)
		b.WriteString(strings.Join(probeRows(t, db, `SELECT * FROM "`+table+`"`), "\n"))
	}
	files := strings.TrimSuffix(path, ".db") + ".files"
	filepath.WalkDir(files, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, _ := d.Info()
			fmt.Fprintf(&b, "file %s %d\n", strings.TrimPrefix(path, files), info.Size())
		}
		return nil
	})
	domains, err := p.e.control.TenantDomains(context.Background(), pt.ws.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "domains %+v\n", domains)
	return b.String()
}

func probeStrings(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func probeRows(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%v", vals))
	}
	sort.Strings(out)
	return out
}

// TestCrossTenantProbe walks every route with the other workspace's ids,
// sessions, tokens, portal and visitor credentials, secrets and slugs, and
// fails listing each answer that differs from the answer to a value that
// does not exist, and any change to the other workspace.
//
// PARLEY_PROBE=full go test ./app/web -run TestCrossTenantProbe probes
// every object of every kind, in both directions.
func TestCrossTenantProbe(t *testing.T) {
	t.Parallel()
	routes := probeRegisteredRoutes(t)
	if t.Failed() {
		return
	}
	probeSortLast(routes)
	p := probeSetup(t)
	directions := [][2]string{{"alpha", "bravo"}}
	if p.full {
		directions = append(directions, [2]string{"bravo", "alpha"})
	}
	for _, d := range directions {
		att, vic := p.ws[d[0]], p.ws[d[1]]
		before := p.dumpTenant(t, vic)
		var leaks []*probeLeak
		probes, perRoute := 0, map[string]int{}
		for _, r := range routes {
			for _, c := range p.cases(t, r, att, vic) {
				probes++
				if l := p.run(t, c); l != nil {
					leaks = append(leaks, l)
					perRoute[r.key]++
				}
			}
		}
		t.Logf("%s → %s: %d probes over %d routes, %d leaks", att.slug, vic.slug, probes, len(routes), len(leaks))
		for _, l := range leaks {
			t.Errorf("LEAK %s with %s's %s:\n  theirs:  %s\n  missing: %s", l.route, vic.slug, l.what, l.foreign, l.missing)
		}
		if len(perRoute) > 0 {
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range perRoute {
					if !yield(k) {
						return
					}
				}
			})
			for _, k := range keys {
				t.Logf("leaks on %s: %d", k, perRoute[k])
			}
		}
		if after := p.dumpTenant(t, vic); after != before {
			t.Errorf("probing %s as %s changed %s's data:\n%s", vic.slug, att.slug, vic.slug, probeDiff(before, after))
		}
	}
}

// probeDiff shows the first line where two dumps differ.
func probeDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n  before: %s\n  after:  %s", i+1, snippet(al[i]), snippet(bl[i]))
		}
	}
	return fmt.Sprintf("%d lines before, %d after", len(al), len(bl))
}

// TestCrossTenantProbeReachesObjects is the probe's own check: for every
// GET route, a slot holding the workspace's own object must get another
// answer than one holding a missing id. A slot that does not is probing
// nothing (a wrong parameter name, a credential that does not work).
func TestCrossTenantProbeReachesObjects(t *testing.T) {
	t.Parallel()
	routes := probeRegisteredRoutes(t)
	if t.Failed() {
		return
	}
	p := probeSetup(t)
	att, vic := p.ws["alpha"], p.ws["bravo"]
	probeSortLast(routes)
	live := map[string]int{} // credential -> routes where it changes the answer
	for _, r := range routes {
		if r.method != "GET" || r.spec.stream {
			continue
		}
		for _, c := range p.cases(t, r, att, vic) {
			own := p.do(t, r, c.own(), c.ownV, c.missV)
			missing := p.do(t, r, c.missing(), c.ownV, c.missV)
			if c.isCredential {
				live[c.what] += map[bool]int{true: 1}[own != missing]
				continue
			}
			if own == missing {
				t.Errorf("%s: the slot %s answers its own object like a missing one (%d)\n%s", r.key, c.what, own.status, snippet(own.text))
			}
		}
	}
	// A credential opens only some pages (a sign-in page looks the same to
	// anyone), but each must open some.
	for _, what := range []string{"session cookie", "API token", "portal cookie", "visitor cookie", "visitor header"} {
		if live[what] == 0 {
			t.Errorf("the workspace's own %s changes no answer: the probe's credentials do not work", what)
		}
		t.Logf("own %s changes the answer of %d GET routes", what, live[what])
	}
}

// probeSortLast moves the routes marked last to the end, keeping the order of
// routes.go otherwise.
func probeSortLast(routes []probeRoute) {
	slices.SortStableFunc(routes, func(a, b probeRoute) int {
		switch {
		case a.spec.last == b.spec.last:
			return 0
		case a.spec.last:
			return 1
		}
		return -1
	})
}
