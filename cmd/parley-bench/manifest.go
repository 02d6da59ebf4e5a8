package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// manifestFile is the name of the manifest gen writes beside control.db.
const manifestFile = "bench-manifest.json"

// Manifest describes a data directory made by gen: what the load, scale and
// soak parts sign in with and which ids and search terms find something.
type Manifest struct {
	Seed int64
	// BaseDomain is the --base-domain the data was made for: workspaces
	// are at {slug}.{BaseDomain}.
	BaseDomain string
	Large      TenantInfo
	// Small are the many small tenants (1,000 in a full run).
	Small []TenantInfo
	// Steps says how long each step of gen took, in order.
	Steps []GenStep `json:",omitempty"`
	// Sizes counts what the large tenant holds (clients, chats, messages,
	// articles) and how big its file is.
	Sizes map[string]int64 `json:",omitempty"`
}

// GenStep is one timed step of gen.
type GenStep struct {
	Name    string
	Seconds float64
}

// TenantInfo is one generated workspace.
type TenantInfo struct {
	ID, Slug string
	// AdminEmail and Password sign in to the team UI.
	AdminEmail, Password string
	// Token is an admin API token (Bearer) for /api/v1.
	Token string
	// Clients and Chats are samples of ids: all of them for a small
	// tenant, at least 2,000 for the large one.
	Clients []string
	Chats   []string
	// NamePrefixes, PhoneFragments and Words are search terms that find
	// something: the start of a name, digits from a phone number, a word
	// from a note or message.
	NamePrefixes, PhoneFragments, Words []string
	// Articles are published help center article slugs; KBQueries are
	// help center searches that find some of them.
	Articles  []string
	KBQueries []string
}

// readManifest loads the manifest of the data directory dataDir.
func readManifest(dataDir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, manifestFile))
	if err != nil {
		return nil, fmt.Errorf("no generated data in %s (run parley-bench gen first): %w", dataDir, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read %s: %w", manifestFile, err)
	}
	return &m, nil
}

// writeManifest stores m in dataDir, replacing any older manifest whole.
func writeManifest(dataDir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dataDir, manifestFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dataDir, manifestFile))
}
