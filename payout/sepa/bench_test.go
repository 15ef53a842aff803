package sepa

import (
	"fmt"
	"io"
	"testing"

	"github.com/shopspring/decimal"
)

// BenchmarkWrite: a pain.001 of 20,000 SEPA credit transfers (a release of
// ~80k payouts has about that many), validated, encoded, read back and
// compared.
func BenchmarkWrite(b *testing.B) {
	m := sepaOnly(fixtureMessage())
	payments := make([]Payment, 20_000)
	for i := range payments {
		payments[i] = Payment{EndToEndID: fmt.Sprintf("P2026120%07d", i), Amount: decimal.New(int64(1000+i*37%900_000), -2),
			Currency: "EUR", CreditorName: "Publisher " + fmt.Sprint(i), CreditorIBAN: "DE89370400440532013000",
			CreditorBIC: "COBADEFFXXX", CreditorCountry: "FR", RemittanceInfo: fmt.Sprintf("Marketplace payout 2026-12 P2026120%07d", i)}
	}
	m.Payments = payments
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Write(io.Discard, m); err != nil {
			b.Fatal(err)
		}
	}
}
