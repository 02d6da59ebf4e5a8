package twilio

import (
	"crypto/hmac"
	"crypto/sha1" // #nosec G505 -- Twilio signs webhooks with HMAC-SHA1; we must check what they send
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"maps"
	"net/url"
	"slices"
	"strings"

	"parley/app"
)

// SignatureHeader carries Twilio's signature of a webhook request.
const SignatureHeader = "X-Twilio-Signature"

// verified is a webhook request whose signature matched.
type verified struct {
	params url.Values // the form parameters (or, for a GET, the query's)
	// json is set for a JSON request, signed through its bodySHA256 query
	// parameter instead of form parameters; body is its bytes.
	json bool
	body []byte
	// malformed is set when the form had bytes that are not
	// form-encoding: the signature matched what could be read, the rest
	// is for the parser to refuse.
	malformed bool
}

// verify checks X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL +
// each POST parameter's name and value, sorted by name)), or for a JSON
// body the URL alone with the body's SHA-256 (hex) in its bodySHA256
// query parameter. Twilio's own libraries also accept the URL with the
// default port added or removed, since Twilio signs either form.
func verify(token string, req app.WebhookRequest) (verified, error) {
	sig := req.Header.Get(SignatureHeader)
	u, err := url.Parse(req.URL)
	if token == "" || sig == "" || err != nil {
		return verified{}, app.ErrBadSignature
	}
	if want := u.Query().Get("bodySHA256"); want != "" {
		sum := sha256.Sum256(req.Body)
		if !equal(hex.EncodeToString(sum[:]), strings.ToLower(want)) || !signedBy(token, req.URL, u, nil, sig) {
			return verified{}, app.ErrBadSignature
		}
		return verified{json: true, body: req.Body}, nil
	}
	params, perr := url.ParseQuery(string(req.Body))
	if !signedBy(token, req.URL, u, params, sig) {
		return verified{}, app.ErrBadSignature
	}
	if len(req.Body) == 0 {
		params = u.Query() // a webhook configured for GET: the URL carries everything
	}
	return verified{params: params, malformed: perr != nil}, nil
}

// signedBy reports whether sig signs the URL (in any of its port forms)
// and params.
func signedBy(token, raw string, u *url.URL, params url.Values, sig string) bool {
	ok := false
	for _, v := range urlVariants(raw, u) {
		// No early exit: each form costs the same, whichever matched.
		ok = equal(signature(token, v, params), sig) || ok
	}
	return ok
}

// signature computes Twilio's signature of rawURL and params. Repeated
// names contribute each value, values sorted, as Twilio's libraries do.
func signature(token, rawURL string, params url.Values) string {
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(rawURL))
	for _, k := range slices.Sorted(maps.Keys(params)) {
		for _, v := range slices.Sorted(slices.Values(params[k])) {
			m.Write([]byte(k))
			m.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// urlVariants returns the URL exactly as received, then with its scheme's
// default port added, or its port removed. Only the authority changes: the
// rest keeps its bytes, which the signature covers.
func urlVariants(raw string, u *url.URL) []string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return []string{raw}
	}
	rest := raw[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host := u.Hostname()
	if strings.Contains(host, ":") { // IPv6 literal
		host = "[" + host + "]"
	}
	if u.Port() == "" {
		port := "443"
		if u.Scheme == "http" {
			port = "80"
		}
		host += ":" + port
	}
	return []string{raw, raw[:i+3] + host + rest[end:]}
}

// equal compares in constant time.
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
