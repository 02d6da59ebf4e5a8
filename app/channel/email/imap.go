package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"parley/app"
	"parley/app/channel"
)

// Polling limits.
const (
	// PollBatch is how many messages one poll fetches; the next poll goes on.
	PollBatch = 50
	// pollBytes bounds what one poll holds in memory (at least one message
	// is always fetched).
	pollBytes = 64 << 20
	// maxRawMessage is the largest message fetched whole: a 10 MB
	// attachment in base64, with room for the rest. Larger ones are fetched
	// as headers only and say so in their text.
	maxRawMessage = channel.MaxMedia*4/3 + 4<<20
	// Resync is how far back a poll looks when it has no usable cursor:
	// the first poll, or after the folder's UIDVALIDITY changed.
	Resync = 7 * 24 * time.Hour
)

// imapConn is a logged-in IMAP session.
type imapConn struct {
	*imapclient.Client
	stop func() bool
}

// close logs out, waiting a moment for the server's goodbye.
func (c *imapConn) close() {
	c.stop()
	done := make(chan struct{})
	go func() { _ = c.Logout().Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	_ = c.Close()
}

// dialIMAP connects (TLS, STARTTLS, or in the clear to this machine) and
// logs in. The context bounds the session: when it ends, the connection
// is closed under whatever command is waiting.
func (d *Driver) dialIMAP(ctx context.Context, s server) (*imapConn, error) {
	nd := d.dialer(timeoutOf(ctx))
	var conn net.Conn
	var err error
	if s.security == SecurityTLS {
		cfg := d.tlsConfig(s.host)
		cfg.NextProtos = []string{"imap"}
		conn, err = (&tls.Dialer{NetDialer: nd, Config: cfg}).DialContext(ctx, "tcp", s.addr())
	} else {
		conn, err = nd.DialContext(ctx, "tcp", s.addr())
	}
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	var c *imapclient.Client
	if s.security == SecuritySTARTTLS {
		c, err = imapclient.NewStartTLS(conn, &imapclient.Options{TLSConfig: d.tlsConfig(s.host)})
	} else {
		c = imapclient.New(conn, nil)
		err = c.WaitGreeting()
	}
	if err != nil {
		stop()
		_ = conn.Close()
		return nil, err
	}
	if err := c.Login(s.username, s.password).Wait(); err != nil {
		stop()
		_ = c.Close()
		return nil, fmt.Errorf("login: %w", err)
	}
	return &imapConn{Client: c, stop: stop}, nil
}

// Poll fetches the folder's new messages over IMAP, at most PollBatch a
// time, oldest first. The cursor is "UIDVALIDITY:LASTUID". When the
// folder's UIDVALIDITY changed (or on the first poll) it starts again from
// the messages of the last seven days: Parley dedupes by Message-ID, so
// seeing one again is harmless.
//
// The folder is opened read-only (EXAMINE) and bodies are fetched with
// BODY.PEEK[]: Parley never marks a message \Seen or changes the mailbox.
// The mailbox may be shared with people reading it in a mail client, for
// whom "unread" must keep meaning unread by them; the cursor, not a flag,
// is what says Parley has a message.
//
// A message that does not parse is skipped and the cursor moves past it:
// retrying would fail the same way on every poll and hold back the mail
// behind it. Nothing is logged here; the relay endpoint's EINVALID is
// where such mail can be looked at.
func (d *Driver) Poll(ctx context.Context, ch app.Channel, cursor string) (app.Incoming, string, error) {
	c, err := configOf(ch)
	if err != nil {
		return app.Incoming{}, cursor, err
	}
	if c.imap.host == "" {
		return app.Incoming{}, cursor, nil // receives through the relay only
	}
	ic, err := d.dialIMAP(ctx, c.imap)
	if err != nil {
		return app.Incoming{}, cursor, imapError(c.imap, err)
	}
	defer ic.close()
	sel, err := ic.Select(c.folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return app.Incoming{}, cursor, folderError(c, err)
	}
	uids, last, err := d.newUIDs(ic, sel, cursor)
	if err != nil {
		return app.Incoming{}, cursor, imapError(c.imap, err)
	}
	if len(uids) == 0 {
		return app.Incoming{}, formatCursor(sel.UIDValidity, last), nil
	}
	in, last, err := fetchAll(ic, uids, ch)
	if err != nil {
		return app.Incoming{}, cursor, imapError(c.imap, err)
	}
	return in, formatCursor(sel.UIDValidity, last), nil
}

// newUIDs lists the UIDs to fetch now, in order, and the last UID the
// cursor should keep when there are none.
func (d *Driver) newUIDs(ic *imapConn, sel *imap.SelectData, cursor string) ([]imap.UID, imap.UID, error) {
	validity, last, ok := parseCursor(cursor)
	criteria := &imap.SearchCriteria{UID: []imap.UIDSet{{{Start: last + 1, Stop: 0}}}}
	if !ok || validity != sel.UIDValidity {
		last = 0
		criteria = &imap.SearchCriteria{Since: d.now().Add(-Resync)}
	}
	uids, err := search(ic, criteria)
	if err != nil {
		return nil, last, err
	}
	// "UID n:*" always matches the newest message, even one below n.
	uids = slices.DeleteFunc(uids, func(u imap.UID) bool { return u <= last })
	if len(uids) == 0 && last == 0 { // nothing recent: start after what is there
		if sel.UIDNext > 0 {
			last = sel.UIDNext - 1
		} else if all, err := search(ic, &imap.SearchCriteria{}); err == nil && len(all) > 0 {
			last = all[len(all)-1]
		}
	}
	return uids[:min(len(uids), PollBatch)], last, nil
}

// search returns the matching UIDs in ascending order.
func search(ic *imapConn, criteria *imap.SearchCriteria) ([]imap.UID, error) {
	data, err := ic.UIDSearch(criteria, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	var uids []imap.UID
	if set, ok := data.All.(imap.UIDSet); ok {
		if nums, ok := set.Nums(); ok { // a server bug could send "*"
			uids = nums
		}
	}
	slices.Sort(uids)
	return uids, nil
}

// fetchAll fetches and parses the messages, as many as fit the poll's
// byte budget, and returns the last UID it covered.
func fetchAll(ic *imapConn, uids []imap.UID, ch app.Channel) (app.Incoming, imap.UID, error) {
	sizes, err := ic.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return app.Incoming{}, 0, fmt.Errorf("fetch sizes: %w", err)
	}
	size := map[imap.UID]int64{}
	for _, s := range sizes {
		size[s.UID] = s.RFC822Size
	}
	var whole, headers []imap.UID
	var total int64
	for i, u := range uids {
		if total += min(size[u], maxRawMessage); i > 0 && total > pollBytes {
			uids = uids[:i]
			break
		}
		if size[u] > maxRawMessage {
			headers = append(headers, u)
		} else {
			whole = append(whole, u)
		}
	}
	var in app.Incoming
	if err := fetchParse(ic, whole, &imap.FetchItemBodySection{Peek: true}, ch, &in, nil); err != nil {
		return in, 0, err
	}
	hdr := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	err = fetchParse(ic, headers, hdr, ch, &in, func(m *app.InboundMessage, u imap.UID) {
		m.Text = strings.TrimSpace(m.Text + fmt.Sprintf("\n\n[This email is %d MB, too large to import; open it in the mailbox.]",
			size[u]>>20))
	})
	return in, uids[len(uids)-1], err
}

// fetchParse fetches one section of each message and adds what Parse
// finds to in; unparseable messages are skipped (see Poll).
func fetchParse(ic *imapConn, uids []imap.UID, section *imap.FetchItemBodySection, ch app.Channel,
	in *app.Incoming, adjust func(*app.InboundMessage, imap.UID)) error {
	if len(uids) == 0 {
		return nil
	}
	opts := &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}
	bufs, err := ic.Fetch(imap.UIDSetNum(uids...), opts).Collect()
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	slices.SortFunc(bufs, func(a, b *imapclient.FetchMessageBuffer) int { return int(a.UID) - int(b.UID) })
	for _, buf := range bufs {
		got, err := Parse(buf.FindBodySection(section), ch)
		if err != nil {
			continue
		}
		for i := range got.Messages {
			if adjust != nil {
				adjust(&got.Messages[i], buf.UID)
			}
		}
		in.Messages = append(in.Messages, got.Messages...)
		in.Statuses = append(in.Statuses, got.Statuses...)
	}
	return nil
}

