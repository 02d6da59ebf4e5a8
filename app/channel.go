package app

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ChannelType names a provider package under app/channel.
type ChannelType string

// Channel types. Real providers join in their own packages.
const (
	ChannelSandbox ChannelType = "sandbox"
)

// Channel is a provider account connected to a workspace: it sends the
// team's messages and receives the clients'.
type Channel struct {
	ID             string          `json:"id"`
	Type           ChannelType     `json:"type"`
	Name           string          `json:"name"`
	Settings       json.RawMessage `json:"-"`
	Active         bool            `json:"active"`
	CreatedAt      time.Time       `json:"created_at"`
	LastInboundAt  *time.Time      `json:"last_inbound_at"`
	LastOutboundAt *time.Time      `json:"last_outbound_at"`
	LastError      string          `json:"last_error"`
	LastErrorAt    *time.Time      `json:"last_error_at"`
}

// Serves reports whether the channel can carry messages of transport t.
// The sandbox pretends to be every transport so a new workspace can try
// them all.
func (c Channel) Serves(t Transport) bool {
	switch c.Type {
	case ChannelSandbox:
		return t != TransportInternal && t != TransportPhone
	}
	return false
}

// SandboxSettings configure the sandbox channel.
type SandboxSettings struct {
	// FailAttempts makes each message's first N send attempts fail, to show
	// retries (and, past the last retry, a failed message).
	FailAttempts int `json:"fail_attempts"`
	// AutoReply makes the sandbox answer each message like a customer would.
	AutoReply bool `json:"auto_reply"`
}

// Outbound is a message on its way to a provider.
type Outbound struct {
	TenantID string
	Channel  Channel
	// Key identifies the message to the provider across attempts (the
	// message id), so an attempt whose outcome is unknown can be looked up.
	Key         string
	Attempt     int
	Transport   Transport
	To          string
	Text        string
	Attachments []Attachment
	// Open returns an attachment's bytes.
	Open func(Attachment) ([]byte, error)
}

// Provider sends messages through one type of channel.
type Provider interface {
	// Send hands the message to the provider and returns the provider's id
	// for it. A *SendError says whether trying again can help.
	Send(ctx context.Context, out Outbound) (providerID string, err error)
	// Lookup asks the provider whether it already has the message (by
	// out.Key): an earlier attempt may have reached it before Parley could
	// record it. Providers that cannot be asked return ErrLookupUnsupported.
	Lookup(ctx context.Context, out Outbound) (providerID string, found bool, err error)
}

// ErrLookupUnsupported is returned by providers that cannot be asked
// whether they have a message.
var ErrLookupUnsupported = errors.New("the provider cannot look up a message")

// SendError is a provider's refusal, with a reason the team can read.
type SendError struct {
	Reason string
	// Permanent says trying again cannot help (a bad number, a blocked
	// recipient); the message fails at once.
	Permanent bool
}

func (e *SendError) Error() string { return e.Reason }
