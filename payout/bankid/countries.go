package bankid

import "github.com/payrun/payrun/internal/country"

// KnownCountry reports whether code is an ISO 3166-1 alpha-2 country code
// (upper case), or XK (Kosovo), a user-assigned code SWIFT uses in BICs and
// IBANs.
func KnownCountry(code string) bool { return code == "XK" || country.Valid(code) }

// SEPACountries is the set of countries whose banks take part in the SEPA
// credit transfer scheme, used to decide between a SEPA transfer and a
// cross-border (SWIFT) transfer: the European Economic Area (the 27 EU member
// states plus Iceland, Liechtenstein and Norway) and Switzerland, the United
// Kingdom, Monaco, San Marino, Vatican City and Andorra.
//
// Source: European Payments Council, "EPC list of SEPA scheme countries"
// (EPC409-09). Deliberately not included: the Crown Dependencies (Jersey,
// Guernsey, Isle of Man), which the EPC lists but whose banks are identified
// by GB IBANs and BICs, so an IBAN- or BIC-derived country never names them;
// the French, Portuguese and Spanish outermost regions likewise use their
// mother country's code. Countries admitted to the SEPA schemes later than
// the list above must be added here deliberately, after checking the EPC
// list; until then they are paid cross-border, which always works.
//
// Read it, never modify it.
var SEPACountries = makeSet([]string{
	// European Union
	"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
	"IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
	// rest of the European Economic Area
	"IS", "LI", "NO",
	// non-EEA SEPA participants
	"CH", "GB", "MC", "SM", "VA", "AD",
	// Gibraltar has its own IBAN prefix in the scheme (EPC409-09); Jersey,
	// Guernsey and the Isle of Man bank with GB IBANs, Saint-Pierre-et-
	// Miquelon with FR ones, so those prefixes cover them.
	"GI",
})

// IsSEPA reports whether a bank in country (ISO 3166-1 alpha-2, upper case)
// can be paid with a SEPA credit transfer.
func IsSEPA(country string) bool { return SEPACountries[country] }

func makeSet(codes []string) map[string]bool {
	set := make(map[string]bool, len(codes))
	for _, code := range codes {
		set[code] = true
	}
	return set
}
