package web

import (
	"net/http"
	"slices"

	"parley/app"
)

// sandboxInboundRequest is a customer's message as the sandbox channel
// would receive it: who wrote, what, and the provider's id for it.
type sandboxInboundRequest struct {
	From              sandboxSender `json:"from"`
	Text              string        `json:"text"`
	ProviderMessageID string        `json:"provider_message_id"`
	// SenderName names a sender Parley does not know yet; it becomes the
	// new client's name. Defaults to the address.
	SenderName string `json:"sender_name"`
}

// sandboxSender is the address a simulated customer writes from.
type sandboxSender struct {
	Type  app.ContactType `json:"type"`
	Value string          `json:"value"`
}

// apiSandboxInbound simulates a customer writing to the workspace through
// its sandbox channel. The message takes the one inbound path every
// provider shares (tenantdb ReceiveMessage): dedupe by the provider's id,
// find or create the client, chat, message, event, live update. A
// provider_message_id seen before answers 200 with the first message and
// writes nothing, so a caller may repeat a request whose answer it lost.
func (s *Server) apiSandboxInbound(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var req sandboxInboundRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	transport := app.TransportFor(req.From.Type)
	if !slices.Contains(app.ContactTypes, req.From.Type) || transport == "" {
		s.writeAPIError(w, r, app.InvalidField("from.type", "Choose a type a customer can write from: email, phone, whatsapp, telegram or instagram."))
		return
	}
	ch, err := s.sandboxChannel(r, t)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	m, duplicate, err := t.DB.ReceiveMessage(r.Context(), app.InboundMessage{
		ChannelID:         ch.ID,
		From:              app.ContactInput{Type: req.From.Type, Value: req.From.Value},
		Transport:         transport,
		SenderName:        req.SenderName,
		Text:              req.Text,
		ProviderMessageID: req.ProviderMessageID,
	})
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/messages/"+m.ID)
	if duplicate {
		writeJSON(w, http.StatusOK, m)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

// sandboxChannel returns the workspace's first active sandbox channel.
func (s *Server) sandboxChannel(r *http.Request, t *tenantReq) (app.Channel, error) {
	chs, err := t.DB.ListChannels(r.Context())
	if err != nil {
		return app.Channel{}, err
	}
	for _, c := range chs {
		if c.Type == app.ChannelSandbox && c.Active {
			return c, nil
		}
	}
	return app.Channel{}, app.Errorf(app.ECONFLICT, "Connect the sandbox channel in Settings → Channels first.")
}
