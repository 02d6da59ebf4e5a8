package app

import (
	"encoding/json"
	"time"
)

// Actor types: who caused an event.
const (
	ActorUser   = "user"
	ActorToken  = "api_token"
	ActorSystem = "system"
	ActorCLI    = "cli"
)

// Actor is whoever caused a change.
type Actor struct {
	Type string
	ID   string
	Name string
}

// SystemActor is the actor for changes Parley makes on its own.
var SystemActor = Actor{Type: ActorSystem, Name: "Parley"}

// CLIActor is the actor for changes made by an operator with the parley command.
var CLIActor = Actor{Type: ActorCLI, Name: "Operator (command line)"}

// UserActor returns the actor for a signed-in user.
func UserActor(u *User) Actor { return Actor{Type: ActorUser, ID: u.ID, Name: u.Name} }

// Event types written by the foundation. Later features add their own.
const (
	EventWorkspaceCreated         = "WorkspaceCreated"
	EventWorkspaceDisabled        = "WorkspaceDisabled"
	EventWorkspaceEnabled         = "WorkspaceEnabled"
	EventUserCreated              = "UserCreated"
	EventUserInvited              = "UserInvited"
	EventInviteAccepted           = "InviteAccepted"
	EventInviteRevoked            = "InviteRevoked"
	EventUserRoleChanged          = "UserRoleChanged"
	EventUserDeactivated          = "UserDeactivated"
	EventUserReactivated          = "UserReactivated"
	EventUserLoggedIn             = "UserLoggedIn"
	EventUserLoggedOut            = "UserLoggedOut"
	EventLoginFailed              = "LoginFailed"
	EventPasswordChanged          = "PasswordChanged"
	EventPasswordResetLinkCreated = "PasswordResetLinkCreated"
	EventPasswordReset            = "PasswordReset"
	EventProfileChanged           = "UserProfileChanged"
	EventTokenCreated             = "TokenCreated"
	EventTokenRevoked             = "TokenRevoked"
	// Custom domains of the public site: added, verified (by DNS or by the
	// operator), removed.
	EventDomainAdded    = "CustomDomainAdded"
	EventDomainVerified = "CustomDomainVerified"
	EventDomainRemoved  = "CustomDomainRemoved"
)

// EventTypes lists the event types that the audit log filter offers.
var EventTypes = []string{
	EventWorkspaceCreated, EventWorkspaceDisabled, EventWorkspaceEnabled, EventUserCreated, EventUserInvited, EventInviteAccepted,
	EventInviteRevoked, EventUserRoleChanged, EventUserDeactivated, EventUserReactivated,
	EventUserLoggedIn, EventUserLoggedOut, EventLoginFailed, EventPasswordChanged,
	EventPasswordResetLinkCreated, EventPasswordReset,
	EventProfileChanged, EventTokenCreated, EventTokenRevoked,
	EventClientCreated, EventProfileUpdated, EventStatusChanged, EventContactInfoChanged,
	EventAddressChanged, EventNoteAdded, EventNoteEdited, EventNoteDeleted, EventClientDeleted,
	EventClientMerged, EventCustomFieldDefined, EventCustomFieldRemoved, EventSettingsChanged,
	EventTemplateCreated, EventTemplateUpdated, EventTemplateDeleted,
	EventChatStarted, EventChatAssigned, EventChatStatusChanged, EventChatRead, EventChatMerged,
	EventMessageQueued, EventMessageReceived, EventMessageStatus, EventNotePosted,
	EventChannelConnected, EventChannelChanged, EventContactOptOut, EventConsentChanged,
	EventRetentionSwept, EventLegalHoldChanged, EventExportRequested, EventExportDownloaded,
	EventClientErasureStarted, EventClientErased,
	EventKBCategoryCreated, EventKBCategoryUpdated, EventKBCategoryDeleted, EventKBCategoriesReordered,
	EventKBArticleCreated, EventKBArticleUpdated, EventKBArticlePublished, EventKBArticleUnpublished,
	EventKBArticleDeleted, EventKBArticleVoted, EventKBFileUploaded, EventKBFileDeleted,
	EventPortalLinkRequested, EventPortalLinkSent, EventPortalLinkFailed, EventPortalSignedIn, EventPortalSignedOut,
	EventDomainAdded, EventDomainVerified, EventDomainRemoved,
}

// Event is one row of a tenant's append-only event log: the audit trail, the
// timeline and the feed for live updates.
type Event struct {
	ID            string
	Type          string
	AggregateType string
	AggregateID   string
	Actor         Actor
	OccurredAt    time.Time
	Payload       json.RawMessage
}

// NewEvent builds an event; payload is marshalled to JSON (nil gives {}).
func NewEvent(typ, aggType, aggID string, actor Actor, payload any) Event {
	raw := json.RawMessage(`{}`)
	if payload != nil {
		if b, err := json.Marshal(payload); err == nil {
			raw = b
		}
	}
	return Event{Type: typ, AggregateType: aggType, AggregateID: aggID, Actor: actor, Payload: raw}
}

// EventFilter selects events for the audit log. Before is a cursor: the ID of
// the last event on the previous page.
type EventFilter struct {
	ActorID *string
	Type    *string
	From    *time.Time
	To      *time.Time
	Before  *string
	Limit   int
}
