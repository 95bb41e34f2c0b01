package web

import (
	"regexp"
	"strings"
	"testing"
)

func TestSafeRequestID(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9=._-]{8,128}$`)
	for _, id := range []string{"", "abcdefg", "abcdefgh", "ABC=._-09", "abcdefg h", "abcdefgh\n", "abcdefgé",
		"abcd/efgh", strings.Repeat("x", 128), strings.Repeat("x", 129)} {
		if got, want := safeRequestID(id), re.MatchString(id); got != want {
			t.Errorf("safeRequestID(%q) = %v, the regexp says %v", id, got, want)
		}
	}
}
