package telegram

import (
	"strings"
	"testing"

	"parley/app"
)

// TestContactOf checks the client is keyed on their user id, with the user
// name only as a label that app accepts.
func TestContactOf(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", maxLabel) // "@" + this is one too many
	tests := []struct {
		name string
		user user
		want app.ContactInput
	}{
		{"Username", user{ID: 1111111, Username: "Testusername"},
			app.ContactInput{Type: app.ContactTelegram, Value: "1111111", Label: "@Testusername"}},
		{"NoUsername", user{ID: 2222222}, app.ContactInput{Type: app.ContactTelegram, Value: "2222222"}},
		{"LongestUsername", user{ID: 5, Username: long[1:]},
			app.ContactInput{Type: app.ContactTelegram, Value: "5", Label: "@" + long[1:]}},
		{"TooLongUsername", user{ID: 5, Username: long}, app.ContactInput{Type: app.ContactTelegram, Value: "5"}},
		{"ControlUsername", user{ID: 5, Username: "ab\ncd"}, app.ContactInput{Type: app.ContactTelegram, Value: "5"}},
		{"AtOnly", user{ID: 5, Username: " @ "}, app.ContactInput{Type: app.ContactTelegram, Value: "5"}},
		{"LargeID", user{ID: 9007199254740991, Username: "x"},
			app.ContactInput{Type: app.ContactTelegram, Value: "9007199254740991", Label: "@x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := contactOf(&tt.user)
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if err := got.Normalize("from", ""); err != nil || got != tt.want {
				t.Errorf("got %v normalising to %+v, want it accepted unchanged", err, got)
			}
		})
	}
}
