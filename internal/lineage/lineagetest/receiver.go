// Package lineagetest is an in-process OpenLineage backend for tests: it
// accepts run events where Marquez does (POST /api/v1/lineage), checks
// each against the spec (lineage.Check) and keeps them.
package lineagetest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/metronome-data/metronome/internal/lineage"
)

// Event is the part of a received run event tests look at.
type Event struct {
	EventType string `json:"eventType"`
	EventTime string `json:"eventTime"`
	Run       struct {
		RunID  string                     `json:"runId"`
		Facets map[string]json.RawMessage `json:"facets"`
	} `json:"run"`
	Job struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"job"`
	Inputs  []Dataset `json:"inputs"`
	Outputs []Dataset `json:"outputs"`
}

// Dataset is a received dataset with its row count, if it had one.
type Dataset struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Facets    struct {
		Schema *struct {
			Fields []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"fields"`
		} `json:"schema"`
	} `json:"facets"`
	InputFacets struct {
		Stats *Stats `json:"inputStatistics"`
	} `json:"inputFacets"`
	OutputFacets struct {
		Stats *Stats `json:"outputStatistics"`
	} `json:"outputFacets"`
}

// Stats are a dataset's statistics facet.
type Stats struct {
	RowCount  int64 `json:"rowCount"`
	Size      int64 `json:"size"`
	FileCount int64 `json:"fileCount"`
}

// Receiver keeps the events it accepted and the problems of those it
// refused.
type Receiver struct {
	mu       sync.Mutex
	events   []Event
	invalid  []string
	auth     []string
	bytes    int
	statusOK bool
}

// Start serves a Receiver on a free port of 127.0.0.1 until the test ends;
// url is its base URL, the value of lineage.url (OPENLINEAGE_URL).
func Start(t testing.TB) (r *Receiver, url string) {
	t.Helper()
	r = &Receiver{statusOK: true}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /"+lineage.DefaultEndpoint, r.post)
	srv := httptest.NewServer(mux) // 127.0.0.1, a port of the OS's choosing
	t.Cleanup(srv.Close)
	return r, srv.URL
}

// Refuse makes the receiver answer 503 to every event, as a backend that
// is down.
func (r *Receiver) Refuse() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statusOK = false
}

func (r *Receiver) post(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.auth = append(r.auth, req.Header.Get("Authorization"))
	if !r.statusOK {
		http.Error(w, "down for the test", http.StatusServiceUnavailable)
		return
	}
	if err == nil {
		err = lineage.Check(body)
	}
	var ev Event
	if err == nil {
		err = json.Unmarshal(body, &ev)
	}
	if err != nil {
		r.invalid = append(r.invalid, err.Error()+"\n"+string(body))
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.events = append(r.events, ev)
	r.bytes += len(body)
	w.WriteHeader(http.StatusCreated) // Marquez's answer
}

// Events are the valid events received, in order of arrival.
func (r *Receiver) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Invalid are the refused events, each with why.
func (r *Receiver) Invalid() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.invalid...)
}

// Bytes is the size of the valid events' JSON, all together.
func (r *Receiver) Bytes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bytes
}

// Authorization are the Authorization headers of every post.
func (r *Receiver) Authorization() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.auth...)
}

// ByJob groups the events by job name, each job's in order of arrival.
func ByJob(events []Event) map[string][]Event {
	out := map[string][]Event{}
	for _, e := range events {
		out[e.Job.Name] = append(out[e.Job.Name], e)
	}
	return out
}

// Rows are the row counts of a side's datasets by name (input statistics
// for inputs, output statistics for outputs).
func Rows(datasets []Dataset) map[string]int64 {
	out := map[string]int64{}
	for _, d := range datasets {
		if s := d.OutputFacets.Stats; s != nil {
			out[d.Name] = s.RowCount
		} else if s := d.InputFacets.Stats; s != nil {
			out[d.Name] = s.RowCount
		}
	}
	return out
}
