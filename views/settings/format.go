package settings

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"

	"parley/views/ui"
)

// summarise renders an event payload as "key: value" pairs in key order.
// It is shown as text, so nothing a customer typed can become markup.
func summarise(payload []byte) string {
	var m map[string]any
	if json.Unmarshal(payload, &m) != nil || len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := m[k]
		if str, ok := v.(string); ok {
			if ts, err := time.Parse(time.RFC3339Nano, str); err == nil {
				v = ui.FormatTime(ts)
			}
		}
		parts = append(parts, fmt.Sprintf("%s: %v", strings.ReplaceAll(k, "_", " "), v))
	}
	return strings.Join(parts, " · ")
}

// eventLabel turns an event type into words: "UserLoggedIn" -> "User logged in".
func eventLabel(typ string) string {
	var b strings.Builder
	for i, r := range typ {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte(' ')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
