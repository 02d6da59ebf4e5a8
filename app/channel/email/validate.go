package email

import (
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"parley/app"
	"parley/app/channel"
)

var hostPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

// Validate checks and normalises an email channel's settings in place:
// trims them, lower-cases addresses and hosts, and fills in the default
// ports, security and folder so the settings page shows what is used.
func (d *Driver) Validate(s map[string]string) error {
	for k, v := range s {
		if k != KeySMTPPassword && k != KeyIMAPPassword {
			s[k] = strings.TrimSpace(v)
		}
	}
	e := &app.Error{Code: app.EINVALID, Message: "Check the channel's settings."}
	add := func(key, msg string) {
		e.Fields = append(e.Fields, app.FieldError{Field: "settings." + key, Message: msg})
	}

	validateFrom(s, add)
	validateServer(s, "smtp_", DefaultSMTPPort, DefaultSMTPSecurity, true, add)
	d.refusePrivate(s, "smtp_", add)
	if s[KeyIMAPHost] != "" || s[KeyIMAPUsername] != "" || s[KeyIMAPPassword] != "" {
		validateServer(s, "imap_", DefaultIMAPPort, DefaultIMAPSecurity, true, add)
		d.refusePrivate(s, "imap_", add)
		if s[KeyIMAPFolder] == "" {
			s[KeyIMAPFolder] = DefaultIMAPFolder
		} else if hasControl(s[KeyIMAPFolder]) || utf8.RuneCountInString(s[KeyIMAPFolder]) > 200 {
			add(KeyIMAPFolder, "Enter a folder name, e.g. INBOX.")
		}
	}
	if v := s["api_base_url"]; v != "" {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("api_base_url", "Enter an http or https URL.")
		}
	}
	return e.OrNil()
}

// refusePrivate refuses, when the server does not allow it, a host that
// is plainly inside the server's network (the dialer refuses the rest).
func (d *Driver) refusePrivate(s map[string]string, prefix string, add func(key, msg string)) {
	if !d.allowPrivate && s[prefix+"host"] != "" && channel.PrivateHost(s[prefix+"host"]) {
		add(prefix+"host", "This host is inside the Parley server's own network, which workspaces may not reach; "+
			"the operator allows it with --allow-private-mail-hosts.")
	}
}

func validateFrom(s map[string]string, add func(key, msg string)) {
	from := strings.ToLower(s[KeyFromAddress])
	s[KeyFromAddress] = from
	local, domain, ok := splitAddress(from)
	switch {
	case from == "":
		add(KeyFromAddress, "Enter the email address customers write to.")
	case !ok || !validAddress(from) || !hostPattern.MatchString(domain):
		add(KeyFromAddress, "Enter an email address such as support@example.com.")
	case strings.Contains(local, "+"):
		// Parley adds its own +tag to the Reply-To address to thread replies.
		add(KeyFromAddress, "Enter the address without a +tag.")
	}
	if name := s[KeyFromName]; utf8.RuneCountInString(name) > 100 || hasControl(name) {
		add(KeyFromName, "Must be at most 100 characters, on one line.")
	}
}

// validAddress accepts a bare addr-spec with no display name, comment or
// quoting, so it can be put in headers and plus-addressed as it is.
func validAddress(addr string) bool {
	a, err := mail.ParseAddress(addr)
	return err == nil && a.Name == "" && a.Address == addr && !strings.ContainsAny(addr, "\"() <>,;:\\[]")
}

func validateServer(s map[string]string, prefix string, port int, security string, required bool,
	add func(key, msg string)) {
	host := strings.ToLower(s[prefix+"host"])
	s[prefix+"host"] = host
	name := strings.ToUpper(strings.TrimSuffix(prefix, "_"))
	switch {
	case host == "" && required:
		add(prefix+"host", "Enter the "+name+" server's host name, e.g. "+strings.ToLower(name)+".example.com.")
	case host != "" && net.ParseIP(host) == nil && (len(host) > 253 || !hostPattern.MatchString(host)):
		add(prefix+"host", "Enter the host name only, without a scheme or port, e.g. "+strings.ToLower(name)+".example.com.")
	}
	if s[prefix+"port"] == "" {
		s[prefix+"port"] = strconv.Itoa(port)
	} else if p, err := strconv.Atoi(s[prefix+"port"]); err != nil || p < 1 || p > 65535 {
		add(prefix+"port", "Enter a port number between 1 and 65535.")
	}
	sec := strings.ToLower(s[prefix+"security"])
	if sec == "" {
		sec = security
	}
	s[prefix+"security"] = sec
	switch {
	case sec != SecuritySTARTTLS && sec != SecurityTLS && sec != SecurityNone:
		add(prefix+"security", "Choose starttls or tls.")
	case sec == SecurityNone && !isLocalhost(host):
		add(prefix+"security", "An unencrypted connection is allowed only to this machine; choose starttls or tls.")
	}
	user, pass := s[prefix+"username"], s[prefix+"password"]
	if (user == "") != (pass == "") {
		if user == "" {
			add(prefix+"username", "Enter the user name that goes with the password.")
		} else {
			add(prefix+"password", "Enter the password for "+user+".")
		}
	}
	if prefix == "imap_" && user == "" && pass == "" && host != "" {
		add(prefix+"username", "Enter the mailbox's user name (often its email address).")
	}
	if hasControl(user) {
		add(prefix+"username", "Must not contain line breaks or control characters.")
	}
	if hasControl(pass) {
		add(prefix+"password", "Must not contain line breaks or control characters.")
	}
}

func hasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }
