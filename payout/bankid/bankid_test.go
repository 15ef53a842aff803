package bankid

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/payrun/payrun/internal/fielderr"
)

func TestValidateABAAcceptsKnownRoutingNumbers(t *testing.T) {
	for _, routing := range []string{
		"011000015", // Federal Reserve Bank of Boston
		"021000021", // JPMorgan Chase, New York
		"011000028", // State Street
		"121000358", // Bank of America, California
		"322271627", // Chase, California (thrift range 21-32)
		"000000000", // structurally valid: prefix 00, sum 0
	} {
		require.NoError(t, ValidateABA(routing), routing)
	}
}

func TestValidateABAFailureModes(t *testing.T) {
	for _, tc := range []struct {
		routing  string
		sentinel error
		message  string
	}{
		{"", ErrEmpty, "missing"},
		{"02100002", ErrLength, "must be 9 digits, got 8"},
		{"0210000210", ErrLength, "must be 9 digits, got 10"},
		{"02100002X", ErrCharacter, `character 9 is 'X'`},
		{"021 00021", ErrCharacter, `character 4 is ' '`},
		{"02100002١", ErrCharacter, `character 9 is '١'`},
		{"021000022", ErrCheckDigit, "check digit fails (3-7-1 weighted sum = 31, not a multiple of 10; check digit 1 would make it valid, got 2)"},
		{"131000011", ErrPrefix, "first two digits 13 are not a Federal Reserve routing symbol"},
		{"501000019", ErrPrefix, "first two digits 50"},
		{"901000014", ErrPrefix, "first two digits 90"},
	} {
		err := ValidateABA(tc.routing)
		require.ErrorIs(t, err, tc.sentinel, tc.routing)
		require.ErrorContains(t, err, tc.message, tc.routing)
		require.True(t, strings.HasPrefix(err.Error(), "ABA routing number: "), err.Error())
	}
}

// Every failure is one *fielderr.Error without a path (the caller names the
// field), with the code of its sentinel.
func TestErrorsAreFieldErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code string
	}{
		{ValidateABA(""), fielderr.Required},
		{ValidateABA("02100002"), fielderr.Length},
		{ValidateABA("02100002X"), fielderr.Character},
		{ValidateABA("021000022"), fielderr.CheckDigit},
		{ValidateABA("131000011"), fielderr.Prefix},
		{ValidateIBAN("XX89370400440532013000"), fielderr.Country},
		{ValidateBIC(""), fielderr.Required},
		{ValidatePayPalEmail("not an address"), fielderr.Character},
	} {
		var fieldErr *fielderr.Error
		require.ErrorAs(t, tc.err, &fieldErr)
		require.Empty(t, fieldErr.Path, tc.err.Error())
		require.Equal(t, tc.code, fieldErr.Code, tc.err.Error())
		located := fielderr.At("routing_number", tc.err)
		require.Equal(t, "routing_number: "+tc.err.Error(), located.Error())
		require.ErrorIs(t, located, fieldErr.Err)
	}
}

func TestABACheckDigit(t *testing.T) {
	digit, err := ABACheckDigit("02100002")
	require.NoError(t, err)
	require.Equal(t, byte('1'), digit)
	_, err = ABACheckDigit("0210000")
	require.ErrorIs(t, err, ErrLength)
	_, err = ABACheckDigit("0210000A")
	require.ErrorIs(t, err, ErrCharacter)
}

func TestValidateIBANAcceptsKnownIBANs(t *testing.T) {
	for _, iban := range []string{
		"GB82WEST12345698765432",
		"DE89370400440532013000",
		"FR1420041010050500013M02606",
		"NO9386011117947",
		"CH9300762011623852957",
		"BE68539007547034",
		"NL91ABNA0417164300",
		"ES9121000418450200051332",
		"IT60X0542811101000000123456",
		"MT84MALT011000012345MTLCAST001S",
		"SA0380000000608010167519",
	} {
		require.NoError(t, ValidateIBAN(iban), iban)
		require.Equal(t, iban[:2], IBANCountry(iban))
	}
}

func TestNormalizeIBAN(t *testing.T) {
	require.Equal(t, "GB82WEST12345698765432", NormalizeIBAN(" gb82 west 1234 5698 7654 32\t"))
	require.NoError(t, ValidateIBAN(NormalizeIBAN("fr14 2004 1010 0505 0001 3m02 606")))
	require.Equal(t, "FR", IBANCountry("fr14 2004"))
	require.Equal(t, "", IBANCountry("1"))
	require.Equal(t, "", IBANCountry("12345"))
}

