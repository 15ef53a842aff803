package money

import "fmt"

// minorUnits are ISO 4217 exponents: the number of decimals of each currency's
// minor unit. Source: ISO 4217 list one (currencies and funds), as published
// by SIX Group; only currencies payrun can pay out in are listed.
var minorUnits = map[string]int32{
	"AED": 2, "ARS": 2, "AUD": 2, "BGN": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2,
	"CLP": 0, "CNY": 2, "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2,
	"HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0,
	"KRW": 0, "KWD": 3, "MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PHP": 2,
	"PLN": 2, "QAR": 2, "RON": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3,
	"TRY": 2, "TWD": 2, "UAH": 2, "USD": 2, "VND": 0, "ZAR": 2,
}

// MinorUnit returns the number of decimals of currency's minor unit
// (USD 2, JPY 0, BHD 3). Unknown currencies are an error naming the code.
func MinorUnit(currency string) (int32, error) {
	places, ok := minorUnits[currency]
	if !ok {
		return 0, fmt.Errorf("unknown currency %q (not an ISO 4217 code payrun pays in)", currency)
	}
	return places, nil
}

// KnownCurrency reports whether payrun can pay in currency.
func KnownCurrency(currency string) bool {
	_, ok := minorUnits[currency]
	return ok
}
