package service

import (
	"regexp"
	"strings"
	"testing"
)

// The regexps the hand-written checks of charset.go implement.
var charsetSpecs = []struct {
	name  string
	re    *regexp.Regexp
	check func(string) bool
}{
	{"slug", regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])$`), validSlug},
	{"client id", regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`), validClientID},
	{"oauth error", regexp.MustCompile(`^[a-z_]{1,64}$`), validOAuthErrorCode},
}

func TestCharsetChecks(t *testing.T) {
	inputs := []string{"", "a", "ab", "a-b", "-ab", "ab-", "--", "a_b", "A", "Ab", "a b", "a\n", "ab\n",
		"access_denied", "é", "a.b", strings.Repeat("a", 39), strings.Repeat("a", 40), strings.Repeat("a", 41),
		strings.Repeat("a", 64), strings.Repeat("a", 65), strings.Repeat("Z", 128), strings.Repeat("Z", 129)}
	for _, sp := range charsetSpecs {
		for _, in := range inputs {
			if got, want := sp.check(in), sp.re.MatchString(in); got != want {
				t.Errorf("%s(%q) = %v, the regexp says %v", sp.name, in, got, want)
			}
		}
	}
}

func FuzzCharsetChecks(f *testing.F) {
	f.Add("abc-def")
	f.Add("Client_ID-1")
	f.Fuzz(func(t *testing.T, in string) {
		for _, sp := range charsetSpecs {
			if got, want := sp.check(in), sp.re.MatchString(in); got != want {
				t.Fatalf("%s(%q) = %v, the regexp says %v", sp.name, in, got, want)
			}
		}
	})
}
