package channel

import (
	"net/http"
	"time"
)

// Options are what an HTTP provider package (Telegram, Twilio, Meta) is
// built with; one driver serves every channel of its type in every
// workspace.
type Options struct {
	// Client makes the provider's API calls and media downloads. Defaults
	// to a client with a 30 s timeout.
	Client *http.Client
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
}

// WithDefaults returns the options with the defaults filled in.
func (o Options) WithDefaults() Options {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
