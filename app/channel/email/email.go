// Package email is the email channel: it sends the team's messages through
// the workspace's own SMTP server, reads the mailbox the customers write to
// over IMAP, and accepts raw messages POSTed by a mail relay.
//
// One Driver serves every email channel of every tenant; everything
// per-channel (addresses, servers, credentials) comes from the app.Channel.
package email

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"parley/app"
	"parley/app/channel"
)

// Setting keys of an email channel.
const (
	KeyFromAddress  = "from_address"
	KeyFromName     = "from_name"
	KeySMTPHost     = "smtp_host"
	KeySMTPPort     = "smtp_port"
	KeySMTPUsername = "smtp_username"
	KeySMTPPassword = "smtp_password"
	KeySMTPSecurity = "smtp_security"
	KeyIMAPHost     = "imap_host"
	KeyIMAPPort     = "imap_port"
	KeyIMAPUsername = "imap_username"
	KeyIMAPPassword = "imap_password"
	KeyIMAPSecurity = "imap_security"
	KeyIMAPFolder   = "imap_folder"
)

// Connection security of an SMTP or IMAP server.
const (
	SecuritySTARTTLS = "starttls" // plain connection upgraded with STARTTLS (SMTP 587)
	SecurityTLS      = "tls"      // implicit TLS from the first byte (SMTP 465, IMAP 993)
	// SecurityNone sends credentials in the clear, so it is accepted only
	// for a server on this machine (tests, a local relay).
	SecurityNone = "none"
)

// Defaults of the optional settings.
const (
	DefaultSMTPPort     = 587
	DefaultIMAPPort     = 993
	DefaultSMTPSecurity = SecuritySTARTTLS
	DefaultIMAPSecurity = SecurityTLS
	DefaultIMAPFolder   = "INBOX"
)

// DefaultTimeout bounds one SMTP or IMAP conversation when the caller's
// context has no earlier deadline.
const DefaultTimeout = 60 * time.Second

// Options configure a Driver.
type Options struct {
	// Client is unused by email (SMTP and IMAP are not HTTP) and kept so
	// every driver is built the same way.
	Client *http.Client
	Now    func() time.Time
	// RootCAs, when set, replaces the system's certificate authorities for
	// SMTP and IMAP TLS: tests trust their self-signed servers with it.
	RootCAs *x509.CertPool
	// AllowPrivateHosts lets a channel's SMTP and IMAP hosts be inside the
	// server's network (localhost, 10.x, link-local). Off, a workspace's
	// settings cannot make Parley probe the operator's network; a
	// self-hosted install whose mail server is local turns it on.
	AllowPrivateHosts bool
}

// Driver is the email channel's driver.
type Driver struct {
	now          func() time.Time
	rootCAs      *x509.CertPool
	allowPrivate bool
}

var (
	_ app.WebhookDriver = (*Driver)(nil)
	_ app.Poller        = (*Driver)(nil)
)

// New returns an email driver.
func New(opts Options) *Driver {
	d := &Driver{now: opts.Now, rootCAs: opts.RootCAs, allowPrivate: opts.AllowPrivateHosts}
	if d.now == nil {
		d.now = time.Now
	}
	return d
}

