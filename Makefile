# forgelink — build, run and test. `make run` and `make test` are all a fresh machine needs
# (besides .ci/run's installs); `sam build` calls the build-<LogicalId> targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
FUNCTIONS := integrations login callback session
# Where tests keep the binaries they build (Lambda RIE, oauth2-proxy): $(FORGELINK_CACHE)/bin.
FORGELINK_CACHE ?= $(HOME)/.cache/forgelink
export FORGELINK_CACHE

# Pinned test-only tools, built from source with `go install` outside our go.mod.
RIE_MODULE          := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
OAUTH2_PROXY_MODULE := github.com/oauth2-proxy/oauth2-proxy/v7@v7.15.6

TEST_TIMEOUT ?= 8m
FUZZTIME     ?= 60s
# An execution count, not a duration: with a duration Go 1.26's fuzz coordinator can
# report "context deadline exceeded" at the boundary on a loaded machine although nothing
# failed (golang/go#75804, fixed in Go 1.27); a count has no deadline to race.
SHORT_FUZZTIME ?= 4000x
LAMBDA_GOFLAGS := -tags lambda.norpc -trimpath -ldflags="-s -w"

.PHONY: help build run test test-short unit vet fmt-check cfn-lint staticcheck lint fuzz fuzz-short bench bench-smoke tools clean deploy \
	build-IntegrationsFunction build-LoginFunction build-CallbackFunction build-SessionFunction

help:
	@echo "make run         the app on :3000 and the fake GitLab on :8929 (in-memory store)"
	@echo "make test        vet, gofmt, benchmarks once, short fuzzing, then every test with -race"
	@echo "                 (cfn-lint, moto, RIE, Chromium included) and a summary of what ran and skipped"
	@echo "make test-short  the fast unit layer only (go test -short), with the same summary"
	@echo "make build       build/<function>/bootstrap for the host architecture (linux)"
	@echo "make lint        cfn-lint template.yaml, go vet, gofmt, staticcheck (when installed)"
	@echo "make fuzz        each fuzz target for FUZZTIME ($(FUZZTIME))"
	@echo "make bench       benchmarks"
	@echo "make tools       build the Lambda RIE and oauth2-proxy into $(FORGELINK_CACHE)/bin"
	@echo "make deploy      sam build && sam deploy (CONFIG_ENV=prod, REGION=...; docs/deploy.md)"
	@echo "sam build        calls build-<LogicalId> (linux/$(LAMBDA_ARCH) bootstrap per function, from template.yaml)"

# --- SAM (BuildMethod: makefile): sam build runs these with ARTIFACTS_DIR set. ---------------
# Each function is built for the architecture template.yaml declares in Globals.Function
# (Architectures: [arm64] or [x86_64]), read from the template on every run: change the
# template and the build follows. LAMBDA_TEMPLATE is the template beside this Makefile
# (sam build may run make from a scratch copy; the copy has the template too).
ifndef LAMBDA_TEMPLATE
LAMBDA_TEMPLATE := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))template.yaml
endif
LAMBDA_ARCH := $(shell awk '/^[ \t]*Architectures:/ { sub(/^[^:]*:/, ""); sub(/\#.*/, ""); gsub(/[][ \t]/, ""); \
	if ($$0 == "") { getline; sub(/\#.*/, ""); gsub(/[- \t]/, "") } print; exit }' '$(LAMBDA_TEMPLATE)' 2>/dev/null)
LAMBDA_GOARCH := $(patsubst x86_64,amd64,$(LAMBDA_ARCH))

