package tax

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidateTINBoundaries(t *testing.T) {
	for _, tc := range []struct {
		kind TINKind
		tin  string
		ok   bool
	}{
		// SSN area.
		{TINSSN, "001-01-0001", true},
		{TINSSN, "000-12-3456", false},
		{TINSSN, "665-12-3456", true},
		{TINSSN, "666-12-3456", false},
		{TINSSN, "667-12-3456", true},
		{TINSSN, "899-12-3456", true},
		{TINSSN, "900-12-3456", false},
		{TINSSN, "999-12-3456", false},
		// SSN group and serial.
		{TINSSN, "123-00-4567", false},
		{TINSSN, "123-01-4567", true},
		{TINSSN, "123-45-0000", false},
		{TINSSN, "123-45-0001", true},
		// ITIN group ranges 50-65, 70-88, 90-92, 94-99.
		{TINITIN, "912-49-3456", false},
		{TINITIN, "912-50-3456", true},
		{TINITIN, "912-65-3456", true},
		{TINITIN, "912-66-3456", false},
		{TINITIN, "912-69-3456", false},
		{TINITIN, "912-70-3456", true},
		{TINITIN, "912-88-3456", true},
		{TINITIN, "912-89-3456", false},
		{TINITIN, "912-90-3456", true},
		{TINITIN, "912-92-3456", true},
		{TINITIN, "912-93-3456", false},
		{TINITIN, "912-94-3456", true},
		{TINITIN, "912-99-3456", true},
		{TINITIN, "812-70-3456", false},
		// EIN prefixes.
		{TINEIN, "00-1234567", false},
		{TINEIN, "01-1234567", true},
		{TINEIN, "06-1234567", true},
		{TINEIN, "07-1234567", false},
		{TINEIN, "09-1234567", false},
		{TINEIN, "10-1234567", true},
		{TINEIN, "17-1234567", false},
		{TINEIN, "28-1234567", false},
		{TINEIN, "29-1234567", false},
		{TINEIN, "49-1234567", false},
		{TINEIN, "68-1234567", true},
		{TINEIN, "69-1234567", false},
		{TINEIN, "70-1234567", false},
		{TINEIN, "71-1234567", true},
		{TINEIN, "78-1234567", false},
		{TINEIN, "79-1234567", false},
		{TINEIN, "89-1234567", false},
		{TINEIN, "95-1234567", true},
		{TINEIN, "96-1234567", false},
		{TINEIN, "97-1234567", false},
		{TINEIN, "98-1234567", true},
		{TINEIN, "99-1234567", true},
		// Layouts.
		{TINSSN, "123456789", true},
		{TINEIN, "123456789", true},
		{TINSSN, " 123-45-6789 ", true},
		{TINSSN, "12345678", false},
		{TINSSN, "1234567890", false},
		{TINSSN, "12-34-56789", false},
		{TINSSN, "123-456-789", false},
		{TINSSN, "12345678a", false},
		{TINSSN, "１23456789", false},
		{TINSSN, "", false},
		{"passport", "123456789", false},
	} {
		err := ValidateTIN(tc.kind, tc.tin)
		if tc.ok {
			require.NoError(t, err, "%s %q", tc.kind, tc.tin)
		} else {
			require.Error(t, err, "%s %q", tc.kind, tc.tin)
		}
	}
}

func TestValidateTINReasons(t *testing.T) {
	require.EqualError(t, ValidateTIN(TINSSN, "666-12-3456"), "SSN area 666 is never issued")
	require.EqualError(t, ValidateTIN(TINSSN, "123-00-3456"), "SSN group 00 is never issued")
	require.EqualError(t, ValidateTIN(TINSSN, "123-45-0000"), "SSN serial 0000 is never issued")
	require.EqualError(t, ValidateTIN(TINITIN, "912-93-3456"), "ITIN group 93 is not used (must be 50-65, 70-88, 90-92 or 94-99)")
	require.EqualError(t, ValidateTIN(TINEIN, "07-1234567"), "EIN prefix 07 is not assigned")
	require.ErrorIs(t, ValidateTIN(TINSSN, "12-34-56789"), ErrTINFormat)
	require.ErrorIs(t, ValidateTIN("x", "123456789"), ErrTINKind)
}

func TestNormalizeTIN(t *testing.T) {
	for in, want := range map[string]string{"123-45-6789": "123456789", "12-3456789": "123456789", "123456789": "123456789"} {
		got, err := NormalizeTIN(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}

func TestMaskTIN(t *testing.T) {
	require.Equal(t, "*****6789", MaskTIN("123456789"))
	require.Equal(t, "*******6789", MaskTIN("123-45-6789"))
	require.Equal(t, "***", MaskTIN("abc"))
	require.Equal(t, "", MaskTIN(""))
	require.Equal(t, "**äöüß", MaskTIN("xyäöüß"))
}
