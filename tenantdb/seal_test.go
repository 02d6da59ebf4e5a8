package tenantdb_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"parley/tenantdb"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func testSealer(t testing.TB) *tenantdb.Sealer {
	t.Helper()
	s, err := tenantdb.NewSealer(testKey(7))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealer(t *testing.T) {
	t.Parallel()
	old, _ := tenantdb.NewSealer(testKey(1))
	rotated, _ := tenantdb.NewSealer(testKey(2), testKey(1))
	other, _ := tenantdb.NewSealer(testKey(3))
	aad := []byte("tenant\x00channel")
	sealed, err := old.Seal([]byte("s3cret-token"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "s3cret") {
		t.Fatalf("sealed value shows the secret: %s", sealed)
	}
	again, _ := old.Seal([]byte("s3cret-token"), aad)
	if again == sealed {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
	t.Run("OK", func(t *testing.T) {
		got, err := old.Open(sealed, aad)
		if err != nil || string(got) != "s3cret-token" {
			t.Errorf("got %q, %v, want the secret", got, err)
		}
	})
	t.Run("RotatedKeyOpensOld", func(t *testing.T) {
		if got, err := rotated.Open(sealed, aad); err != nil || string(got) != "s3cret-token" {
			t.Errorf("got %q, %v, want the secret", got, err)
		}
		fresh, _ := rotated.Seal([]byte("x"), aad)
		if _, err := old.Open(fresh, aad); !errors.Is(err, tenantdb.ErrUnsealable) {
			t.Errorf("old key opened a value sealed under the new one: %v", err)
		}
	})
	for name, tc := range map[string]struct {
		s      *tenantdb.Sealer
		sealed string
		aad    []byte
	}{
		"ErrOtherKey":       {other, sealed, aad},
		"ErrOtherChannel":   {old, sealed, []byte("tenant\x00another")},
		"ErrTampered":       {old, sealed[:len(sealed)-2] + "AA", aad},
		"ErrTruncated":      {old, sealed[:12], aad},
		"ErrNotSealed":      {old, "plain text", aad},
		"ErrUnknownVersion": {old, "v9" + sealed[2:], aad},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := tc.s.Open(tc.sealed, tc.aad); !errors.Is(err, tenantdb.ErrUnsealable) {
				t.Errorf("got %v, want ErrUnsealable", err)
			}
		})
	}
}

func TestParseSealKey(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{strings.Repeat("ab", 32), "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"} {
		if _, err := tenantdb.ParseSealKey(ok); err != nil {
			t.Errorf("ParseSealKey(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "short", strings.Repeat("ab", 16), "not base64 at all !!!!!!!!!!!!!!!!!!!!!!!"} {
		if _, err := tenantdb.ParseSealKey(bad); err == nil {
			t.Errorf("ParseSealKey(%q) accepted a bad key", bad)
		}
	}
}