# $(call lambda_build,<folder under functions/>)
define lambda_build
	@case '$(LAMBDA_ARCH)' in arm64|x86_64) ;; *) echo "$(LAMBDA_TEMPLATE): Globals.Function Architectures must be [arm64] or [x86_64], found '$(LAMBDA_ARCH)'" >&2; exit 1;; esac
	GOOS=linux GOARCH=$(LAMBDA_GOARCH) CGO_ENABLED=0 $(GO) build $(LAMBDA_GOFLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(1)
endef

build-IntegrationsFunction:
	$(call lambda_build,integrations)

build-LoginFunction:
	$(call lambda_build,login)

build-CallbackFunction:
	$(call lambda_build,callback)

build-SessionFunction:
	$(call lambda_build,session)

# sam build, then sam deploy with samconfig.toml's settings: no questions asked
# (docs/deploy.md). Never run by make test or CI. CONFIG_ENV picks a samconfig.toml
# environment (default, prod), REGION the AWS region (else the AWS CLI's), DEPLOY_FLAGS adds
# sam deploy flags, e.g. DEPLOY_FLAGS='--parameter-overrides BaseURL=https://id.example.com'.
CONFIG_ENV ?= default
deploy:
	@command -v sam >/dev/null 2>&1 || { echo "make deploy needs the AWS SAM CLI (docs/deploy.md, Prerequisites)" >&2; exit 1; }
	sam build --config-env $(CONFIG_ENV)
	sam deploy --config-env $(CONFIG_ENV) $(if $(REGION),--region $(REGION)) $(DEPLOY_FLAGS)

# The four bootstraps for this machine's architecture (what the RIE tests run).
build:
	@rm -rf build/.out && mkdir -p build/.out
	GOOS=linux CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags="-s -w" -o build/.out/ $(addprefix ./functions/,$(FUNCTIONS))
	@for f in $(FUNCTIONS); do mkdir -p build/$$f && mv build/.out/$$f build/$$f/bootstrap && echo "build/$$f/bootstrap"; done
	@rmdir build/.out

run:
	$(GO) run ./infra/cmd/forgelink-local

# --- Tests ---------------------------------------------------------------------------------
# The Go tests run last, so their summary closes the output. cfn-lint runs as one of them
# (infra/tests/sam TestCfnLint), like moto, the RIE and Chromium: a missing tool is a
# "SKIP-SUITE:" line in the summary, and a failure under CI=true.
test: vet fmt-check bench-smoke fuzz-short unit

# go test -json through infra/cmd/testsummary: go test's usual output without -v, then the
# packages that ran, the counts, each skip reason, and "N passed, N failed, N skipped".
TESTSUMMARY = $(GO) run ./infra/cmd/testsummary

unit:
	$(GO) test -json -race -count=1 -timeout $(TEST_TIMEOUT) ./... 2>&1 | $(TESTSUMMARY)

# The unit layer: every test that starts moto, the RIE, Chromium or oauth2-proxy, or takes
# seconds, skips under -short.
test-short:
	$(GO) test -json -short ./... 2>&1 | $(TESTSUMMARY)

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# cfn-lint runs the SAM translator too; fall back to the Python module when the script is
# not on PATH. Missing altogether: say how to install it, and fail under CI=true.
cfn-lint:
	@if command -v cfn-lint >/dev/null 2>&1; then cfn-lint template.yaml; \
	elif python3 -c 'import cfnlint.runner' >/dev/null 2>&1; then \
		python3 -c 'import sys; from cfnlint.runner import main; sys.argv[0] = "cfn-lint"; sys.exit(main())' template.yaml; \
	elif [ "$${CI:-}" = true ]; then echo "cfn-lint not found: pip install cfn-lint (CI=true: a missing tool fails)" >&2; exit 1; \
	else echo "SKIP-SUITE: cfn-lint not found: pip install cfn-lint; CI=true makes this fail"; fi

# staticcheck when installed (go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION),
# outside this module); a note otherwise.
STATICCHECK_VERSION := v0.8.2
staticcheck:
	@sc="$$(command -v staticcheck || echo "$$($(GO) env GOPATH)/bin/staticcheck")"; \
	if [ -x "$$sc" ]; then echo "staticcheck ./..."; "$$sc" ./...; \
	else echo "staticcheck not found: (cd /tmp && GOFLAGS=-mod=mod go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION))"; fi

lint: cfn-lint vet fmt-check staticcheck

# Each Fuzz target alone (go test -fuzz takes one target per run). `go test -list` prints a
# package's targets and then "ok  <package>", so the names are collected until that line.
define run_fuzz
	@$(GO) test -list '^Fuzz' ./... | awk '/^Fuzz/ { names = names " " $$1; next } \
		/^ok[ \t]/ { if (names != "") print $$2 names; names = "" }' | \
	while read -r pkg targets; do \
		for t in $$targets; do \
			echo "fuzz $$pkg $$t ($(1))"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(1) "$$pkg" || exit 1; \
		done; \
	done
endef

fuzz-short:
	$(call run_fuzz,$(SHORT_FUZZTIME))

fuzz:
	$(call run_fuzz,$(FUZZTIME))

# Side by side with oauth2-proxy, a bare handler and a hello-world Lambda, on loopback;
# prints the table and writes BENCHMARKS.md (bounded: 5 minutes).
bench:
	FORGELINK_BENCH=1 $(GO) test ./bench -run '^(TestBenchReport)$$' -count=1 -v -timeout 5m

# Every Go benchmark once, so none of them rots (part of make test).
bench-smoke:
	$(GO) test -run '^$$' -bench . -benchtime=1x ./...

# --- Test-only tools, outside go.mod -------------------------------------------------------
tools:
	@mkdir -p $(FORGELINK_CACHE)/bin
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; cd "$$tmp"; \
	for m in $(RIE_MODULE) $(OAUTH2_PROXY_MODULE); do \
		echo "go install $$m"; \
		GOFLAGS=-mod=mod GOWORK=off GOBIN=$(FORGELINK_CACHE)/bin $(GO) install $$m; \
	done

clean:
	rm -rf build .aws-sam test-output
