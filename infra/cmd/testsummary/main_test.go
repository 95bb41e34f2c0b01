package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// A package with a build error, and one with a passing, a failing (in a subtest) and a
// skipped-for-a-missing-tool test, as go test -json reports them.
func TestSummarizeFailures(t *testing.T) {
	in, err := os.Open("testdata/failing.json")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out bytes.Buffer
	ok, err := summarize(in, &out)
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		t.Error("summarize reported success for failing tests and a failed build")
	}
	got := out.String()
	for _, want := range []string{
		"bad/bad.go:1:25: undefined: x\n",                                     // build errors are shown
		"--- FAIL: TestC/sub (0.00s)\n    x_test.go:5: boom\n        line2\n", // failure, then its log
		"FAIL\tx\t",                       // go test's package line
		"(2 passed, 2 failed, 1 skipped)", // with the package's counts
		"Suites that did not run (a tool is missing; CI=true fails instead):\n     1× foo not found: x; CI=true makes this fail\n",
		"Failed:\n  x TestC/sub\n  x TestC\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "x_test.go:3: hello") || strings.Contains(got, "more detail") {
		t.Errorf("output shows a passing test's log or a skip's detail lines:\n%s", got)
	}
	if !strings.HasSuffix(got, "\n2 passed, 2 failed, 1 skipped\n") {
		t.Errorf("last line is not the count line:\n%s", got)
	}
}

func TestSummarizeSuccessAndReasons(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"start","Package":"p"}`,
		`{"Action":"run","Package":"p","Test":"TestMoto"}`,
		`{"Action":"output","Package":"p","Test":"TestMoto","Output":"=== RUN   TestMoto\n"}`,
		`{"Action":"output","Package":"p","Test":"TestMoto","Output":"    mototest.go:80: starts moto (-short)\n"}`,
		`{"Action":"output","Package":"p","Test":"TestMoto","Output":"--- SKIP: TestMoto (0.00s)\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestMoto","Elapsed":0}`,
		`{"Action":"run","Package":"p","Test":"TestMoto2"}`,
		`{"Action":"output","Package":"p","Test":"TestMoto2","Output":"    mototest.go:80: starts moto (-short)\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestMoto2","Elapsed":0}`,
		`{"Action":"run","Package":"p","Test":"TestUnit"}`,
		`{"Action":"pass","Package":"p","Test":"TestUnit","Elapsed":0}`,
		`{"Action":"output","Package":"p","Output":"PASS\n"}`,
		`{"Action":"output","Package":"p","Output":"ok  \tp\t0.1s\n"}`,
		`{"Action":"pass","Package":"p","Elapsed":0.1}`,
		`{"Action":"output","Package":"q","Output":"?   \tq\t[no test files]\n"}`,
		`{"Action":"skip","Package":"q","Elapsed":0}`,
	}, "\n")
	var out bytes.Buffer
	ok, err := summarize(strings.NewReader(in), &out)
	if err != nil || !ok {
		t.Fatalf("summarize: ok %v, err %v\n%s", ok, err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"ok  \tp\t0.1s\t(1 passed, 0 failed, 2 skipped)\n",
		"?   \tq\t[no test files]\n",
		"2 packages: 1 ok, 0 failed, 1 without tests\n",
		"Other skips:\n     2× starts moto (-short)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Suites that did not run") || !strings.HasSuffix(got, "\n1 passed, 0 failed, 2 skipped\n") {
		t.Errorf("unexpected summary:\n%s", got)
	}
}

func TestSummarizeNothingIsFailure(t *testing.T) {
	var out bytes.Buffer
	if ok, _ := summarize(strings.NewReader("go: no packages\n"), &out); ok {
		t.Error("no package reported, yet success")
	}
}

// A package that fails because a test failed is not "broken outside its tests"; one that
// panics between tests is, and the test it was running is shown.
func TestSummarizePackageFailures(t *testing.T) {
	testFailed := `{"Action":"run","Package":"p","Test":"TestX"}
{"Action":"output","Package":"p","Test":"TestX","Output":"--- FAIL: TestX (0.00s)\n"}
{"Action":"fail","Package":"p","Test":"TestX","Elapsed":0}
{"Action":"output","Package":"p","Output":"FAIL\tp\t0.1s\n"}
{"Action":"fail","Package":"p","Elapsed":0.1}`
	var out bytes.Buffer
	if ok, _ := summarize(strings.NewReader(testFailed), &out); ok || strings.Contains(out.String(), "outside its tests") {
		t.Errorf("failed test: ok %v\n%s", ok, out.String())
	}
	panicked := `{"Action":"run","Package":"p","Test":"TestY"}
{"Action":"output","Package":"p","Test":"TestY","Output":"    y_test.go:3: working\n"}
{"Action":"output","Package":"p","Output":"panic: test timed out after 1s\n"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t1.0s\n"}
{"Action":"fail","Package":"p","Elapsed":1}`
	out.Reset()
	ok, _ := summarize(strings.NewReader(panicked), &out)
	got := out.String()
	if ok || !strings.Contains(got, "panic: test timed out") || !strings.Contains(got, "--- (did not finish) TestY\n    y_test.go:3: working\n") || !strings.Contains(got, "outside its tests") {
		t.Errorf("panic: ok %v\n%s", ok, got)
	}
}
