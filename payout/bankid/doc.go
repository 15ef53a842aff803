// Package bankid validates the identifiers of a payout account (SPEC §6.1):
// US ABA routing numbers, IBANs, BICs and PayPal e-mail addresses, decides
// whether a bank country is reachable by SEPA, and masks sensitive values for
// display.
//
// It is pure: no I/O, no clock, no configuration. Every Validate function
// returns nil or a *fielderr.Error (internal/fielderr) whose message explains
// the failure to a person ("IBAN: check digits fail (mod-97 = 5, want 1)"),
// whose code says what kind of failure it is, and which wraps a sentinel
// (ErrEmpty, ErrLength, ErrCharacter, ErrCheckDigit, ErrCountry, ErrPrefix)
// for callers that branch. Its path is empty: the caller knows what its input
// calls the field and sets it with fielderr.At ("iban", "routing_number").
// Messages never repeat a full IBAN or account number: those are sensitive
// (SPEC §11), so errors name positions and characters instead; callers that
// show the value use Mask.
//
// # What is checked
//
//	identifier      rule                                              source
//	ABA routing     9 digits; prefix 00-12, 21-32, 61-72 or 80;        ABA Routing Number Policy,
//	                3·d1+7·d2+d3+3·d4+7·d5+d6+3·d7+7·d8+d9 ≡ 0 mod 10  Federal Reserve routing symbols
//	IBAN            country code with a registered length;            ISO 13616-1, SWIFT IBAN Registry
//	                A-Z0-9 only; check digits 02-98;
//	                ISO 7064 MOD 97-10 remainder == 1
//	BIC             AAAA CC LL [BBB]: 4 letters, ISO 3166 country,   ISO 9362
//	                2 alphanumerics, optional 3 alphanumerics
//	                (X-branch only as XXX)
//	PayPal e-mail   net/mail bare address, ≤ 254 chars, local ≤ 64,   RFC 5321, RFC 3696
//	                dotted domain of letters/digits/hyphens
//
// Not checked: the BBAN's national structure and national check digits,
// whether a routing number or BIC is actually assigned (that needs the
// Federal Reserve E-Payments directory or the SWIFT BIC directory), whether
// a mailbox exists. Those failures surface as a prenote return (ACH) or an
// operator decision (SPEC §6.1 verification).
//
// # Detection guarantees
//
// Both checksums detect every single-character substitution: in the ABA
// scheme each weight (3, 7, 1) is coprime to 10, and in MOD 97-10 no power of
// ten is a multiple of the prime 97. Tests check this as a property.
//
// # Limits
//
// ABARoutingLength (9), IBANMinLength (15) / IBANMaxLength (34), the
// per-country IBAN lengths, BICLength8 / BICLength11, EmailMaxLength (254) /
// EmailLocalMaxLength (64), MaskVisible (4) / MaskMinLength (8); each
// constant says where its number comes from.
package bankid
