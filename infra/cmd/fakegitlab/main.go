// Command fakegitlab runs the fake GitLab of package fakegitlab on its own,
// for `make run` and manual testing.
//
//	fakegitlab [-addr 127.0.0.1:8929] [-tls -ca-out ca.pem] [-users dave,erin:secret]
//	           [-group qa=carol:developer,dave:40 ...] [-auto-approve alice]
//
// -group adds a group after the default ones (eng, eng/platform, ops); it
// may be repeated, parents before subgroups. Its value is the full path,
// then optionally "=" and members as username:level, the level a number
// (10 ... 50) or a role name (guest, reporter, developer, maintainer,
// owner).
//
// The root personal access token comes from FAKEGITLAB_ROOT_TOKEN, or is
// random and printed.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/forgelink/forgelink/infra/fakegitlab"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8929", "listen address")
	useTLS := flag.Bool("tls", false, "serve https with a certificate from a generated CA")
	caOut := flag.String("ca-out", "", "with -tls: write the CA certificate (PEM) to this file")
	users := flag.String("users", "", "extra users, comma separated: name or name:password (default password \"password\")")
	autoApprove := flag.String("auto-approve", "", "sign this user in automatically and skip consent (benchmarks only)")
	var groups []fakegitlab.GroupSpec
	flag.Func("group", "extra group, repeatable: full/path[=user:level,...] (level 10-50 or guest ... owner)", func(v string) error {
		g, err := parseGroup(v)
		groups = append(groups, g)
		return err
	})
	flag.Parse()

	opts := fakegitlab.Options{RootToken: os.Getenv("FAKEGITLAB_ROOT_TOKEN"), AutoApprove: *autoApprove, ExtraGroups: groups}
	for _, spec := range strings.Split(*users, ",") {
		if spec = strings.TrimSpace(spec); spec == "" {
			continue
		}
		name, password, _ := strings.Cut(spec, ":")
		opts.ExtraUsers = append(opts.ExtraUsers, fakegitlab.User{Username: name, Password: password})
	}
	if *caOut != "" && !*useTLS {
		log.Fatal("fakegitlab: -ca-out needs -tls")
	}

	srv, err := newServer(opts)
	if err != nil {
		log.Fatalf("fakegitlab: %v", err)
	}
	base, err := srv.Start(*addr, *useTLS)
	if err != nil {
		log.Fatalf("fakegitlab: %v", err)
	}
	if *caOut != "" {
		if err := os.WriteFile(*caOut, srv.CACertPEM(), 0o644); err != nil {
			log.Fatalf("fakegitlab: writing CA: %v", err)
		}
		fmt.Printf("fakegitlab: CA certificate written to %s\n", *caOut)
	}
	fmt.Printf("fakegitlab: listening on %s\n", base)
	if os.Getenv("FAKEGITLAB_ROOT_TOKEN") == "" {
		fmt.Printf("fakegitlab: root token (FAKEGITLAB_ROOT_TOKEN): %s\n", srv.RootToken())
	}
	fmt.Println("fakegitlab: users alice, bob, carol (password \"password\"); root is admin")
	fmt.Println("fakegitlab: groups eng (alice maintainer, bob developer), eng/platform (inherits), ops (alice owner)")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
}

var roles = map[string]int{"guest": fakegitlab.Guest, "reporter": fakegitlab.Reporter,
	"developer": fakegitlab.Developer, "maintainer": fakegitlab.Maintainer, "owner": fakegitlab.Owner}

// parseGroup reads a -group value: "path" or "path=user:level,user:level".
func parseGroup(v string) (fakegitlab.GroupSpec, error) {
	path, list, _ := strings.Cut(v, "=")
	g := fakegitlab.GroupSpec{FullPath: strings.TrimSpace(path), Members: map[string]int{}}
	if g.FullPath == "" {
		return g, fmt.Errorf("no group path in %q", v)
	}
	for _, item := range strings.Split(list, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		user, level, ok := strings.Cut(item, ":")
		n, known := roles[strings.ToLower(level)]
		if !known {
			var err error
			if n, err = strconv.Atoi(level); err != nil {
				ok = false
			}
		}
		if !ok || user == "" {
			return g, fmt.Errorf("member %q: want username:level", item)
		}
		g.Members[user] = n
	}
	return g, nil
}

// newServer turns New's panic over a bad -group (a test bug when it comes
// from Go code) into an error a person at the command line can act on.
func newServer(opts fakegitlab.Options) (srv *fakegitlab.Server, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	return fakegitlab.New(opts), nil
}
