package dynamo

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/forgelink/forgelink/shared/awserr"
	"github.com/forgelink/forgelink/shared/forgelink"
)

var (
	errOrgNotFound         = forgelink.Errorf(forgelink.ENOTFOUND, "org not found")
	errIntegrationNotFound = forgelink.Errorf(forgelink.ENOTFOUND, "integration not found")
	errTokenNotFound       = forgelink.Errorf(forgelink.ENOTFOUND, "admin token not found")
	errSessionNotFound     = forgelink.Errorf(forgelink.ENOTFOUND, "session not found")
	errMemberNotFound      = forgelink.Errorf(forgelink.ENOTFOUND, "member not found")
	errLinkNotFound        = forgelink.Errorf(forgelink.ENOTFOUND, "sign-in link not found, already used or expired")
	errStale               = forgelink.Errorf(forgelink.ECONFLICT, "the integration was changed by someone else; reload and try again")
	errDuplicateURL        = forgelink.Errorf(forgelink.ECONFLICT, "an integration for this GitLab URL already exists in this org")
	errURLImmutable        = forgelink.Invalid(map[string]string{"url": "cannot be changed; delete the integration and add it again"})
	errNotPending          = forgelink.Invalid(map[string]string{"url": "cannot be changed once the integration is no longer pending"})
	errMoveNowhere         = forgelink.Invalid(map[string]string{"url": "must differ from the URL the integration moves from"})
)

// fail turns an SDK error into a *forgelink.Error: EUNAVAILABLE for anything worth
// retrying later (throttling, 5xx, network, deadlines), EINTERNAL for the rest. Callers
// handle the conditional-check failures they expect before calling it.
func fail(err error, action string) error {
	var fe *forgelink.Error
	if errors.As(err, &fe) {
		return err
	}
	return awserr.Fail(fmt.Errorf("dynamodb %s: %w", action, err), unavailable(err),
		"The data store is unavailable right now. Please try again in a moment.")
}

func unavailable(err error) bool {
	for _, r := range cancelReasons(err) {
		if r == "ThrottlingError" || r == "ProvisionedThroughputExceeded" || r == "RequestLimitExceeded" {
			return true
		}
	}
	// A missing table is an operator problem, not the user's: say "unavailable" too.
	return awserr.Transient(err, "ProvisionedThroughputExceededException", "LimitExceededException", "ResourceNotFoundException")
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// cancelReasons returns the per-item cancellation codes of a failed transaction ("None",
// "ConditionalCheckFailed", "TransactionConflict", ...), or nil if err is something else.
func cancelReasons(err error) []string {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil
	}
	codes := make([]string, len(tce.CancellationReasons))
	for i, r := range tce.CancellationReasons {
		if r.Code != nil {
			codes[i] = *r.Code
		}
	}
	if len(codes) == 0 {
		codes = []string{"Unknown"} // some emulators omit reasons; still a cancelled transaction
	}
	return codes
}

// transactionConflict reports whether a cancelled transaction lost a race with another
// one; that is a concurrent edit, so ECONFLICT rather than EUNAVAILABLE.
func transactionConflict(reasons []string) bool {
	for _, r := range reasons {
		if r == "TransactionConflict" {
			return true
		}
	}
	return false
}
