package app

import "slices"

// Role is what a team member is allowed to do in a workspace.
type Role string

// Roles, from the product brief.
const (
	RoleAdmin Role = "admin" // configures templates, channels, team, retention
	RoleLead  Role = "lead"  // reviews all conversations and history
	RoleAgent Role = "agent" // works conversations
	RoleSales Role = "sales" // owns clients and sends messages
)

// Roles lists every role, most privileged first.
var Roles = []Role{RoleAdmin, RoleLead, RoleAgent, RoleSales}

// ParseRole returns the role named s, or an EINVALID error for field.
func ParseRole(field, s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", InvalidField(field, "Choose a role: admin, lead, agent or sales.")
}

// Label is the role's name as shown to people.
func (r Role) Label() string {
	switch r {
	case RoleAdmin:
		return "Admin"
	case RoleLead:
		return "Lead"
	case RoleAgent:
		return "Agent"
	case RoleSales:
		return "Sales"
	}
	return string(r)
}

// Permission is one action that a role may or may not take.
type Permission string

// Permissions. Handlers ask Can(permission); they never compare role names.
const (
	PermManageTeam           Permission = "team.manage"
	PermManageTokens         Permission = "tokens.manage"
	PermViewAudit            Permission = "audit.view"
	PermManageSettings       Permission = "settings.manage"
	PermManageChannels       Permission = "channels.manage"
	PermManageRetention      Permission = "retention.manage"
	PermManageTemplates      Permission = "templates.manage"
	PermUseTemplates         Permission = "templates.use"
	PermViewAllConversations Permission = "conversations.view_all"
	PermWorkConversations    Permission = "conversations.work"
	PermSendMessages         Permission = "messages.send"
	PermViewClients          Permission = "clients.view"
	PermManageClients        Permission = "clients.manage"
	PermWriteNotes           Permission = "clients.notes"
	PermPublishArticles      Permission = "articles.publish"
	PermEditArticles         Permission = "articles.edit"
)

// rolePermissions is the one table that decides every action.
var rolePermissions = map[Role]map[Permission]bool{
	RoleAdmin: set(PermManageTeam, PermManageTokens, PermViewAudit, PermManageSettings,
		PermManageChannels, PermManageRetention, PermManageTemplates, PermUseTemplates,
		PermViewAllConversations, PermWorkConversations, PermSendMessages, PermViewClients,
		PermManageClients, PermWriteNotes, PermPublishArticles, PermEditArticles),
	RoleLead: set(PermViewAudit, PermManageTemplates, PermUseTemplates, PermViewAllConversations,
		PermWorkConversations, PermSendMessages, PermViewClients, PermManageClients, PermWriteNotes,
		PermPublishArticles, PermEditArticles),
	RoleAgent: set(PermUseTemplates, PermWorkConversations, PermSendMessages, PermViewClients,
		PermWriteNotes, PermEditArticles),
	RoleSales: set(PermUseTemplates, PermSendMessages, PermViewClients, PermManageClients, PermWriteNotes),
}

func set(perms ...Permission) map[Permission]bool {
	m := make(map[Permission]bool, len(perms))
	for _, p := range perms {
		m[p] = true
	}
	return m
}

// Can reports whether the role grants the permission.
func (r Role) Can(p Permission) bool { return rolePermissions[r][p] }

// PermissionsOf lists the permissions a role holds, sorted.
func PermissionsOf(r Role) []Permission {
	var out []Permission
	for p := range rolePermissions[r] {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}
