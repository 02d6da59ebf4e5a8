package tenantdb

import (
	"context"
	"testing"
)

func TestCompareVersions(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"3.51.3", "3.51.3", 0}, {"3.51.2", "3.51.3", -1}, {"3.52.0", "3.51.3", 1},
		{"3.9.0", "3.51.3", -1}, {"4.0", "3.51.3", 1}, {"3.51", "3.51.3", -1},
	} {
		if got := compareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("compareVersions(%s, %s): got %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestLinkedSQLiteIsRecentEnough(t *testing.T) {
	v, err := CheckSQLiteVersion(context.Background())
	if err != nil {
		t.Fatalf("linked SQLite %s: %v", v, err)
	}
}
