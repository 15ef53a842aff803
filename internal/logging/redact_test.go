package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRedactString(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, in, want string }{
		// Rule 3: whole tokens.
		{"EIN", "tin 12-3456789 refused", "tin [redacted] refused"},
		{"SSN", "ssn=123-45-6789.", "ssn=[redacted]."},
		{"TIN without dashes", "W-9 for 123456789", "W-9 for [redacted]"},
		{"account number", "account 000123456789 rejected", "account [redacted] rejected"},
		{"eight digits", "number:12345678", "number:[redacted]"},
		{"digits in quotes", `{"n":"48150162342"}`, `{"n":"[redacted]"}`},
		{"IBAN", "iban DE89370400440532013000 invalid", "iban [redacted] invalid"},
		{"IBAN in groups", "to DE89 3704 0044 0532 0130 00, sent", "to [redacted], sent"},
		{"GB IBAN", "GB82WEST12345698765432", "[redacted]"},
		{"mistyped IBAN", "DE00370400440532013000", "[redacted]"},
		{"several", "12-3456789 and 987654321", "[redacted] and [redacted]"},
		// Rule 2: key words and bearer tokens.
		{"bearer", "Authorization: Bearer q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c", "Authorization: Bearer [redacted]"},
		{"bearer phrase", "a bearer token is required", "a bearer token is required"},
		{"password query", "grant_type=password&password=hunter2hunter2&x=1", "grant_type=password&password=[redacted]&x=1"},
		{"password JSON", `{"username":"ada","password":"correct horse battery staple"}`, `{"username":"ada","password":"[redacted]"}`},
		{"new_password JSON", `{"current_password": "a b", "new_password":"c d"}`, `{"current_password": "[redacted]", "new_password":"[redacted]"}`},
		{"client secret", "client_secret=abc", "client_secret=[redacted]"},
		{"access token", `access_token: "xyz"`, `access_token: "[redacted]"`},
		// Kept: payrun's identifiers and ordinary values.
		{"payment id", "payment P20261100000042 returned", "payment P20261100000042 returned"},
		{"seller id", "/v1/accounts/S000000001/payout-account", "/v1/accounts/S000000001/payout-account"},
		{"fixture seller id", "seller G3-000000012", "seller G3-000000012"},
		{"request id", "f3a9c0e4d3b2a1f0e9d8c7b6a5f4e3d2", "f3a9c0e4d3b2a1f0e9d8c7b6a5f4e3d2"},
		{"cycle", "close 2026-11: already closed", "close 2026-11: already closed"},
		{"date", "2026-11-23", "2026-11-23"},
		{"amount", "paid 12345678.90 USD", "paid 12345678.90 USD"},
		{"seven digits", "1234567 lines", "1234567 lines"},
		{"file name", "ach-20261120.txt", "ach-20261120.txt"},
		{"last four", "*****6789", "*****6789"},
		{"address", "127.0.0.1:8080", "127.0.0.1:8080"},
		{"sentence", "cycle 2026-11 closed: 42 paid", "cycle 2026-11 closed: 42 paid"},
		{"lowercase iban shape", "de89370400440532013000x", "de89370400440532013000x"},
		{"empty", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.want, RedactString(c.in))
		})
	}
}

func TestSensitiveKey(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]bool{
		"password": true, "new_password": true, "NewPassword": true, "one_time_password": true, "token": true,
		"access_token": true, "accessToken": true, "client_secret": true, "Authorization": true, "tin": true,
		"foreign_tin": true, "iban": true, "account_number": true, "otp": true,
		"key": false, "job": false, "routing": false, "routing_number": false, "tokens_issued": false, "seller_id": false,
		"request_id": false, "cycle": false, "attempt": false, "error": false,
	} {
		require.Equal(t, want, sensitiveKey(key), key)
	}
}

// logJSON logs through Redact into JSON and returns the decoded line.
func logJSON(t *testing.T, log func(*slog.Logger)) (map[string]any, string) {
	t.Helper()
	var out bytes.Buffer
	log(slog.New(Redact(slog.NewJSONHandler(&out, nil))))
	var line map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &line), out.String())
	return line, out.String()
}

type submission struct{ TIN string }

func (s submission) LogValue() slog.Value {
	return slog.GroupValue(slog.String("tin", "*****"+s.TIN[len(s.TIN)-4:]), slog.String("raw", s.TIN))
}

type stringer struct{}

func (stringer) String() string { return "acct 123456789" }

func TestRedactHandler(t *testing.T) {
	t.Parallel()
	line, raw := logJSON(t, func(l *slog.Logger) {
		l.With("password", "hunter2", "seller_id", "S000000001").WithGroup("g").Info("sign-in for 12-3456789 failed",
			"error", errors.New(`pq: account "48150162342" is locked`),
			"tin", "*****6789",
			"foreign_tin", "DE123456789",
			"token", 42,
			"payment_id", "P20261100000042",
			"count", 123456789, // numbers are not inspected
			"form", submission{TIN: "987-65-4321"},
			"body", map[string]string{"iban": "GB82WEST12345698765432"},
			"account", stringer{},
			"jobs", []string{"close-cycle", "release-payments"},
			"authorization", "",
		)
	})
	for _, secret := range []string{"hunter2", "12-3456789", "48150162342", "DE123456789", "987-65-4321", "GB82WEST12345698765432", "123456789\""} {
		require.NotContains(t, raw, secret)
	}
	require.Equal(t, "sign-in for [redacted] failed", line["msg"])
	require.Equal(t, "[redacted]", line["password"])
	require.Equal(t, "S000000001", line["seller_id"])
	group := line["g"].(map[string]any)
	require.Equal(t, `pq: account "[redacted]" is locked`, group["error"])
	require.Equal(t, "*****6789", group["tin"], "a masked value stays")
	require.Equal(t, "[redacted]", group["foreign_tin"])
	require.Equal(t, "[redacted]", group["token"], "a sensitive key redacts any kind")
	require.Equal(t, "P20261100000042", group["payment_id"])
	require.EqualValues(t, 123456789, group["count"])
	require.Equal(t, map[string]any{"tin": "*****4321", "raw": "[redacted]"}, group["form"])
	require.Equal(t, `{"iban":"[redacted]"}`, group["body"])
	require.Equal(t, "acct [redacted]", group["account"])
	require.Equal(t, []any{"close-cycle", "release-payments"}, group["jobs"], "values without secrets keep their type")
	require.Equal(t, "", group["authorization"])
}

func TestRedactTextHandler(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	slog.New(Redact(slog.NewTextHandler(&out, nil))).Warn("http: TLS handshake error", "detail", "Bearer abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
	require.Contains(t, out.String(), `detail="Bearer [redacted]"`)
	require.False(t, strings.Contains(out.String(), "abcdefghijklmnop"))
}

func TestSensitive(t *testing.T) {
	t.Parallel()
	require.True(t, Sensitive("123456789"))
	require.True(t, Sensitive("DE89370400440532013000"))
	require.False(t, Sensitive("req-42"))
	require.False(t, Sensitive(newRequestID()))
}
