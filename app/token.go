package app

import "time"

// TokenPrefix starts every Parley API token so that secret scanners can spot one.
const TokenPrefix = "prl_"

// APIToken is a credential for /api/v1 that belongs to one tenant and carries a role.
type APIToken struct {
	ID         string
	Name       string
	Role       Role
	Hint       string // the first characters of the secret, to tell tokens apart
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// NewAPIToken is the input for creating a token.
type NewAPIToken struct {
	Name string `json:"name" validate:"required,max=80"`
	Role Role   `json:"role" validate:"required,oneof=admin lead agent sales"`
}
