package netguard

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
)

// Person-facing kinds of a failed outbound call. They are deliberately coarse: an admin
// can point an integration at any host:port the guard allows, so telling "connection
// refused" from "no answer in time" or "host not found", or echoing a resolved address,
// would turn the credential check into a network scanner. Each kind's text is fit to show
// to a person; the detailed cause stays in the error chain for the logs.
var (
	// ErrRefused: the guard refused the destination (loopback, private, metadata, …).
	// Matched by every *RefusedError.
	ErrRefused = errors.New("this address is not allowed")
	// ErrUnreachable: nothing usable answered — unknown name, closed or filtered port,
	// timeout, reset, or any other network failure.
	ErrUnreachable = errors.New("no server answered")
	// ErrCertificate: a TLS server answered with a certificate we do not trust for that
	// name (a private CA needs the integration's CA bundle).
	ErrCertificate = errors.New("the server's TLS certificate is not trusted")
	// ErrNotGitLab: something answered, but not as a GitLab server would (plain HTTP on
	// an https URL, an HTML page, a foreign API).
	ErrNotGitLab = errors.New("the server does not look like GitLab")
)

// ErrRefusedAddress is ErrRefused, under the name the other kinds suggest.
var ErrRefusedAddress = ErrRefused

// OutboundError is a classified outbound failure: Kind is one of the person-facing kinds
// above, Err the detailed cause (addresses, errno, TLS detail) for the logs. errors.Is
// matches Kind and everything in Err's chain; errors.As reaches into Err.
type OutboundError struct {
	Kind error
	Err  error
}

func (e *OutboundError) Error() string { return e.Kind.Error() + ": " + e.Err.Error() }

// Unwrap returns both the kind and the cause, so errors.Is(err, ErrUnreachable) and
// errors.As(err, &netErr) both work.
func (e *OutboundError) Unwrap() []error { return []error{e.Kind, e.Err} }

// Classify wraps a failure of the guarded client (from Do, or while reading a body) in an
// *OutboundError of the right kind. It returns nil for nil and err itself when it already
// carries a kind.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var oe *OutboundError
	if errors.As(err, &oe) {
		return err
	}
	return &OutboundError{Kind: kindOf(err), Err: err}
}

// KindOf returns the person-facing kind of err: the Kind of an *OutboundError in its
// chain, otherwise what Classify would pick; nil for nil.
func KindOf(err error) error {
	if err == nil {
		return nil
	}
	var oe *OutboundError
	if errors.As(err, &oe) {
		return oe.Kind
	}
	return kindOf(err)
}

// kindOf picks the kind of an unclassified error. Anything not recognised is
// ErrUnreachable: the safe, uninformative answer.
func kindOf(err error) error {
	var (
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
		host    x509.HostnameError
		verify  *tls.CertificateVerificationError
		record  tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, ErrRefused):
		return ErrRefused
	case errors.As(err, &unknown), errors.As(err, &invalid), errors.As(err, &host), errors.As(err, &verify):
		return ErrCertificate
	case errors.As(err, &record), errors.Is(err, http.ErrSchemeMismatch):
		return ErrNotGitLab
	}
	// DNS failures, refused or reset connections, timeouts (context.DeadlineExceeded,
	// Client.Timeout), EOF: all the same to a person.
	return ErrUnreachable
}
