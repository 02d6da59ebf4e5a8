package tenantdb

import (
	"context"
	"path/filepath"
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

// TestWriterZeroesDeletedContent checks every writer connection runs with
// secure_delete=FAST (2), so deleted rows are not left readable in the file.
func TestWriterZeroesDeletedContent(t *testing.T) {
	p, err := openPools(context.Background(), filepath.Join(t.TempDir(), "t.db"), 1, defaultCacheKiB)
	if err != nil {
		t.Fatal(err)
	}
	defer p.write.Close()
	defer p.read.Close()
	var got int
	if err := p.write.QueryRow(`PRAGMA secure_delete`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != 2 {
		t.Errorf("writer secure_delete: got %d, want 2 (fast)", got)
	}
}
