package netguard

// ValidateCABundle lets a Policy stand for everything the service validates about a
// GitLab server (service.URLPolicy), so the service needs no import of this package.
func (p Policy) ValidateCABundle(pem string) error { return ValidateCABundle(pem) }
