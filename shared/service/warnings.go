package service

import "github.com/forgelink/forgelink/shared/forgelink"

// Warning is something about an integration that an admin should fix but that does not
// stop it from working. Code is for programs, Message for people.
type Warning struct{ Code, Message string }

// WarningNotConfidential: the GitLab application is not marked Confidential.
const WarningNotConfidential = "not_confidential"

// NotConfidentialWarning says what a GitLab application that is not Confidential means
// and what to do about it (the pages add links to GitLab).
const NotConfidentialWarning = "The application on GitLab is not marked Confidential, so GitLab does not require its Secret: " +
	"anyone who has the Application ID (it is in every sign-in link) can use the application without the Secret. " +
	"On GitLab, edit the application, tick Confidential and save it; then save this integration here again: every Save checks it."

// Warnings lists what an admin should fix about in, for the JSON API and the pages;
// empty when nothing.
func Warnings(in forgelink.Integration) []Warning {
	out := []Warning{}
	if in.NotConfidential {
		out = append(out, Warning{Code: WarningNotConfidential, Message: NotConfidentialWarning})
	}
	return out
}
