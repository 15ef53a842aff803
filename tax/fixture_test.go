package tax

import (
	"time"

	"github.com/shopspring/decimal"
)

// Small builders: each returns a valid submission that a test then breaks.

func date(year int, month time.Month, day int) time.Time {
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
}

func dec(text string) decimal.Decimal { return decimal.RequireFromString(text) }

// today is the "today" of validation tests.
var today = time.Date(2026, time.September, 10, 12, 0, 0, 0, time.UTC)

func w9Individual() Submission {
	return Submission{
		Form:               FormW9,
		LegalName:          "Jane Q Public",
		EntityType:         EntityIndividual,
		ResidenceCountry:   "US",
		CitizenshipCountry: "US",
		PermanentAddress:   Address{Line1: "1 Main St", City: "Springfield", Region: "IL", PostalCode: "62701", Country: "US"},
		TIN:                "123-45-6789",
		TINKind:            TINSSN,
		SignerName:         "Jane Q Public",
		SignedOn:           date(2026, time.September, 4),
	}
}

func w9Corporation() Submission {
	return Submission{
		Form:             FormW9,
		LegalName:        "Acme Apps Inc",
		EntityType:       EntityCorporation,
		ResidenceCountry: "US",
		PermanentAddress: Address{Line1: "500 Market St", City: "San Francisco", Region: "CA", Country: "US"},
		TIN:              "12-3456789",
		TINKind:          TINEIN,
		SignerName:       "Wile E Coyote",
		SignedOn:         date(2026, time.September, 4),
	}
}

func w8ben(country string) Submission {
	return Submission{
		Form:               FormW8BEN,
		LegalName:          "Erika Mustermann",
		EntityType:         EntityIndividual,
		ResidenceCountry:   country,
		CitizenshipCountry: country,
		PermanentAddress:   Address{Line1: "Hauptstrasse 1", City: "Berlin", PostalCode: "10115", Country: country},
		ForeignTIN:         "12345678901",
		SignerName:         "Erika Mustermann",
		SignedOn:           date(2026, time.September, 4),
	}
}

func w8bene(country string) Submission {
	return Submission{
		Form:             FormW8BENE,
		LegalName:        "Beispiel Software GmbH",
		EntityType:       EntityCorporation,
		ResidenceCountry: country,
		PermanentAddress: Address{Line1: "Industriestrasse 5", City: "Munich", Country: country},
		SignerName:       "Max Mustermann",
		SignedOn:         date(2026, time.September, 4),
	}
}

func withTreaty(s Submission, rate string) Submission {
	s.Treaty = &TreatyClaim{Country: s.ResidenceCountry, Article: "12", IncomeCode: "12", Rate: dec(rate)}
	return s
}

func record(s Submission, submittedAt time.Time) Record {
	return Record{Submission: s.Normalize(), SubmittedAt: submittedAt}
}
