package bankid

import (
	"fmt"
	"net/mail"
	"strings"
)

const emailIdentifier = "PayPal e-mail"

// E-mail limits. Source: RFC 5321 §4.5.3.1 (local part at most 64 octets) and
// RFC 5321 path limit of 256 octets including the angle brackets, which
// leaves 254 for the address (RFC 3696 erratum 1690).
const (
	EmailMaxLength      = 254
	EmailLocalMaxLength = 64
)

// ValidatePayPalEmail is a practical syntax check of the e-mail address a
// PayPal payout is sent to: a bare address (no display name, no angle
// brackets, no surrounding spaces) that net/mail parses, at most 254
// characters, a local part of at most 64, and a domain with at least one dot
// whose labels are non-empty letters, digits and hyphens (no IP literals,
// which PayPal does not accept). It cannot tell whether the mailbox exists.
//
// Errors are *fielderr.Error wrapping ErrEmpty, ErrLength or ErrCharacter.
func ValidatePayPalEmail(email string) error {
	if email == "" {
		return invalid(emailIdentifier, ErrEmpty, "missing")
	}
	if len(email) > EmailMaxLength {
		return invalid(emailIdentifier, ErrLength,
			fmt.Sprintf("at most %d characters, got %d", EmailMaxLength, len(email)))
	}
	if strings.TrimSpace(email) != email {
		return invalid(emailIdentifier, ErrCharacter, "has leading or trailing spaces")
	}
	address, err := mail.ParseAddress(email)
	if err != nil {
		return invalid(emailIdentifier, ErrCharacter, fmt.Sprintf("not an e-mail address (%v)", err))
	}
	if address.Name != "" || address.Address != email {
		return invalid(emailIdentifier, ErrCharacter, "give the bare address, like name@example.com, without a display name or angle brackets")
	}
	at := strings.LastIndexByte(email, '@')
	local, domain := email[:at], email[at+1:]
	if len(local) > EmailLocalMaxLength {
		return invalid(emailIdentifier, ErrLength,
			fmt.Sprintf("the part before @ has at most %d characters, got %d", EmailLocalMaxLength, len(local)))
	}
	if !strings.Contains(domain, ".") {
		return invalid(emailIdentifier, ErrCharacter, fmt.Sprintf("domain %q has no dot", domain))
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" {
			return invalid(emailIdentifier, ErrCharacter, fmt.Sprintf("domain %q has an empty label", domain))
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return invalid(emailIdentifier, ErrCharacter, fmt.Sprintf("domain label %q starts or ends with a hyphen", label))
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z') && !(r >= 'A' && r <= 'Z') && !(r >= '0' && r <= '9') && r != '-' {
				return invalid(emailIdentifier, ErrCharacter,
					fmt.Sprintf("domain %q contains %q; only letters, digits, hyphens and dots are allowed", domain, r))
			}
		}
	}
	if tld := domain[strings.LastIndexByte(domain, '.')+1:]; strings.Trim(tld, "0123456789") == "" {
		return invalid(emailIdentifier, ErrCharacter, fmt.Sprintf("domain %q ends in a numeric label", domain))
	}
	return nil
}
