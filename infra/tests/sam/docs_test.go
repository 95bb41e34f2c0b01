package sam_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/infra/testkit/sam"
)

// TestDocsLinks: README.md links the documents in docs/, and every relative link in
// README.md and docs/*.md reaches a file of the repository (and a heading, for #anchors);
// users of forgelink see nothing outside it.
func TestDocsLinks(t *testing.T) {
	root, err := sam.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, filepath.Join(root, "README.md"), filepath.Join(root, "DESIGN-NOTES.md"))
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{"docs/deploy.md", "docs/operations.md", "docs/openapi.yaml"} {
		if !strings.Contains(string(readme), "("+doc+")") && !strings.Contains(string(readme), "("+doc+"#") {
			t.Errorf("README.md does not link %s", doc)
		}
	}
	if strings.Contains(string(readme), "shared design folder") {
		t.Error("README.md points to the shared design folder, which users do not have")
	}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, page)
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), file)
			}
			if r, err := filepath.Rel(root, path); err != nil || strings.HasPrefix(r, "..") {
				t.Errorf("%s links %s, outside the repository", rel, target)
				continue
			}
			body, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%s links %s: %v", rel, target, err)
				continue
			}
			if anchor != "" && strings.HasSuffix(path, ".md") && !hasHeading(string(body), anchor) {
				t.Errorf("%s links %s: no such heading", rel, target)
			}
		}
	}
}

// hasHeading reports whether markdown has a heading whose GitHub anchor is anchor.
func hasHeading(markdown, anchor string) bool {
	drop := regexp.MustCompile(`[^\p{L}\p{N} _-]`)
	for _, line := range strings.Split(markdown, "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		slug := strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(title), ""), " ", "-")
		if slug == anchor {
			return true
		}
	}
	return false
}

// TestReadmeConfigurationTable holds the README's configuration table to the code: every
// FORGELINK_*/FAKEGITLAB_* variable that the product and its programs read (shared/, the
// programs under infra/cmd, the tool cache) is a row of the table, and every row is read
// somewhere. Test-only switches (FORGELINK_SCREENSHOTS, FORGELINK_BENCH, …) live in test
// files and belong to the README's Tests section instead.
func TestReadmeConfigurationTable(t *testing.T) {
	root, err := sam.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	varRE := regexp.MustCompile(`"((?:FORGELINK|FAKEGITLAB)_[A-Z_]+)"`)
	read := map[string]string{}
	for _, dir := range []string{"shared", "infra/cmd", "infra/toolcache", "functions"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			for _, m := range varRE.FindAllStringSubmatch(string(b), -1) {
				read[m[1]] = path
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rowRE := regexp.MustCompile("(?m)^\\| `((?:FORGELINK|FAKEGITLAB)_[A-Z_]+)` \\|")
	rows := map[string]bool{}
	for _, m := range rowRE.FindAllStringSubmatch(string(readme), -1) {
		rows[m[1]] = true
	}
	for v, path := range read {
		if !rows[v] {
			t.Errorf("%s (read in %s) has no row in the README's configuration table", v, path)
		}
	}
	for v := range rows {
		if _, ok := read[v]; !ok {
			t.Errorf("the README's configuration table lists %s, which no program reads", v)
		}
	}
}
