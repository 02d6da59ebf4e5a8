package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"parley/app"
)

// smtpConn is an SMTP session past EHLO, STARTTLS/TLS and AUTH.
type smtpConn struct {
	*smtp.Client
	raw  net.Conn
	stop func() bool
}

// close ends the session politely when it can, and always frees the
// connection.
func (s *smtpConn) close() {
	s.stop()
	_ = s.raw.SetDeadline(time.Now().Add(5 * time.Second))
	_ = s.Quit()
	_ = s.raw.Close()
}

// dialSMTP connects to the server, says EHLO, secures the connection and
// logs in. The context bounds the whole session: when it ends, the
// connection is closed under whatever command is waiting.
func (d *Driver) dialSMTP(ctx context.Context, s server) (*smtpConn, error) {
	timeout := timeoutOf(ctx)
	var mu sync.Mutex
	var raw net.Conn
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		nd := d.dialer(timeout)
		var conn net.Conn
		var err error
		if s.security == SecurityTLS {
			conn, err = (&tls.Dialer{NetDialer: nd, Config: d.tlsConfig(s.host)}).DialContext(ctx, network, addr)
		} else {
			conn, err = nd.DialContext(ctx, network, addr)
		}
		mu.Lock()
		raw = conn
		mu.Unlock()
		return conn, err
	}
	opts := []gomail.Option{gomail.WithTimeout(timeout), gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(d.tlsConfig(s.host))}
	switch s.security {
	case SecurityTLS:
		opts = append(opts, gomail.WithSSL()) // the dialer did the TLS; no STARTTLS on top
	case SecurityNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.username != "" {
		// PLAIN or LOGIN, the two every submission server offers; a server
		// with neither gets go-mail's pick of what it lists (SCRAM, CRAM-MD5).
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.username), gomail.WithPassword(s.password))
	}
	opts = append(opts, gomail.WithPort(s.port))
	client, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return nil, err
	}
	sc, err := client.DialToSMTPClientWithContext(ctx)
	mu.Lock()
	conn := raw
	mu.Unlock()
	if err != nil {
		if conn != nil {
			_ = conn.Close() // go-mail leaves it open when AUTH or STARTTLS fails
		}
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	return &smtpConn{Client: sc, raw: conn, stop: stop}, nil
}

// submit sends one message: MAIL FROM, RCPT TO, DATA.
func (d *Driver) submit(ctx context.Context, s server, m *gomail.Msg) error {
	sc, err := d.dialSMTP(ctx, s)
	if err != nil {
		return sendError(s, err, true)
	}
	defer sc.close()
	from, err := m.GetSender(false)
	if err != nil {
		return &app.SendError{Reason: "The message has no sender address.", Permanent: true}
	}
	rcpts, err := m.GetRecipients()
	if err != nil {
		return &app.SendError{Reason: "The message has no recipient address.", Permanent: true}
	}
	if err := sc.Mail(from); err != nil {
		return sendError(s, err, false)
	}
	for _, r := range rcpts {
		if err := sc.Rcpt(r); err != nil {
			return sendError(s, err, false)
		}
	}
	_ = sc.raw.SetDeadline(time.Now().Add(timeoutOf(ctx))) // a large message may take a while
	w, err := sc.Data()
	if err != nil {
		return sendError(s, err, false)
	}
	if _, err := m.WriteTo(w); err != nil {
		return sendError(s, err, false)
	}
	// The server's reply to the final dot is its acceptance (or refusal).
	if err := w.Close(); err != nil {
		return sendError(s, err, false)
	}
	return nil
}

// sendError classifies an SMTP failure: a 5xx reply is permanent (with the
// server's own words), a 4xx reply or a network error can be retried, and
// a refused login or an untrusted certificate waits for an admin.
func sendError(s server, err error, dialing bool) *app.SendError {
	if te, ok := smtpReply(err); ok {
		reply := replyText(te)
		switch {
		case te.Code >= 500 && dialing && strings.Contains(err.Error(), "AUTH"):
			return &app.SendError{Reason: "The mail server refused the login: " + reply, Permanent: true}
		case te.Code >= 500:
			return &app.SendError{Reason: "The mail server refused the message: " + reply, Permanent: true}
		case te.Code >= 400:
			return &app.SendError{Reason: "The mail server deferred the message: " + reply}
		}
	}
	if msg, ok := configProblem(s, err); ok {
		return &app.SendError{Reason: msg, Permanent: true}
	}
	return &app.SendError{Reason: fmt.Sprintf("Could not talk to the mail server %s: %v", s.addr(), err)}
}

// smtpReply finds the server's reply in err.
func smtpReply(err error) (*textproto.Error, bool) {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te, true
	}
	return nil, false
}

func replyText(te *textproto.Error) string {
	return fmt.Sprintf("%03d %s", te.Code, strings.Join(strings.Fields(te.Msg), " "))
}

// configProblem recognises failures only an admin can fix: a certificate
// that does not verify, a server without STARTTLS or without a login
// method Parley speaks.
func configProblem(s server, err error) (string, bool) {
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &hostErr):
		return fmt.Sprintf("The TLS certificate of %s is for another host (%v). Use the host name the certificate names.", s.host, err), true
	case errors.As(err, &unknownCA), errors.As(err, &invalid), errors.As(err, &verify):
		return fmt.Sprintf("The TLS certificate of %s could not be verified (%v).", s.host, err), true
	case strings.Contains(err.Error(), "does not support STARTTLS"):
		return fmt.Sprintf("%s does not offer STARTTLS on port %d. Choose tls for port 465, or check the port.", s.host, s.port), true
	case errors.Is(err, gomail.ErrPlainAuthNotSupported), errors.Is(err, gomail.ErrLoginAuthNotSupported),
		errors.Is(err, gomail.ErrNoSupportedAuthDiscovered), strings.Contains(err.Error(), "does not support SMTP AUTH"):
		return fmt.Sprintf("%s offers no login method Parley can use (%v).", s.host, err), true
	case errors.Is(err, smtp.ErrUnencrypted):
		return fmt.Sprintf("%s would receive the password unencrypted. Choose starttls or tls.", s.host), true
	}
	var rec tls.RecordHeaderError
	if errors.As(err, &rec) {
		return fmt.Sprintf("%s:%d does not speak TLS. Choose starttls for port 587, or check the port.", s.host, s.port), true
	}
	return "", false
}

// timeoutOf is how long one conversation may take: the context's deadline
// when it is sooner than DefaultTimeout.
func timeoutOf(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		if t := time.Until(dl); t < DefaultTimeout {
			return max(t, time.Second)
		}
	}
	return DefaultTimeout
}
