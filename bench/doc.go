// Package bench measures forgelink side by side with oauth2-proxy, a bare Go handler and a
// hello-world Lambda: login start, full sign-in, AWS calls per sign-in, cold start and a
// bounded load run. Everything lives in test files; nothing here is part of the product.
//
//	go test ./bench -run '^$' -bench . -benchtime=1x   # Go benchmarks (make test: never rot)
//	FORGELINK_BENCH=1 go test ./bench -run '^TestBenchReport$' -count=1 -v   # make bench
//
// TestBenchReport prints a table and writes BENCHMARKS.md at the repository root.
package bench
