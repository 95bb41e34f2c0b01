package netguard

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

func newServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func TestClientRefusesLoopbackAtDialTime(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	c, err := Policy{}.Client("", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(srv.URL)
	if err == nil || !errors.Is(err, ErrRefused) || !IsRefused(err) {
		t.Fatalf("GET %s with the strict policy: err = %v, want a refusal", srv.URL, err)
	}
	if !strings.Contains(err.Error(), "loopback") {
		t.Errorf("error %q does not say loopback", err)
	}
}

func TestClientRefusesNameResolvingToLoopback(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	// First answer public, then loopback: whatever the resolver says at dial time is checked.
	var calls atomic.Int32
	p := Policy{Resolver: rebinding{&calls}}
	c, err := p.Client("", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get("http://rebind.test:" + port + "/")
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if calls.Load() == 0 {
		t.Error("resolver was not consulted at dial time")
	}
}

type rebinding struct{ calls *atomic.Int32 }

func (r rebinding) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	r.calls.Add(1)
	return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}, nil
}

func TestClientAllowListedHost(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	hosts, err := ParseAllowHosts(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Policy{AllowHosts: hosts}.Client("", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET allow-listed %s: %v", srv.URL, err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "hello" {
		t.Errorf("body = %q", b)
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	var hits atomic.Int32
	target := newServer(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/secret", http.StatusFound)
	})
	// Both servers are on 127.0.0.1; only the redirecting one is allow-listed.
	c, err := Policy{AllowHosts: []string{strings.TrimPrefix(srv.URL, "http://")}}.Client("", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("status = %d, want the 302 itself", resp.StatusCode)
	}
	if hits.Load() != 0 {
		t.Error("the redirect was followed")
	}
}

func TestClientTimeout(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	c, err := Policy{AllowHosts: []string{strings.TrimPrefix(srv.URL, "http://")}}.Client("", 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.Get(srv.URL); err == nil {
		t.Fatal("slow server: no error")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout took %v", d)
	}
}

func TestClientTLSWithCABundle(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "tls") }))
	t.Cleanup(srv.Close)
	p := Policy{AllowHosts: []string{strings.TrimPrefix(srv.URL, "https://")}}
	bundle := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))

	without, err := p.Client("", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := without.Get(srv.URL); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without CA bundle: err = %v, want a certificate error", err)
	}
	with, err := p.Client(bundle, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := with.Get(srv.URL)
	if err != nil {
		t.Fatalf("with CA bundle: %v", err)
	}
	resp.Body.Close()
	again, _ := p.Client(bundle, 5*time.Second)
	if again != with {
		t.Error("client for the same CA bundle was not cached")
	}
}

func TestValidateCABundle(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	srv.Close()
	cert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	key := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}))
	junk := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("nope")}))
	tests := []struct {
		name, in, msg string
	}{
		{"empty", "", ""},
		{"blank", " \n", ""},
		{"one", cert, ""},
		{"two", cert + "\n" + cert, ""},
		{"not pem", "hello", "must be PEM"},
		{"text after", cert + "trailing text", "not a PEM certificate"},
		{"text before", "header\n" + cert, "must be PEM"},
		{"private key", cert + key, "only CERTIFICATE"},
		{"bad cert", junk, "cannot be parsed"},
		{"broken", "-----BEGIN CERTIFICATE-----\nabc", "broken"},
		{"too big", strings.Repeat(cert, 64<<10/len(cert)+1), "64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateCABundle(tt.in)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("ValidateCABundle: %v", err)
				}
				return
			}
			if forgelink.ErrorCode(err) != forgelink.EINVALID || !strings.Contains(forgelink.ErrorFields(err)["ca_bundle"], tt.msg) {
				t.Fatalf("ValidateCABundle = %v (fields %v), want ca_bundle containing %q", err, forgelink.ErrorFields(err), tt.msg)
			}
		})
	}
	if _, err := (Policy{}).Client("garbage", time.Second); forgelink.ErrorCode(err) != forgelink.EINVALID {
		t.Errorf("Client with a bad bundle: %v", err)
	}
}

func TestControlChecksDialedAddress(t *testing.T) {
	p := Policy{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for addr, ok := range map[string]bool{
		"127.0.0.1:80": false, "[::1]:443": false, "169.254.169.254:80": false,
		"[::ffff:127.0.0.1]:80": false, "10.0.0.1:443": true, "93.184.215.14:443": true, "nonsense": false,
	} {
		if err := p.control("tcp", addr, nil); (err == nil) != ok {
			t.Errorf("control(%s) = %v, want allowed=%v", addr, err, ok)
		}
	}
}
