package console

import "net/http"

// datePage is /dates/YYYY-MM-DD: one date's manifest.
func (c *Console) datePage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "date", page{Name: "date", Title: r.PathValue("date")})
}
