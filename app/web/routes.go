package web

import (
	"net/http"
	"strings"

	"parley/app"
	"parley/static"
)

// routes lists every route of Parley. There are three sites, chosen by Host:
// the base domain (landing and sign-up), a workspace's team app at
// {slug}.{base domain} with its /api/v1, and custom domains (portals).
func (s *Server) routes() {
	root := http.NewServeMux()
	root.HandleFunc("GET /{$}", s.showLanding)
	root.HandleFunc("GET /signup", s.showSignup)
	root.HandleFunc("POST /signup", s.signup)
	root.HandleFunc("GET /login", s.showFindWorkspace)
	root.HandleFunc("POST /login", s.findWorkspace)
	s.root = root

	m := http.NewServeMux()
	m.Handle("GET /{$}", s.page("", s.showHome))
	m.Handle("GET /login", s.public(s.showLogin))
	m.Handle("POST /login", s.public(s.login))
	m.Handle("POST /logout", s.public(s.logout))
	m.Handle("GET /login/link", s.public(s.useLoginLink))
	m.Handle("GET /invite/{secret}", s.public(s.showAcceptInvite))
	m.Handle("POST /invite/{secret}", s.public(s.acceptInvite))
	m.Handle("GET /reset/{secret}", s.public(s.showResetPassword))
	m.Handle("POST /reset/{secret}", s.public(s.resetPassword))

	// Conversations: the inbox and its fragments (app/web/inbox*.go, views/inbox).
	m.Handle("GET /inbox/events", s.page("", s.streamEvents))
	m.Handle("GET /inbox", s.page("", s.showInbox))
	m.Handle("GET /notifications", s.page("", s.showNotifications))
	m.Handle("GET /notifications/count", s.page("", s.showNotificationCount))
	// -- inbox routes --
	m.Handle("GET /inbox/list", s.page("", s.listChats))
	m.Handle("GET /inbox/search", s.page("", s.searchInbox))
	m.Handle("GET /inbox/unread", s.page("", s.showUnread))
	m.Handle("GET /inbox/templates", s.page(app.PermUseTemplates, s.showTemplatePicker))
	m.Handle("GET /inbox/{chatID}", s.page("", s.showChat))
	m.Handle("GET /inbox/{chatID}/history", s.page("", s.showChatHistory))
	m.Handle("GET /inbox/{chatID}/live", s.page("", s.showChatLive))
	m.Handle("POST /inbox/{chatID}/messages", s.page(app.PermSendMessages, s.sendMessage))
	m.Handle("POST /inbox/{chatID}/assign", s.page(app.PermWorkConversations, s.assignChat))
	m.Handle("POST /inbox/{chatID}/status", s.page(app.PermWorkConversations, s.changeChatStatus))
	m.Handle("POST /inbox/messages/{id}/retry", s.page(app.PermSendMessages, s.retryMessage))
	m.Handle("GET /inbox/messages/{id}/html", s.page("", s.showMessageHTML))
	m.Handle("GET /attachments/{id}", s.page("", s.serveAttachment))
	m.Handle("GET /clients/{id}/chat", s.page(app.PermViewClients, s.showClientChatButton))
	m.Handle("POST /clients/{id}/chat", s.page(app.PermSendMessages, s.startChat))
	m.Handle("GET /clients", s.page(app.PermViewClients, s.showClients))
	m.Handle("GET /clients/new", s.page(app.PermManageClients, s.showNewClient))
	m.Handle("POST /clients", s.page(app.PermManageClients, s.createClient))
	m.Handle("POST /clients/duplicates", s.page(app.PermViewClients, s.checkDuplicates))
	m.Handle("GET /clients/{id}", s.page(app.PermViewClients, s.showClient))
	m.Handle("GET /clients/{id}/edit", s.page(app.PermManageClients, s.showEditClient))
	m.Handle("POST /clients/{id}", s.page(app.PermManageClients, s.saveClient))
	m.Handle("POST /clients/{id}/status", s.page(app.PermManageClients, s.changeClientStatus))
	m.Handle("POST /clients/{id}/delete", s.page(app.PermManageClients, s.deleteClient))
	m.Handle("POST /clients/{id}/contacts", s.page(app.PermManageClients, s.addContact))
	m.Handle("POST /clients/{id}/contacts/{contactID}/delete", s.page(app.PermManageClients, s.removeContact))
	m.Handle("POST /clients/{id}/addresses", s.page(app.PermManageClients, s.addAddress))
	m.Handle("POST /clients/{id}/addresses/{addressID}/default", s.page(app.PermManageClients, s.makeDefaultAddress))
	m.Handle("POST /clients/{id}/addresses/{addressID}/delete", s.page(app.PermManageClients, s.removeAddress))
	m.Handle("POST /clients/{id}/notes", s.page(app.PermWriteNotes, s.addNote))
	m.Handle("POST /clients/{id}/notes/{noteID}", s.page(app.PermWriteNotes, s.editNote))
	m.Handle("POST /clients/{id}/notes/{noteID}/delete", s.page(app.PermWriteNotes, s.deleteNote))
	m.Handle("GET /clients/{id}/timeline", s.page(app.PermViewClients, s.showClientTimeline))
	m.Handle("GET /clients/{id}/consents", s.page(app.PermViewClients, s.showClientConsents))
	m.Handle("POST /clients/{id}/consents", s.page(app.PermManageClients, s.recordConsent))
	m.Handle("GET /clients/{id}/merge", s.page(app.PermManageClients, s.showMergeClients))
	m.Handle("POST /clients/{id}/merge", s.page(app.PermManageClients, s.mergeClients))
	m.Handle("GET /clients/{id}/privacy", s.page(app.PermViewClients, s.showClientPrivacy))
	m.Handle("POST /clients/{id}/exports", s.page(app.PermManageRetention, s.requestClientExport))
	m.Handle("GET /clients/{id}/exports/{exportID}", s.page(app.PermManageRetention, s.downloadClientExport))
	m.Handle("POST /clients/{id}/erase", s.page(app.PermManageRetention, s.eraseClient))
	m.Handle("GET /templates", s.page(app.PermUseTemplates, s.showTemplates))
	m.Handle("POST /templates", s.page(app.PermManageTemplates, s.createTemplate))
	m.Handle("POST /templates/{id}", s.page(app.PermManageTemplates, s.saveTemplate))
	m.Handle("POST /templates/{id}/delete", s.page(app.PermManageTemplates, s.deleteTemplate))
	m.Handle("GET /help-center", s.page(app.PermEditArticles, s.showHelpCenter))
	// -- help center editor routes --
	m.Handle("GET /help-center/articles/new", s.page(app.PermEditArticles, s.showNewArticle))
	m.Handle("POST /help-center/articles", s.page(app.PermEditArticles, s.createArticle))
	m.Handle("POST /help-center/articles/new/image", s.page(app.PermEditArticles, s.uploadArticleImage))
	m.Handle("GET /help-center/articles/{id}", s.page(app.PermEditArticles, s.showArticle))
	m.Handle("POST /help-center/articles/{id}", s.page(app.PermEditArticles, s.saveArticle))
	m.Handle("POST /help-center/articles/{id}/image", s.page(app.PermEditArticles, s.uploadArticleImage))
	m.Handle("POST /help-center/articles/{id}/unpublish", s.page(app.PermPublishArticles, s.unpublishArticle))
	m.Handle("POST /help-center/articles/{id}/delete", s.page(app.PermEditArticles, s.deleteArticle))
	m.Handle("POST /help-center/preview", s.page(app.PermEditArticles, s.previewArticle))
	m.Handle("GET /help-center/categories", s.page(app.PermEditArticles, s.showKBCategories))
	m.Handle("POST /help-center/categories", s.page(app.PermPublishArticles, s.createKBCategory))
	m.Handle("POST /help-center/categories/{id}", s.page(app.PermPublishArticles, s.saveKBCategory))
	m.Handle("POST /help-center/categories/{id}/move", s.page(app.PermPublishArticles, s.moveKBCategory))
	m.Handle("POST /help-center/categories/{id}/delete", s.page(app.PermPublishArticles, s.deleteKBCategory))

	m.Handle("GET /settings", s.page("", s.showSettings))
	m.Handle("GET /settings/account", s.page("", s.showAccount))
	m.Handle("POST /settings/account", s.page("", s.saveProfile))
	m.Handle("POST /settings/account/password", s.page("", s.changePassword))
	m.Handle("GET /settings/team", s.page(app.PermManageTeam, s.showTeam))
	m.Handle("POST /settings/team/invites", s.page(app.PermManageTeam, s.inviteUser))
	m.Handle("POST /settings/team/invites/{id}/revoke", s.page(app.PermManageTeam, s.revokeInvite))
	m.Handle("POST /settings/team/users/{id}/role", s.page(app.PermManageTeam, s.changeRole))
	m.Handle("POST /settings/team/users/{id}/deactivate", s.page(app.PermManageTeam, s.deactivateUser))
	m.Handle("POST /settings/team/users/{id}/reactivate", s.page(app.PermManageTeam, s.reactivateUser))
	m.Handle("POST /settings/team/users/{id}/reset-password", s.page(app.PermManageTeam, s.createPasswordReset))
	m.Handle("GET /settings/tokens", s.page(app.PermManageTokens, s.showTokens))
	m.Handle("POST /settings/tokens", s.page(app.PermManageTokens, s.createToken))
	m.Handle("POST /settings/tokens/{id}/revoke", s.page(app.PermManageTokens, s.revokeToken))
	m.Handle("GET /settings/audit", s.page(app.PermViewAudit, s.showAudit))
	m.Handle("GET /settings/audit/export", s.page(app.PermViewAudit, s.exportAudit))
	m.Handle("GET /settings/workspace", s.page(app.PermManageSettings, s.showWorkspaceSettings))
	m.Handle("POST /settings/workspace", s.page(app.PermManageSettings, s.saveWorkspaceSettings))
	m.Handle("POST /clients/{id}/legal-hold", s.page(app.PermManageRetention, s.setLegalHold))
	m.Handle("GET /settings/retention", s.page(app.PermManageRetention, s.showRetention))
	m.Handle("POST /settings/retention", s.page(app.PermManageRetention, s.saveRetention))
	m.Handle("POST /settings/retention/preview", s.page(app.PermManageRetention, s.previewRetention))
	m.Handle("GET /settings/consents", s.page(app.PermViewClients, s.showConsentSettings))
	m.Handle("GET /settings/fields", s.page(app.PermManageSettings, s.showCustomFields))
	m.Handle("POST /settings/fields", s.page(app.PermManageSettings, s.createCustomField))
	m.Handle("POST /settings/fields/{id}/delete", s.page(app.PermManageSettings, s.deleteCustomField))
	// -- channel settings routes --
	m.Handle("GET /settings/channels", s.page(app.PermManageChannels, s.showChannels))
	m.Handle("POST /settings/channels", s.page(app.PermManageChannels, s.connectChannel))
	m.Handle("GET /settings/channels/new", s.page(app.PermManageChannels, s.showNewChannel))
	m.Handle("POST /settings/channels/{id}", s.page(app.PermManageChannels, s.saveChannel))
	m.Handle("POST /settings/channels/{id}/test", s.page(app.PermManageChannels, s.testChannel))
	m.Handle("POST /settings/channels/{id}/delete", s.page(app.PermManageChannels, s.removeChannel))
	m.Handle("GET /settings/channels/{id}/outbox", s.page(app.PermManageChannels, s.showSandboxOutbox))
	m.Handle("POST /settings/channels/{id}/inbound", s.page(app.PermManageChannels, s.writeAsCustomer))
	// -- portal settings routes --
	m.Handle("GET /settings/portal", s.page(app.PermManageSettings, s.showPortalSettings))
	m.Handle("POST /settings/portal", s.page(app.PermManageSettings, s.savePortalSettings))
	m.Handle("POST /settings/portal/preview", s.page(app.PermManageSettings, s.previewBranding))
	m.Handle("POST /settings/portal/domains", s.page(app.PermManageSettings, s.addPortalDomain))
	m.Handle("POST /settings/portal/domains/{domain}/verify", s.page(app.PermManageSettings, s.verifyPortalDomain))
	m.Handle("POST /settings/portal/domains/{domain}/delete", s.page(app.PermManageSettings, s.removePortalDomain))
	m.Handle("/", s.public(s.notFound))
	s.app = s.sessions.LoadAndSave(m)

	api := http.NewServeMux()
	api.Handle("GET /api/v1/me", s.apiRoute("", s.apiMe))
	api.HandleFunc("GET /api/v1/openapi.json", s.serveOpenAPI)
	api.Handle("GET /api/v1/clients", s.apiRoute(app.PermViewClients, s.apiListClients))
	api.Handle("POST /api/v1/clients", s.apiRoute(app.PermManageClients, s.apiCreateClient))
	api.Handle("GET /api/v1/clients/{id}", s.apiRoute(app.PermViewClients, s.apiGetClient))
	api.Handle("PATCH /api/v1/clients/{id}", s.apiRoute(app.PermManageClients, s.apiUpdateClient))
	api.Handle("DELETE /api/v1/clients/{id}", s.apiRoute(app.PermManageClients, s.apiDeleteClient))
	api.Handle("POST /api/v1/clients/{id}/contacts", s.apiRoute(app.PermManageClients, s.apiAddContact))
	api.Handle("DELETE /api/v1/clients/{id}/contacts/{contactID}", s.apiRoute(app.PermManageClients, s.apiRemoveContact))
	api.Handle("POST /api/v1/clients/{id}/addresses", s.apiRoute(app.PermManageClients, s.apiAddAddress))
	api.Handle("DELETE /api/v1/clients/{id}/addresses/{addressID}", s.apiRoute(app.PermManageClients, s.apiRemoveAddress))
	api.Handle("POST /api/v1/clients/{id}/notes", s.apiRoute(app.PermWriteNotes, s.apiAddNote))
	api.Handle("DELETE /api/v1/clients/{id}/notes/{noteID}", s.apiRoute(app.PermWriteNotes, s.apiDeleteNote))
	api.Handle("POST /api/v1/clients/{id}/merge", s.apiRoute(app.PermManageClients, s.apiMergeClients))
	api.Handle("GET /api/v1/clients/{id}/timeline", s.apiRoute(app.PermViewClients, s.apiClientTimeline))
	api.Handle("GET /api/v1/clients/{id}/consents", s.apiRoute(app.PermViewClients, s.apiListConsents))
	api.Handle("POST /api/v1/clients/{id}/consents", s.apiRoute(app.PermManageClients, s.apiRecordConsent))
	api.Handle("POST /api/v1/clients/{id}/export", s.apiRoute(app.PermManageRetention, s.apiRequestExport))
	api.Handle("POST /api/v1/clients/{id}/erase", s.apiRoute(app.PermManageRetention, s.apiEraseClient))
	api.Handle("GET /api/v1/exports/{id}", s.apiRoute(app.PermManageRetention, s.apiGetExport))
	api.Handle("GET /api/v1/audit", s.apiRoute(app.PermViewAudit, s.apiExportAudit))
	api.Handle("GET /api/v1/templates", s.apiRoute(app.PermUseTemplates, s.apiListTemplates))
	api.Handle("POST /api/v1/templates", s.apiRoute(app.PermManageTemplates, s.apiCreateTemplate))
	api.Handle("GET /api/v1/templates/{id}", s.apiRoute(app.PermUseTemplates, s.apiGetTemplate))
	api.Handle("PATCH /api/v1/templates/{id}", s.apiRoute(app.PermManageTemplates, s.apiUpdateTemplate))
	api.Handle("DELETE /api/v1/templates/{id}", s.apiRoute(app.PermManageTemplates, s.apiDeleteTemplate))
	// -- chat API routes --
	api.Handle("GET /api/v1/chats", s.apiRoute(app.PermSendMessages, s.apiListChats))
	api.Handle("GET /api/v1/chats/{id}", s.apiRoute(app.PermSendMessages, s.apiGetChat))
	api.Handle("PATCH /api/v1/chats/{id}", s.apiRoute(app.PermWorkConversations, s.apiUpdateChat))
	api.Handle("GET /api/v1/chats/{id}/messages", s.apiRoute(app.PermSendMessages, s.apiListMessages))
	api.Handle("POST /api/v1/chats/{id}/messages", s.apiRoute(app.PermSendMessages, s.apiSendMessage))
	api.Handle("POST /api/v1/chats/{id}/read", s.apiRoute(app.PermSendMessages, s.apiMarkChatRead))
	api.Handle("POST /api/v1/clients/{id}/chat", s.apiRoute(app.PermSendMessages, s.apiStartChat))
	api.Handle("GET /api/v1/messages/search", s.apiRoute(app.PermSendMessages, s.apiSearchMessages))
	api.Handle("GET /api/v1/messages/{id}", s.apiRoute(app.PermSendMessages, s.apiGetMessage))
	api.Handle("POST /api/v1/messages/{id}/retry", s.apiRoute(app.PermSendMessages, s.apiRetryMessage))
	api.Handle("POST /api/v1/sandbox/inbound", s.apiRoute(app.PermSendMessages, s.apiSandboxInbound))
	api.Handle("GET /api/v1/clients/{id}/legal-hold", s.apiRoute(app.PermViewClients, s.apiGetLegalHold))
	api.Handle("PUT /api/v1/clients/{id}/legal-hold", s.apiRoute(app.PermManageRetention, s.apiPutLegalHold))
	api.Handle("GET /api/v1/settings/retention", s.apiRoute(app.PermManageRetention, s.apiGetRetention))
	api.Handle("PUT /api/v1/settings/retention", s.apiRoute(app.PermManageRetention, s.apiPutRetention))
	api.Handle("GET /api/v1/settings/retention/preview", s.apiRoute(app.PermManageRetention, s.apiPreviewRetention))
	api.Handle("POST /api/v1/settings/retention/preview", s.apiRoute(app.PermManageRetention, s.apiPreviewRetention))
	api.Handle("GET /api/v1/consents", s.apiRoute(app.PermViewClients, s.apiListConsentsByPurpose))
	api.Handle("GET /api/v1/consents/summary", s.apiRoute(app.PermViewClients, s.apiCountConsents))
	api.Handle("GET /api/v1/kb/categories", s.apiRoute(app.PermEditArticles, s.apiListKBCategories))
	api.Handle("POST /api/v1/kb/categories", s.apiRoute(app.PermPublishArticles, s.apiCreateKBCategory))
	api.Handle("GET /api/v1/kb/categories/{id}", s.apiRoute(app.PermEditArticles, s.apiGetKBCategory))
	api.Handle("PATCH /api/v1/kb/categories/{id}", s.apiRoute(app.PermPublishArticles, s.apiUpdateKBCategory))
	api.Handle("DELETE /api/v1/kb/categories/{id}", s.apiRoute(app.PermPublishArticles, s.apiDeleteKBCategory))
	api.Handle("GET /api/v1/kb/articles", s.apiRoute(app.PermEditArticles, s.apiListKBArticles))
	api.Handle("POST /api/v1/kb/articles", s.apiRoute(app.PermEditArticles, s.apiCreateKBArticle))
	api.Handle("GET /api/v1/kb/articles/{id}", s.apiRoute(app.PermEditArticles, s.apiGetKBArticle))
	api.Handle("PATCH /api/v1/kb/articles/{id}", s.apiRoute(app.PermEditArticles, s.apiUpdateKBArticle))
	api.Handle("DELETE /api/v1/kb/articles/{id}", s.apiRoute(app.PermEditArticles, s.apiDeleteKBArticle))
	// -- channel API routes --
	api.Handle("GET /api/v1/channels", s.apiRoute(app.PermManageChannels, s.apiListChannels))
	api.Handle("POST /api/v1/channels", s.apiRoute(app.PermManageChannels, s.apiCreateChannel))
	api.Handle("GET /api/v1/channels/{id}", s.apiRoute(app.PermManageChannels, s.apiGetChannel))
	api.Handle("PATCH /api/v1/channels/{id}", s.apiRoute(app.PermManageChannels, s.apiUpdateChannel))
	api.Handle("DELETE /api/v1/channels/{id}", s.apiRoute(app.PermManageChannels, s.apiDeleteChannel))
	// -- portal settings API routes --
	api.Handle("GET /api/v1/settings/portal", s.apiRoute(app.PermManageSettings, s.apiGetPortalSettings))
	api.Handle("PUT /api/v1/settings/portal", s.apiRoute(app.PermManageSettings, s.apiPutPortalSettings))
	api.Handle("PUT /api/v1/settings/portal/logo", s.apiRoute(app.PermManageSettings, s.apiPutPortalLogo))
	api.Handle("DELETE /api/v1/settings/portal/logo", s.apiRoute(app.PermManageSettings, s.apiDeletePortalLogo))
	api.Handle("GET /api/v1/settings/portal/domains", s.apiRoute(app.PermManageSettings, s.apiListPortalDomains))
	api.Handle("POST /api/v1/settings/portal/domains", s.apiRoute(app.PermManageSettings, s.apiAddPortalDomain))
	api.Handle("DELETE /api/v1/settings/portal/domains/{domain}", s.apiRoute(app.PermManageSettings, s.apiDeletePortalDomain))
	api.Handle("POST /api/v1/settings/portal/domains/{domain}/verify", s.apiRoute(app.PermManageSettings, s.apiVerifyPortalDomain))
	api.Handle("POST /api/v1/channels/{id}/test", s.apiRoute(app.PermManageChannels, s.apiTestChannel))
	api.Handle("/api/", s.apiRoute("", s.apiNotFound))
	s.api = api

	// Provider webhooks: no session, the provider's signature is the only
	// credential (app/web/webhook.go).
	hooks := http.NewServeMux()
	hooks.Handle("POST /hooks/{channelID}", s.hook(s.receiveWebhook))
	hooks.Handle("GET /hooks/{channelID}", s.hook(s.handshakeWebhook))
	hooks.Handle("GET /hooks/{channelID}/media/{attID}/{name}", s.hook(s.serveChannelMedia))
	hooks.Handle("/", http.NotFoundHandler())
	s.hooks = hooks

	// The public site: help center, contact form, web chat and customer
	// portal (app/web/portal*.go, views/portal). No team session here.
	pub := http.NewServeMux()
	pub.Handle("GET /help", s.portalRoute(s.showHelpHome))
	// -- help center routes --
	helpVotes := newRateBuckets(s.cfg.Now)
	pub.Handle("GET /help/search", s.portalRoute(s.searchHelp))
	pub.Handle("GET /help/categories/{slug}", s.portalRoute(s.showHelpCategory))
	pub.Handle("GET /help/articles/{slug}", s.portalRoute(s.showHelpArticle))
	pub.Handle("POST /help/articles/{slug}/vote", s.portalRoute(s.voteHelpArticle(helpVotes)))
	pub.Handle("GET /help/sitemap.xml", s.portalRoute(s.showHelpSitemap))
	pub.Handle("GET /help/files/{id}/{name}", s.portalRoute(s.serveHelpFile))
	// -- contact form routes --
	contact := s.newContactForm()
	pub.Handle("GET /help/contact", s.portalRoute(contact.showContactForm))
	pub.Handle("POST /help/contact", s.portalRoute(contact.sendContactForm))
	pub.Handle("GET /help/contact/sent", s.portalRoute(contact.showContactSent))
	pub.Handle("GET /help/logo/{file}", s.portalRoute(s.serveLogo))
	// -- web chat routes --
	chat := s.newWebChat() // app/web/widget.go
	pub.Handle("GET /widget.js", chat.route(chat.serveScript))
	pub.Handle("GET /widget/frame", chat.route(chat.showFrame))
	pub.Handle("GET /widget/messages", chat.route(chat.listMessages))
	pub.Handle("POST /widget/messages", chat.route(chat.postMessage))
	pub.Handle("POST /widget/email", chat.route(chat.leaveEmail))
	pub.Handle("GET /widget/events", chat.route(chat.streamEvents))
	// -- customer portal routes --
	// app/web/portal_auth.go and portal_account.go, views/portal/portal_login.templ and account*.templ.
	pub.Handle("GET /portal/login", s.portalRoute(s.showPortalLogin))
	pub.Handle("POST /portal/login", s.portalRoute(s.requestPortalLink))
	pub.Handle("GET /portal/login/sent", s.portalRoute(s.showPortalLinkSent))
	pub.Handle("GET /portal/login/{token}", s.portalRoute(s.showPortalLink))
	pub.Handle("POST /portal/login/{token}", s.portalRoute(s.usePortalLink))
	pub.Handle("POST /portal/logout", s.portalRoute(s.portalLogout))
	pub.Handle("GET /portal", s.portalAccountRoute(s.showPortalConversation))
	pub.Handle("GET /portal/messages/new", s.portalAccountRoute(s.showPortalNewMessages))
	pub.Handle("POST /portal/messages", s.portalAccountRoute(s.postPortalMessage))
	pub.Handle("GET /portal/attachments/{id}", s.portalAccountRoute(s.servePortalAttachment))
	pub.Handle("GET /portal/preferences", s.portalAccountRoute(s.showPortalPreferences))
	pub.Handle("POST /portal/preferences/consents", s.portalAccountRoute(s.savePortalConsent))
	pub.Handle("POST /portal/preferences/channel", s.portalAccountRoute(s.savePortalChannel))
	pub.Handle("GET /portal/data", s.portalAccountRoute(s.showPortalData))
	pub.Handle("POST /portal/data/exports", s.portalAccountRoute(s.requestPortalExport))
	pub.Handle("GET /portal/data/exports/{id}", s.portalAccountRoute(s.downloadPortalExport))
	pub.Handle("/", s.portalRoute(s.portalNotFound))
	s.portal = pub

	shared := http.NewServeMux()
	shared.HandleFunc("GET /healthz", s.healthz)
	shared.HandleFunc("GET /readyz", s.readyz)
	shared.Handle("GET /static/", http.StripPrefix("/static/", immutable(http.FileServerFS(static.FS))))
	shared.Handle("/", http.HandlerFunc(s.dispatchHost))

	s.handler = s.observe(s.secure(s.csrf(shared)))
}

// dispatchHost sends a request to the site its Host names.
func (s *Server) dispatchHost(w http.ResponseWriter, r *http.Request) {
	host := hostname(r.Host)
	switch {
	case host == s.baseHost:
		s.root.ServeHTTP(w, r)
	case strings.HasSuffix(host, "."+s.baseHost):
		slug := strings.TrimSuffix(host, "."+s.baseHost)
		if strings.Contains(slug, ".") {
			plainNotFound(w)
			return
		}
		h := s.app
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h = s.api
		} else if strings.HasPrefix(r.URL.Path, "/hooks/") {
			h = s.hooks
		} else if isPortalPath(r.URL.Path) {
			h = s.portal
		}
		s.withTenant(slug, h).ServeHTTP(w, r)
	default:
		s.servePortalDomain(w, r, host)
	}
}

// immutable marks versioned static assets as cacheable for a year.
func immutable(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info(r.Context()).route = "GET /static/"
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		h.ServeHTTP(w, r)
	})
}
