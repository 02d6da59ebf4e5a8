package app

import (
	"strings"
	"time"
)

// User statuses.
const (
	UserActive      = "active"
	UserDeactivated = "deactivated"
)

// MinPasswordLength is the shortest password Parley accepts.
const MinPasswordLength = 10

// User is a team member of one tenant. Users live in the tenant's own file.
type User struct {
	ID           string
	Email        string
	Name         string
	Role         Role
	Status       string
	PasswordHash string
	CreatedAt    time.Time
	LastLoginAt  *time.Time
	// SessionEpoch is stored in each session at sign-in; a session with an
	// older epoch is no longer valid.
	SessionEpoch int64
}

// Active reports whether the user may sign in.
func (u *User) Active() bool { return u.Status == UserActive }

// Can reports whether the user's role grants p; deactivated users can do nothing.
func (u *User) Can(p Permission) bool { return u != nil && u.Active() && u.Role.Can(p) }

// Initials returns up to two letters for an avatar.
func (u *User) Initials() string {
	var out []rune
	for _, w := range strings.Fields(u.Name) {
		out = append(out, []rune(strings.ToUpper(w))[0])
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 && u.Email != "" {
		out = []rune(strings.ToUpper(u.Email[:1]))
	}
	return string(out)
}

// NormalizeEmail trims and lower-cases an email address for storage and comparison.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// NewUser is the input for creating a user with a password.
type NewUser struct {
	Email    string `json:"email" validate:"required,email,max=254"`
	Name     string `json:"name" validate:"required,max=100"`
	Password string `json:"password" validate:"required,min=10,max=200"`
	Role     Role   `json:"role" validate:"required,oneof=admin lead agent sales"`
}

// NewInvite is the input for inviting a team member.
type NewInvite struct {
	Email string `json:"email" validate:"required,email,max=254"`
	Name  string `json:"name" validate:"max=100"`
	Role  Role   `json:"role" validate:"required,oneof=admin lead agent sales"`
}

// InviteTTL is how long an invite link stays valid.
const InviteTTL = 7 * 24 * time.Hour

// Invite is a pending invitation to join a workspace. The link's secret is
// only ever stored as a hash.
type Invite struct {
	ID         string
	Email      string
	Name       string
	Role       Role
	InvitedBy  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt *time.Time
	RevokedAt  *time.Time
}

// Usable reports whether the invite can still be accepted at now.
func (i *Invite) Usable(now time.Time) error {
	switch {
	case i.AcceptedAt != nil:
		return Errorf(EGONE, "This invitation has already been used. Sign in instead, or ask an admin for a new one.")
	case i.RevokedAt != nil:
		return Errorf(EGONE, "This invitation was withdrawn. Ask an admin for a new one.")
	case !now.Before(i.ExpiresAt):
		return Errorf(EGONE, "This invitation has expired. Ask an admin for a new one.")
	}
	return nil
}

// PasswordResetTTL is how long a password-reset link stays valid.
const PasswordResetTTL = 24 * time.Hour

// AcceptInvite is the input of the accept-invite form.
type AcceptInvite struct {
	Name     string `json:"name" validate:"required,max=100"`
	Password string `json:"password" validate:"required,min=10,max=200"`
}
