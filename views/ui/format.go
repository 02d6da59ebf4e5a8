package ui

import (
	"time"

	"parley/app"
)

// FormatTime shows a time in UTC to the minute.
func FormatTime(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") }

// FormatDate shows a date as "3 Apr 2026".
func FormatDate(t time.Time) string { return t.UTC().Format("2 Jan 2006") }

// ActorName names who made a change, for the audit log and timelines.
func ActorName(a app.Actor) string {
	switch a.Type {
	case app.ActorToken:
		return "API token " + a.Name
	case "":
		return "Unknown"
	}
	if a.Name == "" {
		return a.Type
	}
	return a.Name
}
