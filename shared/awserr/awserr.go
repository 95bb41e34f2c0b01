// Package awserr classifies AWS SDK errors the same way for every store: what is worth
// retrying later (throttling, 5xx, network trouble, deadlines) becomes EUNAVAILABLE with a
// Retry-After, anything else EINTERNAL. Messages stay safe to show; causes go to the logs.
package awserr

import (
	"context"
	"errors"
	"net"
	"slices"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// RetryAfter is what an unavailable store asks clients to wait, in seconds. The SDK has
// already retried with backoff by the time we give up.
const RetryAfter = 2

// transientCodes are error codes every AWS service uses for "try again later".
var transientCodes = []string{
	"ThrottlingException", "RequestLimitExceeded", "ServiceUnavailable",
	"InternalServerError", "InternalServiceError",
}

// Transient reports whether err is worth retrying later. extra names service-specific
// error codes that count too.
func Transient(err error, extra ...string) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && (slices.Contains(transientCodes, apiErr.ErrorCode()) || slices.Contains(extra, apiErr.ErrorCode())) {
		return true
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}

// Fail wraps cause: EUNAVAILABLE with message when transient says so, EINTERNAL otherwise.
func Fail(cause error, transient bool, message string) error {
	if transient {
		e := forgelink.Wrap(forgelink.EUNAVAILABLE, cause, "%s", message)
		e.RetryAfter = RetryAfter
		return e
	}
	return forgelink.Wrap(forgelink.EINTERNAL, cause, "Something went wrong on our side. Please try again.")
}
