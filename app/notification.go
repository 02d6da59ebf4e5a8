package app

import "time"

// Notification tells one team member of something that needs them: a new
// message in a chat assigned to them (or, unassigned, to the team), or an
// @mention in an internal note.
type Notification struct {
	ID        int64      `json:"id"`
	Kind      string     `json:"kind"` // "message" or "mention"
	ChatID    string     `json:"chat_id"`
	MessageID string     `json:"message_id"`
	Text      string     `json:"text"`
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at"`
}
