// Command fakegitlab runs the fake GitLab of package fakegitlab on its own,
// for `make run` and manual testing.
//
//	fakegitlab [-addr 127.0.0.1:8929] [-tls -ca-out ca.pem] [-users carol,dave:secret] [-auto-approve alice]
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
	flag.Parse()

	opts := fakegitlab.Options{RootToken: os.Getenv("FAKEGITLAB_ROOT_TOKEN"), AutoApprove: *autoApprove}
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

	srv := fakegitlab.New(opts)
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
	fmt.Println("fakegitlab: users alice, bob (password \"password\"); root is admin")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
}
