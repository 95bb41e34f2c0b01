// Command genevents writes events/*.json: API Gateway HTTP API (payload 2.0) events for
// every route, for `sam local invoke -e` and the infra/tests/sam tests. The ids, tokens and CSRF
// tokens in them match the store that infra/testkit/sam.SeedEvents seeds, under the environment of
// infra/testkit/sam.EventEnv (fixed cookie key, in-memory store). Run from the repository root:
//
//	go run ./infra/cmd/genevents
//
// Files whose content is unchanged are left alone (the callback's sealed state cookie
// differs at every run, so callback.json is only rewritten when something else changed).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/forgelink/forgelink/infra/testkit/sam"
)

func main() {
	dir := flag.String("dir", "", "where to write the events (default: <repository>/events)")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "genevents:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if dir == "" {
		d, err := sam.EventsDir()
		if err != nil {
			return err
		}
		dir = d
	}
	files, err := sam.EventFiles()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(dir, name)
		if old, err := os.ReadFile(path); err == nil && sam.SameEvent(old, files[name]) {
			continue
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", path)
	}
	return nil
}