// Spec describes the email channel. Webhook is the relay endpoint (a mail
// server POSTs raw messages to it); Poll is IMAP. Five messages a second
// stays under what shared SMTP submission services tolerate.
func (d *Driver) Spec() app.ChannelSpec {
	return app.ChannelSpec{
		Type:  app.ChannelEmail,
		Label: "Email (SMTP and IMAP)",
		Help: "Use the mailbox your customers write to. Your mail provider's help pages list its SMTP " +
			"and IMAP servers; with two-factor sign-in, create an app password for Parley.",
		Fields: []app.SettingField{
			{Key: KeyFromAddress, Label: "Email address", Kind: "email", Required: true,
				Help: "The address customers write to and receive answers from, e.g. support@example.com."},
			{Key: KeyFromName, Label: "Sender name", Kind: "text", Help: "Shown as the sender, e.g. “Acme Support”."},
			{Key: KeySMTPHost, Endpoint: true, Label: "SMTP server", Kind: "text", Required: true, Help: "e.g. smtp.example.com"},
			{Key: KeySMTPPort, Endpoint: true, Label: "SMTP port", Kind: "number", Default: strconv.Itoa(DefaultSMTPPort)},
			{Key: KeySMTPUsername, Label: "SMTP user name", Kind: "text"},
			{Key: KeySMTPPassword, Label: "SMTP password", Kind: "password", Secret: true},
			{Key: KeySMTPSecurity, Endpoint: true, Label: "SMTP security", Kind: "text", Default: DefaultSMTPSecurity,
				Help: "starttls (port 587) or tls (port 465)."},
			{Key: KeyIMAPHost, Endpoint: true, Label: "IMAP server", Kind: "text",
				Help: "Leave empty to receive only through a mail relay posting to the webhook URL."},
			{Key: KeyIMAPPort, Endpoint: true, Label: "IMAP port", Kind: "number", Default: strconv.Itoa(DefaultIMAPPort)},
			{Key: KeyIMAPUsername, Label: "IMAP user name", Kind: "text"},
			{Key: KeyIMAPPassword, Label: "IMAP password", Kind: "password", Secret: true},
			{Key: KeyIMAPSecurity, Endpoint: true, Label: "IMAP security", Kind: "text", Default: DefaultIMAPSecurity,
				Help: "tls (port 993) or starttls (port 143)."},
			{Key: KeyIMAPFolder, Label: "IMAP folder", Kind: "text", Default: DefaultIMAPFolder},
		},
		Webhook:   true,
		Poll:      true,
		SendRate:  5,
		SendBurst: 10,
	}
}

// server is one SMTP or IMAP server of a channel.
type server struct {
	host, username, password, security string
	port                               int
}

func (s server) addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// config is a channel's settings, with defaults applied.
type config struct {
	fromAddress, fromName string
	smtp, imap            server
	folder                string
}

// configOf reads a channel's settings. They were validated when saved, so
// only what would make a conversation impossible is an error.
func configOf(ch app.Channel) (config, error) {
	c := config{
		fromAddress: strings.ToLower(strings.TrimSpace(ch.Setting(KeyFromAddress))),
		fromName:    strings.TrimSpace(ch.Setting(KeyFromName)),
		smtp:        serverOf(ch, "smtp_", DefaultSMTPPort, DefaultSMTPSecurity),
		imap:        serverOf(ch, "imap_", DefaultIMAPPort, DefaultIMAPSecurity),
		folder:      strings.TrimSpace(ch.Setting(KeyIMAPFolder)),
	}
	if c.folder == "" {
		c.folder = DefaultIMAPFolder
	}
	if _, _, ok := splitAddress(c.fromAddress); !ok {
		return c, app.Errorf(app.EINVALID, "The channel's email address is not set.")
	}
	return c, nil
}

func serverOf(ch app.Channel, prefix string, port int, security string) server {
	s := server{
		host:     strings.ToLower(strings.TrimSpace(ch.Setting(prefix + "host"))),
		username: strings.TrimSpace(ch.Setting(prefix + "username")),
		password: ch.Setting(prefix + "password"),
		security: strings.ToLower(strings.TrimSpace(ch.Setting(prefix + "security"))),
		port:     port,
	}
	if p, err := strconv.Atoi(strings.TrimSpace(ch.Setting(prefix + "port"))); err == nil && p > 0 && p < 65536 {
		s.port = p
	}
	if s.security == "" {
		s.security = security
	}
	if s.security == SecurityNone && !isLocalhost(s.host) {
		s.security = security // never send a password in the clear to another machine
	}
	return s
}

// tlsConfig verifies the server's certificate for host.
func (d *Driver) tlsConfig(host string) *tls.Config {
	return &tls.Config{ServerName: host, RootCAs: d.rootCAs, MinVersion: tls.VersionTLS12}
}

func isLocalhost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// splitAddress splits a bare address into its local part and lower-cased
// domain.
func splitAddress(addr string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 {
		return "", "", false
	}
	return addr[:i], strings.ToLower(addr[i+1:]), true
}

// dialer returns a net.Dialer that, unless private hosts are allowed,
// refuses addresses inside the server's network after name resolution.
func (d *Driver) dialer(timeout time.Duration) *net.Dialer {
	nd := &net.Dialer{Timeout: timeout}
	if !d.allowPrivate {
		nd.Control = channel.RefusePrivate
	}
	return nd
}
