// Package static holds the CSS, JavaScript and images, embedded in the binary.
package static

import "embed"

// FS holds the static files served under /static.
//
//go:embed css js link.js
var FS embed.FS
