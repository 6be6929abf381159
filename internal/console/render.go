package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"go.uber.org/zap"
)

//go:embed templates/*.html
var templateFiles embed.FS

// templateFuncs are the functions every template may call. A page file
// adds its own in an init func (templateFuncs["name"] = fn) before New
// parses the templates.
var templateFuncs = template.FuncMap{
	"pct":   percent,
	"bytes": humanBytes,
	"age":   humanAge,
	"join":  strings.Join,
}

// page is what the layout renders: the data-page marker, the title, the
// banners above the content, and the page's own data.
type page struct {
	// Name is the data-page marker of <main>: partitions, date, runs, …
	Name  string
	Title string
	// Banners are warnings above the content, such as Temporal not
	// answering.
	Banners []string
	// Query is the text of the artist search box.
	Query string
	Data  any
	// LoggedIn shows the logout link.
	LoggedIn bool
}

// pageSet holds one template per page file, each parsed with the layout.
type pageSet map[string]*template.Template

// parsePages parses templates/layout.html with each other template file:
// a page file defines "main", its content.
func parsePages() (pageSet, error) {
	layout, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("console: parse layout: %w", err)
	}
	files, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	set := pageSet{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFiles, f)
		if err != nil {
			return nil, fmt.Errorf("console: parse %s: %w", f, err)
		}
		set[name] = t
	}
	return set, nil
}

// render writes the page of template tmpl (templates/TMPL.html) with
// status. The page is rendered to a buffer first, so a template error is
// a 500 page rather than half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, tmpl string, p page) {
	t, ok := c.pages[tmpl]
	if !ok {
		c.log.Error("no such template", zap.String("template", tmpl))
		http.Error(w, "console: no template "+tmpl, http.StatusInternalServerError)
		return
	}
	if p.Query == "" {
		p.Query = r.URL.Query().Get("q")
	}
	p.LoggedIn = c.auth.sessionOf(r)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		c.log.Error("render page", zap.String("template", tmpl), zap.Error(err))
		if tmpl != "error" {
			c.fail(w, r, http.StatusInternalServerError, "Page failed", "The page could not be rendered: "+err.Error())
			return
		}
		http.Error(w, "console: render the error page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// errorData is the content of the error page.
type errorData struct {
	Status  int
	Title   string
	Message string
}

// fail answers status with a page saying what went wrong and what to do:
// 400 for bad input, 404 for unknown dates and artists, 500/503 for a
// backend that failed.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	if status >= 500 {
		c.log.Warn("page failed", zap.String("path", r.URL.Path), zap.Int("status", status), zap.String("error", msg))
	}
	c.render(w, r, status, "error", page{Name: "error", Title: title,
		Data: errorData{Status: status, Title: title, Message: msg}})
}

func percent(part, whole int) string {
	if whole <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(part)/float64(whole))
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// humanAge is d rounded for reading: 42s, 5m, 3h 10m, 2d 4h.
func humanAge(d time.Duration) string {
	switch {
	case d < 0:
		return "in the future"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}
