// Package static embeds Parley's browser assets: htmx, its SSE extension,
// the stylesheet and icons. Files are served with a content hash in the URL
// so they can be cached for a year.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
)

//go:embed css js vendor/*.js favicon.svg
var files embed.FS

// FS is the embedded asset tree, rooted at the static directory.
var FS fs.FS = files

// versions maps an asset path to the first hex digits of its SHA-256,
// computed once at start-up from the embedded (immutable) files.
var versions = func() map[string]string {
	m := map[string]string{}
	fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[path] = hex.EncodeToString(sum[:])[:12]
		return nil
	})
	return m
}()

// URL returns the public URL of an embedded asset, with its content version.
func URL(path string) string {
	return "/static/" + path + "?v=" + versions[path]
}
