package email

import (
	"context"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"

	"parley/app"
)

// Check logs in to the SMTP server (EHLO, STARTTLS or TLS, AUTH, QUIT)
// and, when IMAP is set, to the IMAP server (LOGIN, EXAMINE the folder,
// LOGOUT): "SMTP smtp.example.com:587 ok; IMAP imap.example.com:993 ok,
// INBOX has 12 messages". Nothing is sent or changed.
func (d *Driver) Check(ctx context.Context, ch app.Channel) (string, error) {
	c, err := configOf(ch)
	if err != nil {
		return "", err
	}
	if c.smtp.host == "" {
		return "", app.Errorf(app.EINVALID, "Enter the SMTP server.")
	}
	sc, err := d.dialSMTP(ctx, c.smtp)
	if err != nil {
		return "", smtpCheckError(c.smtp, err)
	}
	sc.close()
	out := []string{fmt.Sprintf("SMTP %s ok", c.smtp.addr())}
	if c.imap.host != "" {
		n, err := d.checkIMAP(ctx, c)
		if err != nil {
			return "", err
		}
		out = append(out, fmt.Sprintf("IMAP %s ok, %s has %d messages", c.imap.addr(), c.folder, n))
	}
	return strings.Join(out, "; "), nil
}

func (d *Driver) checkIMAP(ctx context.Context, c config) (uint32, error) {
	ic, err := d.dialIMAP(ctx, c.imap)
	if err != nil {
		return 0, imapError(c.imap, err)
	}
	defer ic.close()
	sel, err := ic.Select(c.folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return 0, folderError(c, err)
	}
	return sel.NumMessages, nil
}

// smtpCheckError words an SMTP failure for the settings page.
func smtpCheckError(s server, err error) error {
	se := sendError(s, err, true)
	code := app.EINVALID
	if !se.Permanent {
		code = app.EUNAVAILABLE
	}
	return app.Errorf(code, "SMTP %s: %s", s.addr(), se.Reason)
}
