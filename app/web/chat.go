package web

import (
	"context"

	"parley/app"
)

// scope is what the request's user (or token) may see of the chats. An
// API token acts for the whole workspace within its role.
func (t *tenantReq) scope() app.ChatScope {
	if t.Token != nil {
		return app.ChatScope{All: t.Token.Role.Can(app.PermViewAllConversations), UserID: "token:" + t.Token.ID}
	}
	return app.ScopeFor(t.User.Role, t.User.ID)
}

// enqueueSend hands a committed, queued message to the delivery worker. A
// failure is logged, not shown: the message is safe in the tenant file and
// the reconciler queues it again.
func (s *Server) enqueueSend(ctx context.Context, t *tenantReq, messageID string) {
	if s.cfg.Delivery == nil {
		return
	}
	if err := s.cfg.Delivery.EnqueueSend(ctx, t.DB.TenantID, messageID); err != nil {
		s.log.WarnContext(ctx, "enqueue send failed; the reconciler will retry", "message", messageID, "err", err)
	}
}
