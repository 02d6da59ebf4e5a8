package tenantdb

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"parley/app"
)

// Branding returns how the workspace's public pages look. Unset parts
// fall back to the workspace's name (given by the caller, from the control
// DB) and the default accent.
func (db *DB) Branding(ctx context.Context, workspaceName string) (app.Branding, error) {
	var b app.Branding
	var logo string
	err := db.reader().QueryRowContext(ctx, `SELECT portal_name, portal_accent, portal_footer, portal_logo_file
		FROM workspace_settings WHERE id = 1`).Scan(&b.Name, &b.Accent, &b.Footer, &logo)
	if err != nil {
		return app.Branding{}, err
	}
	if b.Name == "" {
		b.Name = workspaceName
	}
	b.Accent = b.SafeAccent()
	b.LogoURL = logoURL(logo)
	return b, nil
}

func logoURL(file string) string {
	if file == "" {
		return ""
	}
	return "/help/logo/" + file
}

// MaxLogoBytes is the largest logo accepted: it is on every public page.
const MaxLogoBytes = 512 << 10

// logoTypes are the logo formats accepted, as sniffed from the bytes. SVG
// is not among them: it can carry script, and the logo is served on the
// workspace's own origin.
var logoTypes = map[string]string{"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}

// logoName is the form of a stored logo's file name: content-addressed, so
// a logo's URL never changes meaning and can be cached for good.
var logoName = regexp.MustCompile(`^logo-[0-9a-f]{32}\.(png|jpg|webp)$`)

// CheckLogo sniffs a logo's type from its bytes and checks its size,
// setting its content type. Errors name the field "logo".
func CheckLogo(u *app.Upload) error {
	switch {
	case len(u.Data) == 0:
		return app.InvalidField("logo", "The file is empty. Choose a PNG, JPEG or WebP image.")
	case len(u.Data) > MaxLogoBytes:
		return app.InvalidField("logo", "The logo is larger than 512 KB. Use a smaller image (a logo 64 pixels high is plenty).")
	}
	ct := http.DetectContentType(u.Data)
	if _, ok := logoTypes[ct]; !ok {
		return app.InvalidField("logo", "Use a PNG, JPEG or WebP image. SVG and other formats are not accepted.")
	}
	u.ContentType = ct
	return nil
}

// logoDir is where the workspace's logos are kept, in its files directory.
func (db *DB) logoDir() string { return filepath.Join(db.FilesDir(), "portal") }

// logoRel is a logo's path in the files directory, as replicated.
func logoRel(name string) string { return "portal/" + filepath.Base(name) }

// SetBranding saves how the public pages look, with a SettingsChanged
// event (old and new values) in the same transaction. A logo, if given,
// replaces the current one; removeLogo removes it. The new logo is written
// (and synced) before the row commits, and the old one is deleted after,
// so a crash never leaves the pages pointing at a missing file. It returns
// the branding as saved.
func (db *DB) SetBranding(ctx context.Context, b app.Branding, logo *app.Upload, removeLogo bool, actor app.Actor) (app.Branding, error) {
	errs := &app.Error{Code: app.EINVALID, Message: "Check the branding."}
	if err := b.Check(); err != nil {
		errs.Fields = append(errs.Fields, app.ErrorFields(err)...)
	}
	if logo != nil {
		if err := CheckLogo(logo); err != nil {
			errs.Fields = append(errs.Fields, app.ErrorFields(err)...)
		}
	}
	if err := errs.OrNil(); err != nil {
		return b, err
	}

	var newFile, written string
	if logo != nil {
		sum := sha256.Sum256(logo.Data)
		newFile = "logo-" + hex.EncodeToString(sum[:16]) + logoTypes[logo.ContentType]
		var err error
		if written, err = db.writeLogo(newFile, logo.Data); err != nil {
			return b, err
		}
	}
	var oldFile string
	err := db.update(ctx, func(tx *sql.Tx) error {
		var old app.Branding
		if err := tx.QueryRowContext(ctx, `SELECT portal_name, portal_accent, portal_footer, portal_logo_file
			FROM workspace_settings WHERE id = 1`).Scan(&old.Name, &old.Accent, &old.Footer, &oldFile); err != nil {
			return fmt.Errorf("read branding: %w", err)
		}
		file := oldFile
		switch {
		case logo != nil:
			file = newFile
		case removeLogo:
			file = ""
		}
		if _, err := tx.ExecContext(ctx, `UPDATE workspace_settings SET portal_name = ?, portal_accent = ?,
			portal_footer = ?, portal_logo_file = ? WHERE id = 1`, b.Name, b.Accent, b.Footer, file); err != nil {
			return fmt.Errorf("save branding: %w", err)
		}
		old.LogoURL, b.LogoURL = logoURL(oldFile), logoURL(file)
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventSettingsChanged, "workspace", db.TenantID, actor,
			map[string]any{"portal_branding": map[string]any{"from": old, "to": b}}))
	})
	if err != nil {
		if written != "" {
			os.Remove(written)
			db.replicateFiles(logoRel(newFile))
		}
		return b, err
	}
	if oldFile != "" && b.LogoURL != logoURL(oldFile) && logoName.MatchString(oldFile) {
		// Best effort: a file left behind is only disk space.
		os.Remove(filepath.Join(db.logoDir(), oldFile))
		db.replicateFiles(logoRel(oldFile))
	}
	return b, nil
}

