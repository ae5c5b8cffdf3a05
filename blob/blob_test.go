package blob

import (
	"errors"
	"strings"
	"testing"
)

func TestParseID(t *testing.T) {
	good := strings.Repeat("ab", 32)
	id, err := ParseID(good)
	if err != nil {
		t.Fatal(err)
	}
	if got := id.String(); got != good {
		t.Errorf("String() = %q, want %q", got, good)
	}
	if got, want := id.Short(), "abababab"; got != want {
		t.Errorf("Short() = %q, want %q", got, want)
	}
	for _, bad := range []string{"", "ab", strings.Repeat("zz", 32), strings.Repeat("ab", 33)} {
		if _, err := ParseID(bad); !errors.Is(err, ErrInvalidID) {
			t.Errorf("ParseID(%q) error = %v, want ErrInvalidID", bad, err)
		}
	}
}

func TestType(t *testing.T) {
	tests := []struct {
		t     Type
		s     string
		valid bool
	}{{Data, "data", true}, {Tree, "tree", true}, {7, "type(7)", false}}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.s {
			t.Errorf("String() = %q, want %q", got, tt.s)
		}
		if got := tt.t.Valid(); got != tt.valid {
			t.Errorf("%v.Valid() = %v, want %v", tt.t, got, tt.valid)
		}
	}
}
