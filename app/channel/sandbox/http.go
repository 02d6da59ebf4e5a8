package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"parley/app"
)

// HTTPOutbox delivers to an outbox server over HTTP instead of the
// workspace's own table: tests use it to count, outside the process they
// kill, what reached the "provider". The wire format:
//
//	POST {URL}                       {"tenant_id","key","channel_id","transport","to","text"} -> 200 {"id"}
//	GET  {URL}?tenant_id=..&key=..   -> 200 {"id"} or 404
//
// A POST repeating a key answers the first id (the server is idempotent).
type HTTPOutbox struct {
	URL    string
	Client *http.Client
}

type outboxMessage struct {
	TenantID  string        `json:"tenant_id"`
	Key       string        `json:"key"`
	ChannelID string        `json:"channel_id"`
	Transport app.Transport `json:"transport"`
	To        string        `json:"to"`
	Text      string        `json:"text"`
}

// Deliver posts the message to the outbox server.
func (o HTTPOutbox) Deliver(ctx context.Context, out app.Outbound) (string, error) {
	body, _ := json.Marshal(outboxMessage{TenantID: out.TenantID, Key: out.Key, ChannelID: out.Channel.ID,
		Transport: out.Transport, To: out.To, Text: out.Text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	id, _, err := o.do(req)
	return id, err
}

// Find asks the outbox server whether key was delivered.
func (o HTTPOutbox) Find(ctx context.Context, tenantID, key string) (string, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		o.URL+"?"+url.Values{"tenant_id": {tenantID}, "key": {key}}.Encode(), nil)
	if err != nil {
		return "", false, err
	}
	return o.do(req)
}

func (o HTTPOutbox) do(req *http.Request) (string, bool, error) {
	c := o.Client
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req) // #nosec G704 -- the URL is the outbox server the operator configured
	if err != nil {
		return "", false, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	switch res.StatusCode {
	case http.StatusOK:
		var r struct{ ID string }
		if err := json.Unmarshal(b, &r); err != nil || r.ID == "" {
			return "", false, fmt.Errorf("sandbox outbox: bad answer %q", b)
		}
		return r.ID, true, nil
	case http.StatusNotFound:
		return "", false, nil
	}
	return "", false, fmt.Errorf("sandbox outbox: %s", res.Status)
}
