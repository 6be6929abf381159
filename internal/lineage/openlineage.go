package lineage

// This file is the one that speaks OpenLineage: the spec's JSON of an
// Event and its HTTP transport. The official Go client
// (github.com/OpenLineage/openlineage/client/go) could not be fetched when
// this was written (the module proxy refused it); to adopt it, replace this
// file with one whose Client builds its events from Event and sends them
// with its HTTP transport.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// The versions of the spec and of each facet the events conform to.
const (
	RunEventSchemaURL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
	parentSchemaURL   = "https://openlineage.io/spec/facets/1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet"
	nominalSchemaURL  = "https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet"
	errorSchemaURL    = "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
	jobTypeSchemaURL  = "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
	schemaSchemaURL   = "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
	inStatsSchemaURL  = "https://openlineage.io/spec/facets/1-0-0/InputStatisticsInputDatasetFacet.json#/$defs/InputStatisticsInputDatasetFacet"
	outStatsSchemaURL = "https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet"
)

// DefaultEndpoint is where events are posted under the backend's URL: the
// OpenLineage HTTP transport's default, Marquez's route.
const DefaultEndpoint = "api/v1/lineage"

// DefaultTimeout bounds each post, so a backend that hangs delays a stage
// by at most this, twice.
const DefaultTimeout = 5 * time.Second

// Client posts events as OpenLineage JSON to a backend such as Marquez.
type Client struct {
	endpoint  string
	namespace string
	producer  string
	apiKey    string
	http      *http.Client
	logger    *zap.Logger
	events    *prometheus.CounterVec
}

var _ Emitter = (*Client)(nil)

// Option configures a Client.
type Option func(*Client)

// WithNamespace is the namespace of the jobs (default "metronome").
func WithNamespace(ns string) Option { return func(c *Client) { c.namespace = ns } }

// WithProducer is the URL naming the software that produced the events.
func WithProducer(u string) Option { return func(c *Client) { c.producer = u } }

// WithAPIKey sends Authorization: Bearer key with every event.
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// WithTimeout bounds each post (default DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.http.Timeout = d } }

// WithLogger logs the events that could not be sent.
func WithLogger(l *zap.Logger) Option { return func(c *Client) { c.logger = l } }

// NewClient returns a Client posting to baseURL's DefaultEndpoint.
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("lineage.url %q: want an http:// or https:// URL such as http://marquez:5000", baseURL)
	}
	c := &Client{
		endpoint:  strings.TrimSuffix(baseURL, "/") + "/" + DefaultEndpoint,
		namespace: "metronome",
		producer:  "https://github.com/metronome-data/metronome",
		http:      &http.Client{Timeout: DefaultTimeout},
		logger:    zap.NewNop(),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metronome_lineage_events_total",
			Help: "OpenLineage run events by result: sent, or failed (the backend was down or refused them; the stage went on).",
		}, []string{"result"}),
	}
	for _, o := range opts {
		o(c)
	}
	for _, r := range []string{"sent", "failed"} {
		c.events.WithLabelValues(r)
	}
	return c, nil
}

// Collector is the client's counter of events, for a Prometheus registry.
func (c *Client) Collector() prometheus.Collector { return c.events }

// Emit posts e. A failure is logged as a warning and counted, never
// returned: lineage is not worth failing a stage for. A cancelled ctx
// still lets the event go, so a cancelled stage reports its end.
func (c *Client) Emit(ctx context.Context, e Event) {
	if err := c.post(context.WithoutCancel(ctx), c.encode(e)); err != nil {
		c.events.WithLabelValues("failed").Inc()
		c.logger.Warn("lineage event not sent", zap.String("job", e.Job), zap.String("event", string(e.Type)),
			zap.String("run_id", e.RunID), zap.String("endpoint", c.endpoint), zap.Error(err))
		return
	}
	c.events.WithLabelValues("sent").Inc()
}

func (c *Client) post(ctx context.Context, ev runEvent) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s answered %s: %s", c.endpoint, resp.Status, bytes.TrimSpace(msg))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

