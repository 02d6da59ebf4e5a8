package email_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"parley/app"
	"parley/app/channel/email"
)

// TestValidateRefusesPrivateHosts: unless the operator allows it, a
// workspace cannot point its mailbox at the server's own network.
func TestValidateRefusesPrivateHosts(t *testing.T) {
	t.Parallel()
	d := email.New(email.Options{})
	for _, host := range []string{"127.0.0.1", "localhost", "10.0.0.5", "169.254.169.254", "[::1]"} {
		err := d.Validate(map[string]string{"from_address": "support@acme.example", "smtp_host": host,
			"imap_host": host, "imap_username": "u", "imap_password": "p"})
		fields := map[string]bool{}
		for _, f := range app.ErrorFields(err) {
			fields[f.Field] = true
		}
		if !fields["settings.smtp_host"] || !fields["settings.imap_host"] {
			t.Errorf("host %s: got %v, want both hosts refused", host, err)
		}
	}
	// The dialer refuses too (it sees the resolved address), whatever the
	// settings say.
	_, err := d.Check(context.Background(), app.Channel{ID: "c", Settings: []byte(`{"from_address":"support@acme.example",
		"smtp_host":"127.0.0.1","smtp_port":"25","smtp_security":"starttls"}`)})
	if err == nil || !strings.Contains(err.Error(), "inside the server's network") {
		t.Errorf("check against 127.0.0.1: got %v, want refused before connecting", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	d := email.New(email.Options{AllowPrivateHosts: true})
	base := func(edit map[string]string) map[string]string {
		s := map[string]string{"from_address": " Support@Acme.Example ", "smtp_host": "SMTP.acme.example",
			"smtp_username": "support@acme.example", "smtp_password": " pass word "}
		maps.Copy(s, edit)
		for k, v := range edit {
			if v == "-" {
				delete(s, k)
			}
		}
		return s
	}
	tests := []struct {
		name       string
		settings   map[string]string
		wantFields []string
		want       map[string]string
	}{
		{"OK", base(nil), nil, map[string]string{"from_address": "support@acme.example", "smtp_host": "smtp.acme.example",
			"smtp_port": "587", "smtp_security": "starttls", "smtp_password": " pass word "}},
		{"OKWithIMAP", base(map[string]string{"imap_host": "imap.acme.example", "imap_username": "support@acme.example",
			"imap_password": "p"}), nil, map[string]string{"imap_port": "993", "imap_security": "tls", "imap_folder": "INBOX"}},
		{"OKLocalhostPlain", base(map[string]string{"smtp_host": "127.0.0.1", "smtp_security": "none", "smtp_port": "2525"}), nil, nil},
		{"ErrFromAddressRequired", base(map[string]string{"from_address": "-"}), []string{"settings.from_address"}, nil},
		{"ErrFromAddressInvalid", base(map[string]string{"from_address": "Support <support@acme.example>"}), []string{"settings.from_address"}, nil},
		{"ErrFromAddressPlus", base(map[string]string{"from_address": "support+x@acme.example"}), []string{"settings.from_address"}, nil},
		{"ErrFromNameNewline", base(map[string]string{"from_name": "Acme\r\nBcc: x@evil.example"}), []string{"settings.from_name"}, nil},
		{"ErrSMTPHostRequired", base(map[string]string{"smtp_host": "-"}), []string{"settings.smtp_host"}, nil},
		{"ErrSMTPHostURL", base(map[string]string{"smtp_host": "smtp://smtp.acme.example:587"}), []string{"settings.smtp_host"}, nil},
		{"ErrSMTPPort", base(map[string]string{"smtp_port": "70000"}), []string{"settings.smtp_port"}, nil},
		{"ErrSMTPSecurity", base(map[string]string{"smtp_security": "ssl3"}), []string{"settings.smtp_security"}, nil},
		{"ErrPlainToRemote", base(map[string]string{"smtp_security": "none"}), []string{"settings.smtp_security"}, nil},
		{"ErrPasswordWithoutUser", base(map[string]string{"smtp_username": "-"}), []string{"settings.smtp_username"}, nil},
		{"ErrIMAPWithoutHost", base(map[string]string{"imap_username": "support@acme.example", "imap_password": "p"}),
			[]string{"settings.imap_host"}, nil},
		{"ErrIMAPWithoutLogin", base(map[string]string{"imap_host": "imap.acme.example"}), []string{"settings.imap_username"}, nil},
		{"ErrAPIBaseURL", base(map[string]string{"api_base_url": "ftp://x"}), []string{"settings.api_base_url"}, nil},
		{"ErrSeveral", map[string]string{"smtp_port": "x"}, []string{"settings.from_address", "settings.smtp_host", "settings.smtp_port"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := d.Validate(tt.settings)
			var fields []string
			for _, f := range app.ErrorFields(err) {
				fields = append(fields, f.Field)
			}
			slices.Sort(fields)
			if !slices.Equal(fields, tt.wantFields) || (err != nil && app.ErrorCode(err) != app.EINVALID) {
				t.Fatalf("got %v (%v), want fields %v", fields, err, tt.wantFields)
			}
			for k, want := range tt.want {
				if got := tt.settings[k]; got != want {
					t.Errorf("%s: got %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestSpec(t *testing.T) {
	t.Parallel()
	s := email.New(email.Options{}).Spec()
	if s.Type != app.ChannelEmail || !s.Webhook || !s.Poll || s.SendRate != 5 || s.SendBurst != 10 {
		t.Errorf("got %+v, want email, webhook and poll, 5/s burst 10", s)
	}
	for _, key := range []string{"smtp_password", "imap_password"} {
		if f, ok := s.Field(key); !ok || !f.Secret {
			t.Errorf("%s: got %+v, want a secret field", key, f)
		}
	}
	for _, key := range []string{"from_address", "smtp_host"} {
		if f, ok := s.Field(key); !ok || !f.Required {
			t.Errorf("%s: got %+v, want a required field", key, f)
		}
	}
	if _, ok := s.Field(app.WebhookSecretKey); ok {
		t.Errorf("got webhook_secret in Fields, want it left to Parley")
	}
}
