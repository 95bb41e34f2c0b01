// Command testsummary reads `go test -json` on stdin and prints what `go test` prints
// without -v — one ok/FAIL line per package, the output of every failed test, build
// errors — and then a summary: the packages that ran, the tests (and subtests) that
// passed, failed and were skipped, and each distinct skip reason with its count, so a
// suite skipped for a missing tool cannot go unnoticed. The last line is exactly
//
//	N passed, N failed, N skipped
//
// for CI to read. It exits 1 when a test or a build failed (or no package reported), so
//
//	go test -json ./... | go run ./infra/cmd/testsummary
//
// tells the truth in one exit status. Skip messages that start with "SKIP-SUITE: " (a tool
// is missing; see infra/testkit/tier) are listed apart from the others.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

func main() {
	ok, err := summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// event is one line of go test -json (cmd/test2json), build events included.
type event struct {
	Action      string
	Package     string
	ImportPath  string // build-output, build-fail
	Test        string
	Output      string
	Elapsed     float64
	FailedBuild string
}

// pkg is what one package reported.
type pkg struct {
	name                    string
	line                    string // go test's own closing line: "ok  \tpkg\t1.2s"
	passed, failed, skipped int
	failedPkg               bool
	output                  []string            // package-level output (TestMain, panics)
	tests                   map[string][]string // output by test, until it ends
}

type summary struct {
	out      io.Writer
	pkgs     map[string]*pkg
	order    []string
	builds   map[string][]string // build output by import path
	failures []string            // "pkg TestX"
	reasons  map[string]int      // skip reason → count
	suite    map[string]bool     // reasons that are SKIP-SUITE
	passed   int
	failed   int
	skipped  int
	broken   bool // a package failed to build or failed outside any test
}

const suitePrefix = "SKIP-SUITE: "

func summarize(in io.Reader, out io.Writer) (bool, error) {
	s := &summary{out: out, pkgs: map[string]*pkg{}, builds: map[string][]string{}, reasons: map[string]int{}, suite: map[string]bool{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		var e event
		if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil {
			fmt.Fprintln(out, line) // go's own messages (stderr merged in), kept as they are
			continue
		}
		s.add(e)
	}
	if err := sc.Err(); err != nil {
		return false, err
	}
	s.report()
	return s.failed == 0 && !s.broken && len(s.pkgs) > 0, nil
}

func (s *summary) pkg(name string) *pkg {
	p := s.pkgs[name]
	if p == nil {
		p = &pkg{name: name, tests: map[string][]string{}}
		s.pkgs[name] = p
		s.order = append(s.order, name)
	}
	return p
}

func (s *summary) add(e event) {
	switch e.Action {
	case "build-output":
		s.builds[e.ImportPath] = append(s.builds[e.ImportPath], e.Output)
		return
	case "build-fail":
		s.broken = true
		fmt.Fprint(s.out, strings.Join(s.builds[e.ImportPath], ""))
		return
	}
	if e.Package == "" {
		return
	}
	p := s.pkg(e.Package)
	if e.Test == "" {
		s.addPackage(p, e)
		return
	}
	switch e.Action {
	case "output":
		if !strings.HasPrefix(e.Output, "=== ") { // RUN, PAUSE, CONT, NAME: -v noise
			p.tests[e.Test] = append(p.tests[e.Test], e.Output)
		}
	case "pass":
		p.passed++
		s.passed++
		delete(p.tests, e.Test)
	case "skip":
		p.skipped++
		s.skipped++
		s.addReason(skipReason(p.tests[e.Test]))
		delete(p.tests, e.Test)
	case "fail":
		p.failed++
		s.failed++
		s.failures = append(s.failures, e.Package+" "+e.Test)
		// As go test does: the --- FAIL line, then what the test logged.
		var head, body []string
		for _, l := range p.tests[e.Test] {
			if strings.HasPrefix(strings.TrimLeft(l, " "), "--- FAIL") {
				head = append(head, l)
			} else {
				body = append(body, l)
			}
		}
		fmt.Fprint(s.out, strings.Join(append(head, body...), ""))
		delete(p.tests, e.Test)
	}
}

var closingLine = regexp.MustCompile(`^(ok  |FAIL|\?   )\t`)

func (s *summary) addPackage(p *pkg, e event) {
	switch e.Action {
	case "output":
		if closingLine.MatchString(e.Output) {
			p.line = strings.TrimRight(e.Output, "\n")
		} else if e.Output != "FAIL\n" && e.Output != "PASS\n" {
			p.output = append(p.output, e.Output)
		}
	case "fail":
		p.failedPkg = true
		if e.FailedBuild == "" {
			// A package that fails without a failed test broke outside them.
			s.broken = s.broken || p.failed == 0
			// Output outside any test (a panic, a timeout, TestMain), and the tests
			// still running when the package died.
			fmt.Fprint(s.out, strings.Join(p.output, ""))
			for _, name := range sortedKeys(p.tests) {
				if running := p.tests[name]; len(running) > 0 {
					fmt.Fprintf(s.out, "--- (did not finish) %s\n%s", name, strings.Join(running, ""))
				}
			}
		}
		s.printLine(p)
	case "pass", "skip":
		s.printLine(p)
	}
}

func (s *summary) printLine(p *pkg) {
	line := p.line
	if line == "" {
		line = "FAIL\t" + p.name
	}
	if n := p.passed + p.failed + p.skipped; n > 0 {
		line += fmt.Sprintf("\t(%d passed, %d failed, %d skipped)", p.passed, p.failed, p.skipped)
	}
	fmt.Fprintln(s.out, line)
}

// skipReason is the message of t.Skip in a skipped test's output: the first line of the
// last logged message ("    file_test.go:12: message").
var logLine = regexp.MustCompile(`^ {4}[^ ].*?\.go:\d+: (.*)$`)

func skipReason(output []string) string {
	reason := ""
	for _, l := range output {
		if m := logLine.FindStringSubmatch(strings.TrimRight(l, "\n")); m != nil {
			reason = m[1]
		}
	}
	if reason == "" {
		return "(no reason given)"
	}
	return reason
}

func (s *summary) addReason(r string) {
	s.reasons[r]++
	if strings.HasPrefix(r, suitePrefix) {
		s.suite[r] = true
	}
}

func (s *summary) report() {
	var ok, failed, empty int
	for _, name := range s.order {
		p := s.pkgs[name]
		switch {
		case p.failedPkg || p.failed > 0:
			failed++
		case p.passed+p.skipped == 0:
			empty++
		default:
			ok++
		}
	}
	w := s.out
	fmt.Fprintf(w, "\n=== Summary\n%d packages: %d ok, %d failed, %d without tests\n", len(s.pkgs), ok, failed, empty)
	fmt.Fprintf(w, "tests and subtests: %d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
	if len(s.suite) > 0 {
		fmt.Fprintln(w, "\nSuites that did not run (a tool is missing; CI=true fails instead):")
		s.printReasons(func(r string) bool { return s.suite[r] })
	}
	if len(s.reasons) > len(s.suite) {
		fmt.Fprintln(w, "\nOther skips:")
		s.printReasons(func(r string) bool { return !s.suite[r] })
	}
	if len(s.failures) > 0 {
		fmt.Fprintln(w, "\nFailed:")
		for _, f := range s.failures {
			fmt.Fprintln(w, "  "+f)
		}
	}
	if s.broken {
		fmt.Fprintln(w, "\nA package failed outside its tests (build error, panic or timeout): see above.")
	}
	fmt.Fprintf(w, "\n%d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
}

func (s *summary) printReasons(keep func(string) bool) {
	var rs []string
	for r := range s.reasons {
		if keep(r) {
			rs = append(rs, r)
		}
	}
	sort.Slice(rs, func(i, j int) bool {
		if s.reasons[rs[i]] != s.reasons[rs[j]] {
			return s.reasons[rs[i]] > s.reasons[rs[j]]
		}
		return rs[i] < rs[j]
	})
	for _, r := range rs {
		fmt.Fprintf(s.out, "  %4d× %s\n", s.reasons[r], strings.TrimPrefix(r, suitePrefix))
	}
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
