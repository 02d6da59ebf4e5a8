package meta

import (
	"net/url"
	"regexp"
	"strings"
	"unicode"

	"parley/app"
)

var digitsPattern = regexp.MustCompile(`^[0-9]{1,32}$`)

// rule checks one setting; check returns what is wrong, or "".
type rule struct {
	key      string
	required string // the message when it is missing
	check    func(string) string
}

// validate trims every setting in place, applies the rules and checks the
// optional api_base_url, collecting every field error.
func validate(settings map[string]string, rules []rule) error {
	e := &app.Error{Code: app.EINVALID}
	add := func(key, msg string) {
		e.Fields = append(e.Fields, app.FieldError{Field: "settings." + key, Message: msg})
	}
	for k, v := range settings {
		settings[k] = strings.TrimSpace(v)
	}
	for _, r := range rules {
		v := settings[r.key]
		if v == "" {
			add(r.key, r.required)
		} else if msg := r.check(v); msg != "" {
			add(r.key, msg)
		}
	}
	if v := settings[keyAPIBaseURL]; v != "" {
		settings[keyAPIBaseURL] = strings.TrimSuffix(v, "/")
		if msg := checkBaseURL(v); msg != "" {
			add(keyAPIBaseURL, msg)
		}
	}
	return e.OrNil()
}

func checkBaseURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "Enter an http(s) URL, like https://graph.facebook.com."
	}
	return ""
}

func checkDigits(v string) string {
	if !digitsPattern.MatchString(v) {
		return "Enter the ID as Meta shows it: digits only."
	}
	return ""
}

// checkToken refuses what cannot be a token: spaces or control characters
// (a pasted line break, two values at once).
func checkToken(v string) string {
	if strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) || len(v) > 4096 {
		return "Paste the value alone, without spaces or line breaks."
	}
	return ""
}
