package email_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"parley/app"
	"parley/app/channel/email"
)

const (
	testSecret   = "Q3x9v2KpL7mN4tR8wZ1yB6cD0fG5hJ3kS9aE2uI7oP4"
	smtpUser     = "support@acme.example"
	smtpPassword = "smtp-app-password"
	imapPassword = "imap-app-password"
)

var testNow = time.Date(2024, 4, 10, 12, 0, 0, 0, time.UTC)

// newChannel is an email channel with the given settings over a base of
// support@acme.example; secrets go where Parley keeps them.
func newChannel(t *testing.T, settings map[string]string) app.Channel {
	t.Helper()
	s := map[string]string{"from_address": "support@acme.example", "from_name": "Acme Support"}
	secrets := map[string]string{app.WebhookSecretKey: testSecret}
	for k, v := range settings {
		if k == "smtp_password" || k == "imap_password" {
			secrets[k] = v
			continue
		}
		s[k] = v
	}
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return app.Channel{ID: "ch_email", Type: app.ChannelEmail, Name: "Support", Settings: raw, Secrets: secrets, Active: true}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testCert is a self-signed certificate for 127.0.0.1 and localhost, and
// a pool that trusts it.
func testCert(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func listen(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// mailbox is what the fake SMTP server received in one transaction.
type mailbox struct {
	From  string
	Rcpts []string
	Data  []byte
}

// fakeSMTP is a go-smtp server on 127.0.0.1 that requires AUTH PLAIN and
// records every message; refuse makes it answer RCPT or DATA with an error.
type fakeSMTP struct {
	Port string

	mu               sync.Mutex
	rcptErr, dataErr error
	mails            []mailbox
	auths            int
}

func (f *fakeSMTP) refuse(rcptErr, dataErr error) {
	f.mu.Lock()
	f.rcptErr, f.dataErr = rcptErr, dataErr
	f.mu.Unlock()
}

// mode is "none" (plain, insecure auth allowed), "starttls" or "tls".
func newFakeSMTP(t *testing.T, mode string, cfg *tls.Config) *fakeSMTP {
	t.Helper()
	f := &fakeSMTP{}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{f: f}, nil }))
	s.Domain = "mx.test"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)
	ln, port := listen(t)
	f.Port = port
	switch mode {
	case "none":
		s.AllowInsecureAuth = true
	case "starttls":
		s.TLSConfig = cfg
	case "tls":
		s.TLSConfig = cfg
		ln = tls.NewListener(ln, cfg)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return f
}

func (f *fakeSMTP) received() []mailbox {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]mailbox(nil), f.mails...)
}

type smtpSession struct {
	f      *fakeSMTP
	authed bool
	from   string
	rcpts  []string
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != smtpUser || pass != smtpPassword {
			return smtp.ErrAuthFailed
		}
		s.f.mu.Lock()
		s.f.auths++
		s.f.mu.Unlock()
		s.authed = true
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.rcptErr != nil {
		return s.f.rcptErr
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.dataErr != nil {
		return s.f.dataErr
	}
	s.f.mails = append(s.f.mails, mailbox{From: s.from, Rcpts: s.rcpts, Data: b})
	return nil
}

func (s *smtpSession) Reset()        { s.from, s.rcpts = "", nil }
func (s *smtpSession) Logout() error { return nil }

// fakeIMAP is go-imap's in-memory server on 127.0.0.1 with one user.
type fakeIMAP struct {
	Port      string
	User      *imapmemserver.User
	ClientTLS *tls.Config // trusts the server's certificate
}

// newFakeIMAP listens with mode "tls" (implicit), "starttls" or "none".
func newFakeIMAP(t *testing.T, mode string, tlsCfg *tls.Config) *fakeIMAP {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(smtpUser, imapPassword)
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: mode == "none",
		Logger:       log.New(io.Discard, "", 0),
	}
	ln, port := listen(t)
	switch mode {
	case "tls":
		ln = tls.NewListener(ln, tlsCfg)
	case "starttls":
		opts.TLSConfig = tlsCfg
	}
	srv := imapserver.New(opts)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &fakeIMAP{Port: port, User: user}
}

// add appends a message to folder with the given arrival time.
func (f *fakeIMAP) add(t *testing.T, folder string, raw []byte, at time.Time) imap.UID {
	t.Helper()
	data, err := f.User.Append(folder, bytes.NewReader(raw), &imap.AppendOptions{Time: at})
	if err != nil {
		t.Fatal(err)
	}
	return data.UID
}

func errorCode(err error) string {
	var e *app.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

var _ = email.New // the package under test