func parseCursor(cursor string) (validity uint32, last imap.UID, ok bool) {
	v, l, found := strings.Cut(cursor, ":")
	vn, err1 := strconv.ParseUint(v, 10, 32)
	ln, err2 := strconv.ParseUint(l, 10, 32)
	if !found || err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uint32(vn), imap.UID(ln), true
}

func formatCursor(validity uint32, last imap.UID) string {
	return strconv.FormatUint(uint64(validity), 10) + ":" + strconv.FormatUint(uint64(last), 10)
}

// imapError says what went wrong in words an admin can act on.
func imapError(s server, err error) error {
	var ie *imap.Error
	switch {
	case errors.As(err, &ie) && strings.HasPrefix(err.Error(), "login"):
		return app.Errorf(app.EINVALID, "IMAP %s: the server refused the login (%s). Check the user name and password.",
			s.addr(), ie.Text)
	case errors.As(err, &ie):
		return app.Errorf(app.EUNAVAILABLE, "IMAP %s: the server answered %s.", s.addr(), ie.Error())
	}
	if msg, ok := configProblem(s, err); ok {
		return app.Errorf(app.EINVALID, "IMAP: %s", msg)
	}
	return app.Errorf(app.EUNAVAILABLE, "IMAP %s: could not talk to the server (%v). Check the host and port.", s.addr(), err)
}

func folderError(c config, err error) error {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return app.Errorf(app.EINVALID, "IMAP %s: the folder %q could not be opened (%s).", c.imap.addr(), c.folder, ie.Text)
	}
	return imapError(c.imap, err)
}

// Pollable reports whether the channel has a mailbox to fetch from; one
// without an IMAP host receives only through the relay endpoint.
func (d *Driver) Pollable(ch app.Channel) bool { return ch.Setting("imap_host") != "" }
