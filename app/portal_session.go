package app

import (
	"strconv"
	"strings"
	"time"
)

// The customer portal's sign-in: a client asks for a link at /portal/login
// with an email address on their profile, Parley mails a single-use link
// that works for PortalLinkTTL, and opening it (and pressing Sign in)
// starts a portal session, a cookie of its own scoped to /portal. No
// passwords. A portal session is not a team session: it reaches only the
// client's own conversation, preferences and data.

// ActorClient is the actor type of a change a client made themselves, in
// the customer portal.
const ActorClient = "client"

// ClientActor returns the actor for a client acting in the portal.
func ClientActor(c *Client) Actor { return Actor{Type: ActorClient, ID: c.ID, Name: c.Name()} }

// Portal event types. None carries a link's secret or a session's token.
const (
	// EventPortalLinkRequested: someone asked for a sign-in link for one of
	// the client's email addresses (payload: link_id, contact_id).
	EventPortalLinkRequested = "PortalLinkRequested"
	// EventPortalLinkSent: the link was mailed (payload: link_id, via).
	EventPortalLinkSent = "PortalLinkSent"
	// EventPortalLinkFailed: the link could not be mailed (payload:
	// link_id, reason).
	EventPortalLinkFailed = "PortalLinkFailed"
	// EventPortalSignedIn: the client signed in with a link (payload:
	// session_id, contact_id).
	EventPortalSignedIn = "PortalSignedIn"
	// EventPortalSignedOut: the client signed out (payload: session_id).
	EventPortalSignedOut = "PortalSignedOut"
)

// Portal sign-in limits.
const (
	// PortalLinkTTL is how long a sign-in link works. It is short because
	// it travels by email, which is neither private nor prompt to delete.
	PortalLinkTTL = 15 * time.Minute
	// PortalSessionIdle ends a portal session after this long without a
	// page view (polling for new messages does not count).
	PortalSessionIdle = 2 * time.Hour
	// PortalSessionLifetime ends a portal session this long after sign-in,
	// whatever the client does.
	PortalSessionLifetime = 7 * 24 * time.Hour
	// PortalLinksPerEmail links may be asked for one address within
	// PortalEmailWindow, whether or not it is a client's.
	PortalLinksPerEmail = 3
	PortalEmailWindow   = 15 * time.Minute
	// PortalLinksPerIP links may be asked for from one client address
	// within PortalIPWindow.
	PortalLinksPerIP = 10
	PortalIPWindow   = time.Hour
	// PortalExportEvery is how often a client may ask for a copy of their
	// data in the portal.
	PortalExportEvery = 24 * time.Hour
)

// PortalLinkMail is a sign-in link on its way to a client, as the mail
// job composes it. URL carries the secret: it is never stored or logged.
type PortalLinkMail struct {
	LinkID    string
	ClientID  string
	FirstName string
	To        string // the email address asked with
	SiteName  string // the workspace's public name
	URL       string
	ExpiresAt time.Time
}

// Subject is the sign-in email's subject line.
func (m PortalLinkMail) Subject() string { return "Your sign-in link for " + m.SiteName }

// Text is the sign-in email's body: plain text, the link on a line of its
// own so every mail client makes it clickable.
func (m PortalLinkMail) Text() string {
	greeting := "Hello,"
	if name := strings.TrimSpace(m.FirstName); name != "" && !strings.Contains(name, "@") {
		greeting = "Hello " + name + ","
	}
	var b strings.Builder
	b.WriteString(greeting + "\n\n")
	b.WriteString("Someone, hopefully you, asked to sign in to the customer portal of " + m.SiteName +
		" with this email address. Open this link to sign in:\n\n")
	b.WriteString(m.URL + "\n\n")
	b.WriteString("The link works once, for " + strconv.Itoa(int(PortalLinkTTL/time.Minute)) + " minutes. " +
		"If you did not ask for it, you can ignore this email: nobody can sign in without the link.\n\n")
	b.WriteString(m.SiteName + "\n")
	return b.String()
}