func TestValidateIBANFailureModes(t *testing.T) {
	for _, tc := range []struct {
		iban     string
		sentinel error
		message  string
	}{
		{"", ErrEmpty, "missing"},
		{"GB82 WEST12345698765432", ErrCharacter, `character 5 is ' '; write the IBAN without spaces`},
		{"gb82WEST12345698765432", ErrCharacter, `character 1 is 'g'`},
		{"GB82-WEST12345698765432", ErrCharacter, `character 5 is '-', only letters A-Z and digits 0-9`},
		{"GB8", ErrLength, "too short: 3 characters"},
		{"1282WEST12345698765432", ErrCountry, `two-letter country code, got "12"`},
		{"US82WEST12345698765432", ErrCountry, "country code US does not issue IBANs"},
		{"GB82WEST1234569876543", ErrLength, "GB IBANs have 22 characters, got 21"},
		{"NO93860111179470", ErrLength, "NO IBANs have 15 characters, got 16"},
		{"GBX2WEST12345698765432", ErrCharacter, "check digits and must be digits"},
		{"GB83WEST12345698765432", ErrCheckDigit, "check digits fail (mod-97 = 2, want 1)"},
		{"GB82WEST12345698765433", ErrCheckDigit, "check digits fail (mod-97 = "},
		{"GB01WEST12345698765432", ErrCheckDigit, "check digits 01 are outside 02-98"},
		{"GB99WEST12345698765432", ErrCheckDigit, "check digits 99 are outside 02-98"},
	} {
		err := ValidateIBAN(tc.iban)
		require.ErrorIs(t, err, tc.sentinel, tc.iban)
		require.ErrorContains(t, err, tc.message, tc.iban)
		if len(tc.iban) > 8 {
			require.NotContains(t, err.Error(), tc.iban[4:], "the message must not repeat the IBAN")
		}
	}
}

func TestEverySEPACountryHasAnIBANLength(t *testing.T) {
	require.Len(t, SEPACountries, 37)
	for country := range SEPACountries {
		_, ok := IBANLength(country)
		require.True(t, ok, "SEPA country %s has no IBAN length", country)
		require.True(t, KnownCountry(country), country)
	}
	for country, length := range ibanLengths {
		require.True(t, KnownCountry(country), "IBAN country %s is not an ISO 3166 code", country)
		require.GreaterOrEqual(t, length, IBANMinLength, country)
		require.LessOrEqual(t, length, IBANMaxLength, country)
	}
	require.True(t, IsSEPA("DE"))
	require.True(t, IsSEPA("GB"))
	require.True(t, IsSEPA("CH"))
	require.True(t, IsSEPA("VA"))
	require.False(t, IsSEPA("US"))
	require.False(t, IsSEPA("TR"))
	require.False(t, IsSEPA("de"))
}

func TestValidateBIC(t *testing.T) {
	for _, bic := range []string{"DEUTDEFF", "DEUTDEFF500", "NWBKGB2L", "BNPAFRPPXXX", "UBSWCHZH80A", "CHASUS33"} {
		require.NoError(t, ValidateBIC(bic), bic)
	}
	require.Equal(t, "DE", BICCountry("deutdeff"))
	require.Equal(t, "", BICCountry("DEUT"))
	require.Equal(t, "", BICCountry("DEUT12FF"))
	require.Equal(t, "DEUTDEFF", NormalizeBIC(" deutdeff "))

	for _, tc := range []struct {
		bic      string
		sentinel error
		message  string
	}{
		{"", ErrEmpty, "missing"},
		{"DEUTDEF", ErrLength, "must have 8 or 11 characters, got 7"},
		{"DEUTDEFF50", ErrLength, "got 10"},
		{"deutdeff", ErrCharacter, "write the BIC in capitals"},
		{"DEUT-DEFF", ErrCharacter, `character 5 is '-'`},
		{"DEU1DEFF", ErrCharacter, "institution code and must be letters, character 4 is '1'"},
		{"DEUT1EFF", ErrCharacter, "country code and must be letters"},
		{"DEUTQQFF", ErrCountry, `"QQ", are not an ISO 3166-1 country code`},
		{"DEUTDEFFX12", ErrCharacter, `branch code "X12" starts with X`},
	} {
		err := ValidateBIC(tc.bic)
		require.ErrorIs(t, err, tc.sentinel, tc.bic)
		require.ErrorContains(t, err, tc.message, tc.bic)
	}
}

