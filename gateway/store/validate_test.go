package store

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateRoomName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"standup", true},
		{"a", true},
		{"0", true},
		{"team-1_b", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"Standup", false},
		{"-lead", false},
		{"_lead", false},
		{"has space", false},
		{"dot.name", false},
		{"ümlaut", false},
		{"room/x", false},
	}
	for _, tt := range tests {
		err := ValidateRoomName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateRoomName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil {
			assertField(t, err, ErrInvalid, "name")
		}
	}
}

func TestValidatePIN(t *testing.T) {
	tests := []struct {
		pin string
		ok  bool
	}{
		{"1234", true},
		{"000000", true},
		{"123456789012", true},
		{"123", false},
		{"1234567890123", false},
		{"", false},
		{"12a4", false},
		{"１２３４", false}, // full-width digits are not ASCII digits
		{" 1234", false},
		{"-123", false},
	}
	for _, tt := range tests {
		err := ValidatePIN("host_pin", tt.pin)
		if (err == nil) != tt.ok {
			t.Errorf("ValidatePIN(%q) = %v, want ok=%v", tt.pin, err, tt.ok)
		}
		if err != nil {
			assertField(t, err, ErrInvalid, "host_pin")
		}
	}
}

func TestValidateAlias(t *testing.T) {
	tests := []struct {
		alias string
		ok    bool
	}{
		{"4711", true},
		{"+15550100", true},
		{"Sales.Team", true},
		{"*42#", true},
		{strings.Repeat("9", 32), true},
		{strings.Repeat("9", 33), false},
		{"", false},
		{"+", false},
		{"a b", false},
		{"a@b", false},
		{"++1", false},
	}
	for _, tt := range tests {
		err := ValidateAlias(tt.alias)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateAlias(%q) = %v, want ok=%v", tt.alias, err, tt.ok)
		}
	}
}

func TestRoomValidate(t *testing.T) {
	tests := []struct {
		desc  string
		room  Room
		field string // "" means valid
	}{
		{"minimal", Room{Name: "a"}, ""},
		{"full", Room{Name: "a", PIN: "1234", HostPIN: "5678", Aliases: []string{"4711"}, WaitForHost: true, PINOnDirectDial: true}, ""},
		{"bad name", Room{Name: "A"}, "name"},
		{"short pin", Room{Name: "a", PIN: "12"}, "pin"},
		{"bad host pin", Room{Name: "a", HostPIN: "12x4"}, "host_pin"},
		{"pin equals host pin", Room{Name: "a", PIN: "1234", HostPIN: "1234"}, "host_pin"},
		{"wait for host without host pin", Room{Name: "a", PIN: "1234", WaitForHost: true}, "wait_for_host"},
		{"pin on direct dial without pin", Room{Name: "a", PINOnDirectDial: true}, "pin_on_direct_dial"},
		{"bad alias", Room{Name: "a", Aliases: []string{"x y"}}, "aliases"},
		{"alias twice", Room{Name: "a", Aliases: []string{"4711", "4711"}}, "aliases"},
		{"alias twice by case", Room{Name: "a", Aliases: []string{"Sales", "sales"}}, "aliases"},
		{"alias repeats name", Room{Name: "a", Aliases: []string{"A"}}, "aliases"},
		{"alias repeats numeric id", Room{Name: "a", NumericID: "4711", Aliases: []string{"4711"}}, "aliases"},
		{"bad numeric id", Room{Name: "a", NumericID: "12ab"}, "numeric_id"},
		{"too many aliases", Room{Name: "a", Aliases: manyAliases(maxAliases + 1)}, "aliases"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := tt.room.normalize().validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("validate = %v, want nil", err)
				}
				return
			}
			assertField(t, err, ErrInvalid, tt.field)
		})
	}
}

func TestWeakPIN(t *testing.T) {
	for pin, weak := range map[string]bool{
		"1111": true, "1234": true, "9876": true, "123456": true,
		"1235": false, "4711": false, "9870": false,
	} {
		if weakPIN(pin) != weak {
			t.Errorf("weakPIN(%q) = %v, want %v", pin, !weak, weak)
		}
	}
}

func manyAliases(n int) []string {
	a := make([]string, n)
	for i := range a {
		a[i] = "al" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	return a
}

// assertField checks err's class and the field it names.
func assertField(t *testing.T, err, class error, field string) {
	t.Helper()
	if !errors.Is(err, class) {
		t.Fatalf("error %v is not %v", err, class)
	}
	var got string
	var ve *ValidationError
	var ce *ConflictError
	switch {
	case errors.As(err, &ve):
		got = ve.Field
	case errors.As(err, &ce):
		got = ce.Field
	}
	if got != field {
		t.Fatalf("error %v names field %q, want %q", err, got, field)
	}
}
