package service

// Identifier checks, written out instead of regexps: a counted repetition such as
// [A-Za-z0-9_-]{1,128} compiles to one regexp instruction per repetition, and compiling
// those at package init cost every Lambda cold start about 0.3 ms (inittrace). Each
// function's comment gives the regexp it implements; charset_test.go checks them against it.

// isLowerAlnum reports whether c is in [a-z0-9].
func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// allBytes reports whether every byte of s satisfies ok, and s is minLen to maxLen bytes.
func allBytes(s string, minLen, maxLen int, ok func(byte) bool) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// validSlug: ^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])$
func validSlug(s string) bool {
	return allBytes(s, 2, 40, func(c byte) bool { return isLowerAlnum(c) || c == '-' }) &&
		s[0] != '-' && s[len(s)-1] != '-'
}

// validClientID: ^[A-Za-z0-9_-]{1,128}$
func validClientID(s string) bool {
	return allBytes(s, 1, MaxClientIDLength, func(c byte) bool {
		return isLowerAlnum(c) || 'A' <= c && c <= 'Z' || c == '_' || c == '-'
	})
}

// validOAuthErrorCode: ^[a-z_]{1,64}$
func validOAuthErrorCode(s string) bool {
	return allBytes(s, 1, 64, func(c byte) bool { return 'a' <= c && c <= 'z' || c == '_' })
}