// writeLogo stores a logo under its content-addressed name. It returns the
// path it wrote, or "" if the same logo was already there (nothing to
// remove should the save fail).
func (db *DB) writeLogo(name string, data []byte) (string, error) {
	dir := db.logoDir()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("logo directory: %w", err)
	}
	path := filepath.Join(dir, name)
	if err := writeSynced(path, data); errors.Is(err, os.ErrExist) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("store logo: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	db.replicateFiles(logoRel(name))
	return path, nil
}

// LogoFile returns the path and content type of the workspace's current
// logo if name is its file name; any other name (an old logo, a guess, a
// path) is not found.
func (db *DB) LogoFile(ctx context.Context, name string) (path, contentType string, err error) {
	var current string
	if err := db.reader().QueryRowContext(ctx, `SELECT portal_logo_file FROM workspace_settings WHERE id = 1`).Scan(&current); err != nil {
		return "", "", err
	}
	if current == "" || name != current || !logoName.MatchString(name) {
		return "", "", app.Errorf(app.ENOTFOUND, "File not found.")
	}
	for ct, ext := range logoTypes {
		if filepath.Ext(name) == ext {
			contentType = ct
		}
	}
	return filepath.Join(db.logoDir(), name), contentType, nil
}

// FormSigningKey returns the workspace's key for signing what its public
// forms hand out (a contact form's timestamp, a receipt), one per purpose.
// It is derived from the workspace's random secret salt (made when the
// workspace was created, never shown), so it needs no key of its own, and
// a token signed for one workspace or purpose is worthless in another.
func (db *DB) FormSigningKey(ctx context.Context, purpose string) ([]byte, error) {
	var salt string
	if err := db.reader().QueryRowContext(ctx, `SELECT suppression_salt FROM workspace_settings WHERE id = 1`).Scan(&salt); err != nil {
		return nil, fmt.Errorf("form key: %w", err)
	}
	if len(salt) < 16 {
		return nil, errors.New("form key: the workspace has no secret salt")
	}
	m := hmac.New(sha256.New, []byte(salt))
	m.Write([]byte("parley public form key\x00" + purpose))
	return m.Sum(nil), nil
}

// CustomDomain is a host name mapped to a workspace's public site.
type CustomDomain struct {
	Domain     string
	CreatedAt  time.Time
	VerifiedAt *time.Time
}

// TenantDomains lists the custom domains mapped to a tenant, by name.
func (c *Control) TenantDomains(ctx context.Context, tenantID string) ([]CustomDomain, error) {
	return queryAll(ctx, c.p.read, func(row rowScanner) (CustomDomain, error) {
		var d CustomDomain
		var verified sql.NullTime
		if err := row.Scan(&d.Domain, &d.CreatedAt, &verified); err != nil {
			return d, err
		}
		d.CreatedAt = d.CreatedAt.UTC()
		if verified.Valid {
			t := verified.Time.UTC()
			d.VerifiedAt = &t
		}
		return d, nil
	}, `SELECT domain, created_at, verified_at FROM custom_domains WHERE tenant_id = ? ORDER BY domain`, tenantID)
}
