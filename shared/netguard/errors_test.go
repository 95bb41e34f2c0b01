package netguard

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestClassify: every transport failure falls into one coarse, person-facing kind, and
// the detailed cause stays reachable for the logs.
func TestClassify(t *testing.T) {
	refused := &RefusedError{Addr: netip.MustParseAddr("10.1.2.3"), Reason: "private network"}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"refused", &net.OpError{Op: "dial", Err: refused}, ErrRefused},
		{"dns", &net.DNSError{Err: "no such host", Name: "x.internal", IsNotFound: true}, ErrUnreachable},
		{"conn refused", &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 22}, Err: syscall.ECONNREFUSED}, ErrUnreachable},
		{"reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, ErrUnreachable},
		{"deadline", context.DeadlineExceeded, ErrUnreachable},
		{"canceled", context.Canceled, ErrUnreachable},
		{"unknown authority", x509.UnknownAuthorityError{}, ErrCertificate},
		{"hostname", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "10.1.2.3"}, ErrCertificate},
		{"verification", &tls.CertificateVerificationError{Err: errors.New("x")}, ErrCertificate},
		{"not tls", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, ErrNotGitLab},
		{"scheme mismatch", fmt.Errorf("x: %w", http.ErrSchemeMismatch), ErrNotGitLab},
		{"other", errors.New("something"), ErrUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Classify(tt.err)
			if !errors.Is(got, tt.want) || KindOf(got) != tt.want || KindOf(tt.err) != tt.want {
				t.Fatalf("Classify(%v) = %v (kind %v), want kind %v", tt.err, got, KindOf(got), tt.want)
			}
			if !errors.Is(got, tt.err) { // the detailed cause stays in the chain for the logs
				t.Errorf("Classify(%v) lost the cause", tt.err)
			}
			if again := Classify(got); again != got {
				t.Errorf("Classify is not idempotent: %v → %v", got, again)
			}
		})
	}
	if Classify(nil) != nil || KindOf(nil) != nil {
		t.Error("Classify(nil) is not nil")
	}
	// The kinds are the person-facing words: no address, no port, no errno.
	for _, k := range []error{ErrRefused, ErrUnreachable, ErrCertificate, ErrNotGitLab} {
		if strings.ContainsAny(k.Error(), "0123456789:") {
			t.Errorf("kind %q carries detail", k)
		}
	}
	if ErrRefusedAddress != ErrRefused {
		t.Error("ErrRefusedAddress is not ErrRefused")
	}
}

// TestClientDialErrorsClassify: what the guarded client returns classifies as coarse
// kinds while errors.As still reaches the detailed cause.
func TestClientDialErrorsClassify(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	c, err := Policy{}.Client("", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(srv.URL)
	got := Classify(err)
	var re *RefusedError
	if KindOf(got) != ErrRefused || !errors.As(got, &re) || re.Reason != "loopback" {
		t.Fatalf("Classify(%v) = %v", err, got)
	}

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	c, _ = Policy{AllowHosts: []string{addr}}.Client("", 2*time.Second)
	_, err = c.Get("http://" + addr)
	if got := Classify(err); KindOf(got) != ErrUnreachable || !errors.Is(got, syscall.ECONNREFUSED) {
		t.Fatalf("closed port: Classify(%v) = %v", err, got)
	}
}
