package web

import (
	"net/http"

	"parley/views/layout"
	"parley/views/notification"
)

// showNotifications lists the user's notifications and then marks them
// read: they were seen.
func (s *Server) showNotifications(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	ns, err := t.DB.ListNotifications(r.Context(), t.User.ID, 50)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if err := t.DB.MarkNotificationsRead(r.Context(), t.User.ID); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, notification.List(notification.Page{Notifications: ns,
		Shell: s.shellFor(r, t, layout.SectionNotifications, "Notifications", "New messages for you and mentions of you.")}))
}

// showNotificationCount is the navigation badge's content.
func (s *Server) showNotificationCount(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	n, err := t.DB.UnreadNotifications(r.Context(), t.User.ID)
	if err != nil {
		s.log.WarnContext(r.Context(), "notification count failed", "err", err)
	}
	s.render(w, r, http.StatusOK, layout.NotificationCount(n))
}
