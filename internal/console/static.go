package console

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var staticFiles embed.FS

// staticRoot is static/ served at /static/.
var staticRoot, _ = fs.Sub(staticFiles, "static")

var staticServer = http.StripPrefix("/static/", http.FileServerFS(staticRoot))

// serveStatic serves the embedded CSS (and JS, for interaction only).
// Their names carry no version, so a browser revalidates them.
func serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	staticServer.ServeHTTP(w, r)
}

// serveFavicon serves the console's icon, so a browser's request for it
// does not fail.
func serveFavicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "max-age=86400")
	http.ServeFileFS(w, r, staticRoot, "favicon.svg")
}
