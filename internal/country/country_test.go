package country

import "testing"

func TestValid(t *testing.T) {
	for _, code := range []string{"US", "DE", "GB", "JP", "BR", "AX", "SS"} {
		if !Valid(code) {
			t.Errorf("Valid(%q) = false, want true", code)
		}
	}
	for _, code := range []string{"", "us", "UK", "EU", "XX", "USA", "U"} {
		if Valid(code) {
			t.Errorf("Valid(%q) = true, want false", code)
		}
	}
}

func TestCodes(t *testing.T) {
	codes := Codes()
	if len(codes) != 249 {
		t.Fatalf("%d codes, want 249", len(codes))
	}
	for _, code := range []string{"UK", "EU", "XK", "AN", "YU"} {
		if Valid(code) {
			t.Errorf("Valid(%q) = true: not an assigned code", code)
		}
	}
}
