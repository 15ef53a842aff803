package accounts

import (
	netmail "net/mail"
	"regexp"
	"strings"

	"github.com/payrun/payrun/internal/country"
	"github.com/payrun/payrun/internal/textcheck"
)

// Limits on input (SPEC §11: a limit on everything).
const (
	// MaxNameLength bounds person and display names (RFC 5321 has no rule;
	// 200 is the ledger's display-name limit).
	MaxNameLength = 200
	// MaxEmailLength is RFC 5321's path limit (256 including the angle
	// brackets) less the brackets.
	MaxEmailLength = 254
	// MaxURLLength is SPEC §7.7's limit on reply URLs and app-ID URIs.
	MaxURLLength = 256
	// MaxInvitationAddresses is SPEC §7.5's limit per invitation request.
	MaxInvitationAddresses = 10
	// MaxUsersPerRequest bounds "add existing users" (one page of a
	// directory picker).
	MaxUsersPerRequest = 100
	// MaxRolesPerMember bounds role lists (there are six roles and a few
	// custom sets in practice).
	MaxRolesPerMember = 20
	// MinPasswordLength and MaxPasswordLength: NIST SP 800-63B asks for at
	// least 8 and allowing at least 64; payrun guards money, so 12.
	MinPasswordLength = 12
	MaxPasswordLength = 128
)

var (
	e164Pattern         = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	userNamePattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	domainLabel         = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	permissionSetName   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	operatorNamePattern = regexp.MustCompile(`^[a-z][a-z0-9._-]{0,63}$`)
	agreementName       = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)
)

// DomainSuffix is the suffix of every directory tenant's domain.
const DomainSuffix = ".onmicrosoft.com"

// Text rules (SPEC §11), the same as the admin API's screening: lengths are
// counted in characters (runes), as OpenAPI's maxLength counts them, and no
// text may hold a control character or invalid UTF-8 (internal/textcheck:
// C0 including tab and line breaks, DEL, C1 including U+0085, U+2028,
// U+2029). Passwords too: a control character in a password is a paste
// gone wrong, and Postgres refuses NUL in the names that travel with them.

// length is the length of a text in characters.
func length(value string) int { return textcheck.Length(value) }

// validateText refuses control characters and invalid UTF-8.
func validateText(field, value string) error {
	if problem := textcheck.Problem(value); problem != "" {
		return invalid(field, "%s", problem)
	}
	return nil
}

// validateEmail checks an address is a bare addr-spec with a dotted domain.
func validateEmail(field, value string) error {
	if value == "" {
		return invalid(field, "required")
	}
	if length(value) > MaxEmailLength {
		return invalid(field, "longer than %d characters", MaxEmailLength)
	}
	if err := validateText(field, value); err != nil {
		return err
	}
	parsed, err := netmail.ParseAddress(value)
	if err != nil || parsed.Address != value || parsed.Name != "" {
		return invalid(field, "%q is not an e-mail address", value)
	}
	at := strings.LastIndexByte(value, '@')
	domain := value[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return invalid(field, "%q is not an e-mail address (the domain needs a dot)", value)
	}
	return nil
}

// validatePhone checks E.164: a plus sign and at most 15 digits.
func validatePhone(field, value string) error {
	if !e164Pattern.MatchString(value) {
		return invalid(field, "%q is not an E.164 phone number (like +14255550100)", value)
	}
	return nil
}

func validateName(field, value string, required bool) error {
	if strings.TrimSpace(value) == "" {
		if required {
			return invalid(field, "required")
		}
		return nil
	}
	if length(value) > MaxNameLength {
		return invalid(field, "longer than %d characters", MaxNameLength)
	}
	return validateText(field, value)
}

func validateUserName(field, value string) error {
	if !userNamePattern.MatchString(value) {
		return invalid(field, "%q must be 1-64 letters, digits, '.', '-' or '_', starting with a letter or digit", value)
	}
	return nil
}

func validatePassword(field, value string) error {
	if err := validateText(field, value); err != nil {
		return err
	}
	n := length(value)
	if n < MinPasswordLength {
		return invalid(field, "shorter than %d characters", MinPasswordLength)
	}
	if n > MaxPasswordLength {
		return invalid(field, "longer than %d characters", MaxPasswordLength)
	}
	return nil
}

// Address is a postal address.
type Address struct {
	Line1      string `json:"line1" maxLength:"200"`
	Line2      string `json:"line2,omitempty" maxLength:"200"`
	City       string `json:"city" maxLength:"200"`
	Region     string `json:"region,omitempty" maxLength:"200"`
	PostalCode string `json:"postal_code,omitempty" maxLength:"16"`
	Country    string `json:"country" maxLength:"2" doc:"ISO 3166-1 alpha-2"`
}

func (a Address) validate(field string) error {
	if err := validateName(field+".line1", a.Line1, true); err != nil {
		return err
	}
	if err := validateName(field+".line2", a.Line2, false); err != nil {
		return err
	}
	if err := validateName(field+".city", a.City, true); err != nil {
		return err
	}
	if err := validateName(field+".region", a.Region, false); err != nil {
		return err
	}
	if length(a.PostalCode) > 16 {
		return invalid(field+".postal_code", "longer than 16 characters")
	}
	if err := validateText(field+".postal_code", a.PostalCode); err != nil {
		return err
	}
	if !country.Valid(a.Country) {
		return invalid(field+".country", "%q is not an ISO 3166-1 alpha-2 country code", a.Country)
	}
	return nil
}

// ParseEmailList splits 1..MaxInvitationAddresses addresses separated by
// commas or semicolons, validates each, and removes duplicates (case-
// insensitively). Errors name the field and the address at fault.
func ParseEmailList(field, list string) ([]string, error) {
	parts := strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ';' })
	var out []string
	seen := map[string]bool{}
	for _, part := range parts {
		address := strings.TrimSpace(part)
		if address == "" {
			continue
		}
		if err := validateEmail(field, address); err != nil {
			return nil, err
		}
		if key := strings.ToLower(address); !seen[key] {
			seen[key] = true
			out = append(out, address)
		}
	}
	if len(out) == 0 {
		return nil, invalid(field, "at least one e-mail address is required")
	}
	if len(out) > MaxInvitationAddresses {
		return nil, invalid(field, "%d addresses: at most %d per invitation", len(out), MaxInvitationAddresses)
	}
	return out, nil
}
