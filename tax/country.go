package tax

import "github.com/payrun/payrun/internal/country"

// ValidCountry reports whether code is an officially assigned ISO 3166-1
// alpha-2 code. User-assigned codes such as XK and reserved ones such as UK
// or EU are not: a tax form names a country by its official code.
func ValidCountry(code string) bool { return country.Valid(code) }

// CountryUS is the United States: residence there (or US citizenship) makes a
// person a US person who files a W-9.
const CountryUS = "US"
