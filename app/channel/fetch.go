// Package channel holds what every provider package shares: downloading
// media from a provider's own hosts with limits.
package channel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"parley/app"
)

// MaxMedia is the largest file Parley downloads from a provider, the same
// limit as an upload by the team.
const MaxMedia = app.MaxAttachmentBytes

// FetchTimeout bounds one media download.
const FetchTimeout = 20 * time.Second

// Fetcher downloads media only from the hosts it allows, following
// redirects only to them, with a size limit and a timeout: a webhook's URL
// must never make Parley fetch from the internal network or anyone else.
type Fetcher struct {
	Client *http.Client
	// Hosts are the allowed host names; an entry starting with "." allows
	// its subdomains (".twiliocdn.com").
	Hosts []string
}

// Allowed reports whether u is an https URL (or any URL on an allowed host
// given with a port, which only tests' fake servers use) on an allowed host.
func (f Fetcher) Allowed(u *url.URL) bool {
	if u.Scheme != "https" && u.Scheme != "http" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	for _, h := range f.Hosts {
		h = strings.ToLower(h)
		if strings.Contains(h, ":") { // a host with a port: exact match, http allowed
			if strings.EqualFold(u.Host, h) {
				return true
			}
			continue
		}
		if u.Scheme != "https" {
			continue
		}
		if host == h || (strings.HasPrefix(h, ".") && strings.HasSuffix(host, h)) {
			return true
		}
	}
	return false
}

// Fetch downloads rawURL (with the request's headers set by prepare, for
// credentials) and returns it as an upload named after the URL's path
// unless the response names it. The content type is sniffed later by
// app.CheckUpload, never trusted from the provider.
func (f Fetcher) Fetch(ctx context.Context, rawURL string, prepare func(*http.Request)) (app.Upload, error) {
	u, err := url.Parse(rawURL)
	if err != nil || !f.Allowed(u) {
		return app.Upload{}, fmt.Errorf("media URL %q is not on the provider's hosts", rawURL)
	}
	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return app.Upload{}, err
	}
	if prepare != nil {
		prepare(req)
	}
	client := *f.client()
	client.CheckRedirect = func(next *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		if !f.Allowed(next.URL) {
			return fmt.Errorf("redirect to %s is not on the provider's hosts", next.URL.Host)
		}
		// Credentials stay with the provider's API host; a CDN gets none.
		if next.URL.Host != u.Host {
			next.Header.Del("Authorization")
		}
		return nil
	}
	resp, err := client.Do(req)
	if err != nil {
		return app.Upload{}, fmt.Errorf("download media: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return app.Upload{}, fmt.Errorf("download media: %s", resp.Status)
	}
	if resp.ContentLength > MaxMedia {
		return app.Upload{}, fmt.Errorf("media is %d bytes, over the %d limit", resp.ContentLength, MaxMedia)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxMedia+1))
	if err != nil {
		return app.Upload{}, fmt.Errorf("download media: %w", err)
	}
	if len(data) > MaxMedia {
		return app.Upload{}, fmt.Errorf("media is over the %d-byte limit", MaxMedia)
	}
	return app.Upload{Filename: filename(resp, u), Data: data}, nil
}

func (f Fetcher) client() *http.Client {
	if f.Client != nil {
		return f.Client
	}
	return &http.Client{Timeout: FetchTimeout}
}

// filename takes the name from Content-Disposition, else the URL's last
// path element, else "file".
func filename(resp *http.Response, u *url.URL) string {
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil && params["filename"] != "" {
		return path.Base(params["filename"])
	}
	if base := path.Base(u.Path); base != "." && base != "/" && base != "" {
		return base
	}
	return "file"
}

// HostOf returns the host (with port) of a base URL, for a Fetcher that
// must also allow a configured api_base_url (a test's fake server).
func HostOf(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return ""
	}
	if u.Port() != "" {
		return u.Host
	}
	return u.Hostname()
}
