package forgelink

import (
	"errors"
	"fmt"
)

// Error codes. The HTTP layer maps each to exactly one status code (shared/web/errors.go);
// nothing else picks status codes.
const (
	EINVALID      = "invalid"       // 422: validation failed, see Fields
	EMALFORMED    = "malformed"     // 400: body could not be parsed
	EUNAUTHORIZED = "unauthorized"  // 401: no or bad credentials
	EFORBIDDEN    = "forbidden"     // 403: authenticated but not allowed (other org, CSRF)
	ENOTFOUND     = "not_found"     // 404
	ECONFLICT     = "conflict"      // 409: duplicate or concurrent edit
	ETOOLARGE     = "too_large"     // 413
	EUNSUPPORTED  = "unsupported"   // 415: wrong content type
	ERATELIMITED  = "rate_limited"  // 429
	EUPSTREAM     = "upstream"      // 502: GitLab unreachable or answered wrongly
	EUNAVAILABLE  = "unavailable"   // 503: DynamoDB / Secrets Manager unavailable
	EINTERNAL     = "internal"      // 500: a bug; message never shown to users
	EEXPIRED      = "expired"       // 400: a one-time item (state, sign-in link) is expired or used
	EPENDING      = "pending"       // 409: integration exists but is not active
	EDENIED       = "access_denied" // 403: user cancelled at GitLab or is refused
	EMETHOD       = "method_not_allowed"
)

// Error is the application's error. Message is safe to show to a user; it never carries
// secrets or internals. Fields holds per-field validation messages.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
	// RetryAfter, in seconds, for EUNAVAILABLE / ERATELIMITED.
	RetryAfter int
	// Err is the wrapped cause, logged but never shown.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a user-facing message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error that carries a cause for the logs and a safe message for users.
func Wrap(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// Invalid returns an EINVALID error with field messages.
func Invalid(fields map[string]string) *Error {
	return &Error{Code: EINVALID, Message: "Please correct the highlighted fields.", Fields: fields}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL otherwise.
// errors.AsType, not errors.As: As's target pointer escapes, which cost an allocation on
// every call, nil errors included, and the hot paths ask this of every result.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	} else if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err; internals are never exposed.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	} else if e, ok := errors.AsType[*Error](err); ok {
		return e.Message
	}
	return "Something went wrong on our side. Please try again."
}

// ErrorFields returns the field messages of err, if any.
func ErrorFields(err error) map[string]string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Fields
	}
	return nil
}
