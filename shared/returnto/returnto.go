// Package returnto cleans the return_to parameter of a sign-in: where the browser goes
// after signing in. Only a same-origin absolute path is accepted, so the sign-in can never
// become an open redirect to another site.
package returnto

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// MaxLength bounds a return_to path.
const MaxLength = 1024

// maxDecodes is how many rounds of percent-decoding are checked: some proxies and
// browsers decode once more than expected, so a path must stay safe under each round.
const maxDecodes = 3

// Clean returns raw unchanged and true when it is a safe same-origin path such as
// "/orgs/acme?x=1", and "", false otherwise.
func Clean(raw string) (string, bool) {
	if raw == "" || len(raw) > MaxLength || !utf8.ValidString(raw) {
		return "", false
	}
	s := raw
	for i := 0; ; i++ {
		if !safe(s) {
			return "", false
		}
		d, err := url.PathUnescape(s)
		if err != nil {
			return "", false
		}
		if d == s {
			return raw, true
		}
		if i == maxDecodes {
			// Still changing after maxDecodes rounds: nobody writes that by accident.
			return "", false
		}
		s = d
	}
}

// safe checks one decoding round of a candidate path.
func safe(s string) bool {
	// A single leading slash: "//host" and "/\host" are protocol-relative URLs to browsers.
	if len(s) == 0 || s[0] != '/' {
		return false
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	for _, r := range s {
		switch {
		case r == '\\':
			// Browsers read \ as / in http URLs.
			return false
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			// Browsers strip tabs and newlines: "/\t/evil" becomes "//evil".
			return false
		case r == ' ' || r == '\u00a0' || r == '\u3000' || r == '\ufeff':
			// Leading or embedded blanks get trimmed or rewritten by some clients.
			return false
		}
	}
	// "//" anywhere in the path part is never needed and can turn into a host after a
	// proxy's normalisation; the query may legitimately carry anything else.
	p := s
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	return !strings.Contains(p, "//")
}
