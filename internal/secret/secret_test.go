package secret

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealOpenRoundTripAndBinding(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	s, err := FromConfig(base64.StdEncoding.EncodeToString(key), false)
	require.NoError(t, err)
	sealed, err := s.Seal("123456789", "tax_forms.tin")
	require.NoError(t, err)
	require.NotContains(t, string(sealed), "123456789")
	again, err := s.Seal("123456789", "tax_forms.tin")
	require.NoError(t, err)
	require.NotEqual(t, sealed, again, "a fresh nonce each time")

	plain, err := s.Open(sealed, "tax_forms.tin")
	require.NoError(t, err)
	require.Equal(t, "123456789", plain)
	_, err = s.Open(sealed, "payout_accounts.iban")
	require.ErrorIs(t, err, ErrOpen, "bound to its column")
	sealed[len(sealed)-1] ^= 1
	_, err = s.Open(sealed, "tax_forms.tin")
	require.ErrorIs(t, err, ErrOpen, "tampering detected")

	other, err := New(bytes.Repeat([]byte{8}, KeySize))
	require.NoError(t, err)
	_, err = other.Open(again, "tax_forms.tin")
	require.ErrorIs(t, err, ErrOpen, "another key does not open it")

	require.Equal(t, s.Digest("123456789", "tin"), s.Digest("123456789", "tin"))
	require.NotEqual(t, s.Digest("123456789", "tin"), s.Digest("123456780", "tin"))
	require.NotEqual(t, s.Digest("123456789", "tin"), other.Digest("123456789", "tin"))
	empty, err := s.Seal("", "x")
	require.NoError(t, err)
	require.Nil(t, empty)
}

func TestKeyConfiguration(t *testing.T) {
	_, err := FromConfig("", false)
	require.ErrorIs(t, err, ErrNoKey)
	dev, err := FromConfig("", true)
	require.NoError(t, err)
	require.True(t, dev.Dev)
	_, err = FromConfig("not base64!", false)
	require.ErrorContains(t, err, "not valid base64")
	_, err = FromConfig(base64.StdEncoding.EncodeToString([]byte("short")), false)
	require.ErrorContains(t, err, "5 bytes, want 32")
	require.False(t, strings.Contains(DevKeyBanner, string(devKey[:])))
	require.Equal(t, "6789", Last4("123456789"))
}
