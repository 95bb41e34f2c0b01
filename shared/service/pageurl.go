package service

import (
	"net/url"
	"strings"
)

// gitLabPageRoots are the first path segments of GitLab's own pages that admins copy from
// the address bar when asked for the server URL: /-/user_settings/applications,
// /admin/applications/new, /users/sign_in, /explore, /dashboard/projects, /groups/x/…,
// /oauth/…, /help, /api/v4/…. What comes before one of them is the server URL (a path
// prefix such as /gitlab included).
var gitLabPageRoots = map[string]bool{
	"admin": true, "users": true, "explore": true, "dashboard": true, "groups": true,
	"oauth": true, "help": true, "api": true, ".well-known": true, "user_settings": true,
	"profile": true, "search": true,
}

// ServerURLOfPage cuts the address of a GitLab page back to the server URL it is on;
// cut is false when raw is not recognisably such an address (then raw is returned as
// is, for the URL rules to judge). Query and fragment go with the page path.
func ServerURLOfPage(raw string) (server string, cut bool) {
	trimmed := strings.TrimSpace(raw)
	u, err := url.Parse(trimmed)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Opaque != "" || u.User != nil {
		return raw, false
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i, seg := range segs {
		page := gitLabPageRoots[seg] && (seg != "profile" && seg != "user_settings" || i > 0 && segs[i-1] == "-")
		if seg == "-" && i+1 < len(segs) && gitLabPageRoots[segs[i+1]] {
			page = true
		}
		if !page {
			continue
		}
		prefix := strings.Join(segs[:i], "/")
		out := u.Scheme + "://" + u.Host
		if prefix != "" {
			out += "/" + prefix
		}
		return out, true
	}
	return raw, false
}
