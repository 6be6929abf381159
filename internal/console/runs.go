package console

import "net/http"

// runsPage is /runs: freshness, schedules, runs in progress, failures.
func (c *Console) runsPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "runs", page{Name: "runs", Title: "Runs"})
}
