package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"parley/tenantdb"
)

// Channel credentials are sealed under a key from the operator's
// environment, never from a flag (flags show in process lists):
//
//	PARLEY_SECRET_KEY           32 random bytes, hex or base64 (openssl rand -base64 32)
//	PARLEY_SECRET_KEY_PREVIOUS  older keys, comma-separated, still opened after a rotation
//
// Without PARLEY_SECRET_KEY a key is generated once into <data>/secret.key
// (mode 0600), so a fresh install works; production sets the variable and
// keeps the key apart from the data and its backups.
const (
	envSecretKey         = "PARLEY_SECRET_KEY"          // #nosec G101 -- the name of the variable that holds the key, not the key
	envSecretKeyPrevious = "PARLEY_SECRET_KEY_PREVIOUS" // #nosec G101 -- the name of the variable that holds older keys, not a key
)

// secretKeyFile is the generated key's file in the data directory.
func (c Config) secretKeyFile() string { return filepath.Join(c.DataDir, "secret.key") }

// openSealer builds the sealer from the environment or the data
// directory's key file, creating the file on first start.
func openSealer(cfg Config, log *slog.Logger) (*tenantdb.Sealer, error) {
	raw, fromEnv := os.LookupEnv(envSecretKey)
	if !fromEnv {
		var err error
		if raw, err = readOrCreateKeyFile(cfg.secretKeyFile(), log); err != nil {
			return nil, err
		}
	}
	current, err := tenantdb.ParseSealKey(raw)
	if err != nil {
		if fromEnv {
			return nil, fmt.Errorf("%s: %w", envSecretKey, err)
		}
		return nil, fmt.Errorf("%s: %w", cfg.secretKeyFile(), err)
	}
	var previous [][]byte
	for i, v := range strings.Split(os.Getenv(envSecretKeyPrevious), ",") {
		if strings.TrimSpace(v) == "" {
			continue
		}
		k, err := tenantdb.ParseSealKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s, key %d: %w", envSecretKeyPrevious, i+1, err)
		}
		previous = append(previous, k)
	}
	return tenantdb.NewSealer(current, previous...)
}

func readOrCreateKeyFile(path string, log *slog.Logger) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return string(b), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("secret key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	enc := base64.StdEncoding.EncodeToString(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process made it first
		b, err := os.ReadFile(path)
		return string(b), err
	} else if err != nil {
		return "", fmt.Errorf("secret key: %w", err)
	}
	if _, err := f.WriteString(enc + "\n"); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	log.Warn("generated a secret key for channel credentials; in production set "+envSecretKey+
		" and keep the key apart from the data and its backups", "file", path)
	return enc, f.Close()
}
