// Package views holds the console's HTML templates, embedded in the binary.
package views

import "embed"

// FS holds every template; names are paths without the .html extension (e.g. "apps/index").
//
//go:embed layouts partials console connect
var FS embed.FS
