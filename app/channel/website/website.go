// Package website is the channel of a workspace's own public site: the
// contact form, the web chat panel and the customer portal. There is no
// provider to call. A reply "sent" through it is one the customer reads
// where they wrote, straight from the workspace's file (the chat panel
// gets it live, the portal shows it), so sending only names the message.
package website

import (
	"context"

	"parley/app"
)

// Provider sends the team's replies on the website channel.
type Provider struct{}

// New returns the website provider.
func New() Provider { return Provider{} }

// Send accepts the message: it is already stored where the customer reads
// it. The id is derived from the message's key, so every attempt of one
// message gets the same id.
func (Provider) Send(_ context.Context, out app.Outbound) (string, error) {
	return "web:" + out.Key, nil
}

// Lookup finds every message: there is nothing that could have failed to
// arrive once it was stored.
func (Provider) Lookup(_ context.Context, out app.Outbound) (string, bool, error) {
	return "web:" + out.Key, true, nil
}
