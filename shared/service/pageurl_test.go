package service

import "testing"

func TestServerURLOfPage(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
		cut       bool
	}{
		{"https://gitlab.example.com/-/user_settings/applications", "https://gitlab.example.com", true},
		{"https://example.com/gitlab/-/user_settings/applications", "https://example.com/gitlab", true},
		{"https://gitlab.example.com/admin/applications/new", "https://gitlab.example.com", true},
		{" https://gitlab.example.com/users/sign_in?redirect_to=x#top ", "https://gitlab.example.com", true},
		{"https://gitlab.example.com/explore", "https://gitlab.example.com", true},
		{"https://example.com/git/dashboard/projects", "https://example.com/git", true},
		{"https://gitlab.example.com/groups/eng/-/settings/applications", "https://gitlab.example.com", true},
		{"https://gitlab.example.com/-/profile", "https://gitlab.example.com", true},
		// Not a page of GitLab's own: left for the URL rules.
		{"https://gitlab.example.com", "https://gitlab.example.com", false},
		{"https://example.com/gitlab", "https://example.com/gitlab", false},
		{"https://gitlab.example.com/eng/app/-/tree/main", "https://gitlab.example.com/eng/app/-/tree/main", false},
		{"https://gitlab.example.com/profile", "https://gitlab.example.com/profile", false},
		{"gitlab.example.com/explore", "gitlab.example.com/explore", false},
		{"ftp://gitlab.example.com/explore", "ftp://gitlab.example.com/explore", false},
	} {
		got, cut := ServerURLOfPage(tc.raw)
		if got != tc.want || cut != tc.cut {
			t.Errorf("ServerURLOfPage(%q) = %q, %v; want %q, %v", tc.raw, got, cut, tc.want, tc.cut)
		}
	}
}
