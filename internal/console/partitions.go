package console

import "net/http"

// partitionsPage is /: the grid of dates × tables.
func (c *Console) partitionsPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "partitions", page{Name: "partitions", Title: "Partitions"})
}