func TestValidatePayPalEmail(t *testing.T) {
	for _, email := range []string{
		"payouts@example.com",
		"first.last+tag@mail.example.co.uk",
		"o'brien@example.ie",
		"a@b.io",
	} {
		require.NoError(t, ValidatePayPalEmail(email), email)
	}
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com"
	require.Len(t, long, 254)
	require.NoError(t, ValidatePayPalEmail(long))

	for _, tc := range []struct {
		email    string
		sentinel error
		message  string
	}{
		{"", ErrEmpty, "missing"},
		{long + "m", ErrLength, "at most 254 characters, got 255"},
		{strings.Repeat("a", 65) + "@example.com", ErrLength, "before @ has at most 64"},
		{" payouts@example.com", ErrCharacter, "leading or trailing spaces"},
		{"payouts", ErrCharacter, "not an e-mail address"},
		{"payouts@", ErrCharacter, "not an e-mail address"},
		{"Pay Outs <payouts@example.com>", ErrCharacter, "bare address"},
		{"<payouts@example.com>", ErrCharacter, "bare address"},
		{"payouts@localhost", ErrCharacter, `domain "localhost" has no dot`},
		{"payouts@example..com", ErrCharacter, "not an e-mail address"},
		{"payouts@-example.com", ErrCharacter, "starts or ends with a hyphen"},
		{"payouts@[192.168.0.1]", ErrCharacter, "only letters, digits, hyphens and dots"},
		{"payouts@192.168.0.1", ErrCharacter, "ends in a numeric label"},
		{"payouts@exa_mple.com", ErrCharacter, `contains '_'`},
	} {
		err := ValidatePayPalEmail(tc.email)
		require.ErrorIs(t, err, tc.sentinel, tc.email)
		require.ErrorContains(t, err, tc.message, tc.email)
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"1234":                   "****",
		"1234567":                "*******",
		"12345678":               "****5678",
		"DE89370400440532013000": "******************3000",
		"ÄÖÜßéèàç9":              "*****èàç9",
	} {
		require.Equal(t, want, Mask(in), in)
	}
}

// validIBAN builds an IBAN for country with a random all-digit BBAN and the
// check digits that make it valid.
func validIBAN(t *rapid.T) string {
	countries := make([]string, 0, len(ibanLengths))
	for country := range ibanLengths {
		countries = append(countries, country)
	}
	sort.Strings(countries)
	country := rapid.SampledFrom(countries).Draw(t, "country")
	length := ibanLengths[country]
	var bban strings.Builder
	for i := 0; i < length-4; i++ {
		if rapid.IntRange(0, 4).Draw(t, "letter?") == 0 {
			bban.WriteByte(byte('A' + rapid.IntRange(0, 25).Draw(t, "letter")))
		} else {
			bban.WriteByte(byte('0' + rapid.IntRange(0, 9).Draw(t, "digit")))
		}
	}
	check := 98 - ibanMod97(country+"00"+bban.String())
	return fmt.Sprintf("%s%02d%s", country, check, bban.String())
}

func TestPropertySingleDigitChangeInIBANIsDetected(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		iban := validIBAN(t)
		require.NoError(t, ValidateIBAN(iban), iban)
		var digits []int
		for i := 2; i < len(iban); i++ {
			if isDigit(iban[i]) {
				digits = append(digits, i)
			}
		}
		if len(digits) == 0 {
			return
		}
		position := rapid.SampledFrom(digits).Draw(t, "position")
		replacement := byte('0' + rapid.IntRange(0, 9).Filter(func(d int) bool { return byte('0'+d) != iban[position] }).Draw(t, "replacement"))
		changed := iban[:position] + string(replacement) + iban[position+1:]
		err := ValidateIBAN(changed)
		require.Error(t, err, "changing character %d of %s to %c went undetected", position+1, iban, replacement)
		require.True(t, errors.Is(err, ErrCheckDigit), err.Error())
	})
}

func TestPropertySingleDigitChangeInABAIsDetected(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		prefix := rapid.SampledFrom([]int{0, 1, 5, 12, 21, 26, 32, 61, 67, 72, 80}).Draw(t, "prefix")
		first8 := fmt.Sprintf("%02d%06d", prefix, rapid.IntRange(0, 999999).Draw(t, "institution"))
		check, err := ABACheckDigit(first8)
		require.NoError(t, err)
		routing := first8 + string(check)
		require.NoError(t, ValidateABA(routing))

		position := rapid.IntRange(0, 8).Draw(t, "position")
		replacement := byte('0' + rapid.IntRange(0, 9).Filter(func(d int) bool { return byte('0'+d) != routing[position] }).Draw(t, "replacement"))
		changed := routing[:position] + string(replacement) + routing[position+1:]
		require.Error(t, ValidateABA(changed), "changing digit %d of %s went undetected", position+1, routing)
	})
}