// The spec's JSON, as much of it as metronome fills.
type (
	runEvent struct {
		EventType string    `json:"eventType"`
		EventTime string    `json:"eventTime"`
		Producer  string    `json:"producer"`
		SchemaURL string    `json:"schemaURL"`
		Run       run       `json:"run"`
		Job       job       `json:"job"`
		Inputs    []dataset `json:"inputs"`
		Outputs   []dataset `json:"outputs"`
	}
	run struct {
		RunID  string         `json:"runId"`
		Facets map[string]any `json:"facets,omitempty"`
	}
	job struct {
		Namespace string         `json:"namespace"`
		Name      string         `json:"name"`
		Facets    map[string]any `json:"facets,omitempty"`
	}
	dataset struct {
		Namespace    string         `json:"namespace"`
		Name         string         `json:"name"`
		Facets       map[string]any `json:"facets,omitempty"`
		InputFacets  map[string]any `json:"inputFacets,omitempty"`
		OutputFacets map[string]any `json:"outputFacets,omitempty"`
	}
	// facet is the part every facet has.
	facet struct {
		Producer  string `json:"_producer"`
		SchemaURL string `json:"_schemaURL"`
	}
	parentFacet struct {
		facet
		Run struct {
			RunID string `json:"runId"`
		} `json:"run"`
		Job struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"job"`
	}
	nominalTimeFacet struct {
		facet
		NominalStartTime string `json:"nominalStartTime"`
		NominalEndTime   string `json:"nominalEndTime"`
	}
	errorMessageFacet struct {
		facet
		Message             string `json:"message"`
		ProgrammingLanguage string `json:"programmingLanguage"`
	}
	jobTypeFacet struct {
		facet
		ProcessingType string `json:"processingType"`
		Integration    string `json:"integration"`
		JobType        string `json:"jobType"`
	}
	schemaFacet struct {
		facet
		Fields []schemaField `json:"fields"`
	}
	schemaField struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	statisticsFacet struct {
		facet
		RowCount  int64 `json:"rowCount"`
		Size      int64 `json:"size,omitempty"`
		FileCount int64 `json:"fileCount,omitempty"`
	}
)

func (c *Client) encode(e Event) runEvent {
	f := func(schemaURL string) facet { return facet{Producer: c.producer, SchemaURL: schemaURL} }
	ev := runEvent{
		EventType: string(e.Type), EventTime: e.Time.UTC().Format(time.RFC3339Nano),
		Producer: c.producer, SchemaURL: RunEventSchemaURL,
		Run: run{RunID: e.RunID, Facets: map[string]any{}},
		Job: job{Namespace: c.namespace, Name: e.Job, Facets: map[string]any{
			"jobType": jobTypeFacet{facet: f(jobTypeSchemaURL), ProcessingType: "BATCH", Integration: "METRONOME", JobType: "TASK"},
		}},
		Inputs: []dataset{}, Outputs: []dataset{},
	}
	if p := e.Parent; p != nil {
		pf := parentFacet{facet: f(parentSchemaURL)}
		pf.Run.RunID, pf.Job.Namespace, pf.Job.Name = p.RunID, c.namespace, p.Job
		ev.Run.Facets["parent"] = pf
	}
	if d, err := time.Parse(time.DateOnly, e.NominalDate); err == nil {
		ev.Run.Facets["nominalTime"] = nominalTimeFacet{facet: f(nominalSchemaURL),
			NominalStartTime: d.Format(time.RFC3339), NominalEndTime: d.AddDate(0, 0, 1).Format(time.RFC3339)}
	}
	if e.Err != nil {
		ev.Run.Facets["errorMessage"] = errorMessageFacet{facet: f(errorSchemaURL), Message: e.Err.Error(), ProgrammingLanguage: "Go"}
	}
	for _, d := range e.Inputs {
		ds := c.dataset(d)
		if d.Stats != nil {
			ds.InputFacets = map[string]any{"inputStatistics": statisticsFacet{facet: f(inStatsSchemaURL),
				RowCount: d.Stats.Rows, Size: d.Stats.Bytes, FileCount: d.Stats.Files}}
		}
		ev.Inputs = append(ev.Inputs, ds)
	}
	for _, d := range e.Outputs {
		ds := c.dataset(d)
		if d.Stats != nil {
			ds.OutputFacets = map[string]any{"outputStatistics": statisticsFacet{facet: f(outStatsSchemaURL),
				RowCount: d.Stats.Rows, Size: d.Stats.Bytes, FileCount: d.Stats.Files}}
		}
		ev.Outputs = append(ev.Outputs, ds)
	}
	return ev
}

func (c *Client) dataset(d Dataset) dataset {
	ds := dataset{Namespace: d.Namespace, Name: d.Name}
	if len(d.Fields) > 0 {
		fields := make([]schemaField, len(d.Fields))
		for i, fl := range d.Fields {
			fields[i] = schemaField(fl)
		}
		ds.Facets = map[string]any{"schema": schemaFacet{facet: facet{Producer: c.producer, SchemaURL: schemaSchemaURL}, Fields: fields}}
	}
	return ds
}
