// Package config reads forgelink's FORGELINK_* settings. The local runner and every Lambda
// function read the same variables (DESIGN.md, "Lambda configuration").
package config

import (
	"fmt"
	"net/url"
	"strings"
)

// Config is forgelink's configuration. Zero values mean "use the default" only where the
// defaults below say so.
type Config struct {
	Addr         string // FORGELINK_ADDR: where the local runner listens
	BaseURL      string // FORGELINK_BASE_URL: public base URL; empty under Lambda = derive from request
	Store        string // FORGELINK_STORE: "memory" or "aws"
	Table        string // FORGELINK_TABLE
	SecretPrefix string // FORGELINK_SECRET_PREFIX
	AllowHosts   string // FORGELINK_ALLOW_HOSTS: comma-separated host:port list
	AllowNets    string // FORGELINK_ALLOW_NETWORKS: comma-separated CIDRs
	// CookieKeySecret names the Secrets Manager secret holding {"key": "..."}; under Lambda
	// it is required. CookieKey (FORGELINK_COOKIE_KEY) gives the key directly, for local runs.
	CookieKeySecret string
	CookieKey       string
	LogLevel        string // FORGELINK_LOG_LEVEL: debug, info (default), warn, error
	// HSTSIncludeSubdomains (FORGELINK_HSTS_INCLUDE_SUBDOMAINS=true) adds includeSubDomains
	// to Strict-Transport-Security. Off by default: it pins every subdomain of the API's
	// host to https for a year, which only the owner of the whole domain can promise.
	HSTSIncludeSubdomains bool
}

// Local-runner defaults from DESIGN.md.
const (
	DefaultAddr         = "127.0.0.1:3000"
	DefaultBaseURL      = "http://127.0.0.1:3000"
	DefaultTable        = "forgelink"
	DefaultSecretPrefix = "forgelink/local/"
)

// FromEnv reads the configuration through getenv (os.Getenv in production, a map in tests).
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Addr:            getenv("FORGELINK_ADDR"),
		BaseURL:         strings.TrimRight(getenv("FORGELINK_BASE_URL"), "/"),
		Store:           or(getenv("FORGELINK_STORE"), "memory"),
		Table:           or(getenv("FORGELINK_TABLE"), DefaultTable),
		SecretPrefix:    or(getenv("FORGELINK_SECRET_PREFIX"), DefaultSecretPrefix),
		AllowHosts:      getenv("FORGELINK_ALLOW_HOSTS"),
		AllowNets:       getenv("FORGELINK_ALLOW_NETWORKS"),
		CookieKeySecret: getenv("FORGELINK_COOKIE_KEY_SECRET"),
		CookieKey:       getenv("FORGELINK_COOKIE_KEY"),
		LogLevel:        or(getenv("FORGELINK_LOG_LEVEL"), "info"),
	}
	switch v := getenv("FORGELINK_HSTS_INCLUDE_SUBDOMAINS"); v {
	case "", "false":
	case "true":
		c.HSTSIncludeSubdomains = true
	default:
		return c, fmt.Errorf("FORGELINK_HSTS_INCLUDE_SUBDOMAINS=%q: want true or false", v)
	}
	return c, c.validate()
}

func (c Config) validate() error {
	if c.Store != "memory" && c.Store != "aws" {
		return fmt.Errorf("FORGELINK_STORE=%q: want memory or aws", c.Store)
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("FORGELINK_BASE_URL=%q: want an absolute http(s) URL without query", c.BaseURL)
		}
	}
	if c.CookieKey != "" && len(c.CookieKey) < 32 {
		return fmt.Errorf("FORGELINK_COOKIE_KEY: want at least 32 characters")
	}
	if strings.ContainsAny(c.SecretPrefix, " \t") {
		return fmt.Errorf("FORGELINK_SECRET_PREFIX=%q: no spaces allowed", c.SecretPrefix)
	}
	return nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
