package lineage

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"time"
)

// Check reports how the JSON of a run event departs from the OpenLineage
// 2-0-2 spec's required fields and formats, nil when it does not: eventTime
// a date-time, producer and schemaURL URIs, eventType one of the spec's,
// run.runId a UUID, job and every dataset with a namespace and a name,
// every facet with _producer and _schemaURL URIs, and the required fields of
// the standard facets metronome sends. It judges the bytes on the wire, so
// it checks any producer's events, this package's or the official client's.
func Check(body []byte) error {
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	c := &checker{}
	c.dateTime(ev, "eventTime")
	c.uri(ev, "producer")
	c.uri(ev, "schemaURL")
	if t, ok := ev["eventType"]; ok && !slices.Contains(eventTypes, t) {
		c.failf("eventType %v: want one of %v", t, eventTypes)
	}
	if r := c.object(ev, "run", "run"); r != nil {
		c.uuid(r, "run.runId", "runId")
		c.facets(r, "run.facets", "facets")
	}
	if j := c.object(ev, "job", "job"); j != nil {
		c.nonEmpty(j, "job.namespace", "namespace")
		c.nonEmpty(j, "job.name", "name")
		c.facets(j, "job.facets", "facets")
	}
	for _, side := range []string{"inputs", "outputs"} {
		c.datasets(ev, side)
	}
	return errors.Join(c.errs...)
}

var eventTypes = []any{"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

type checker struct{ errs []error }

func (c *checker) failf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

// object returns m[key] as an object, reporting it missing or of another
// type; path names it in the report.
func (c *checker) object(m map[string]any, path, key string) map[string]any {
	v, ok := m[key].(map[string]any)
	if !ok {
		c.failf("%s: want an object, got %v", path, m[key])
	}
	return v
}

func (c *checker) str(m map[string]any, path, key string) (string, bool) {
	s, ok := m[key].(string)
	if !ok {
		c.failf("%s: want a string, got %v", path, m[key])
	}
	return s, ok
}

func (c *checker) nonEmpty(m map[string]any, path, key string) {
	if s, ok := c.str(m, path, key); ok && s == "" {
		c.failf("%s: empty", path)
	}
}

func (c *checker) dateTime(m map[string]any, key string) {
	c.dateTimeAt(m, key, key)
}

func (c *checker) dateTimeAt(m map[string]any, path, key string) {
	if s, ok := c.str(m, path, key); ok {
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			c.failf("%s %q: want an RFC 3339 date-time", path, s)
		}
	}
}

func (c *checker) uri(m map[string]any, key string) { c.uriAt(m, key, key) }

func (c *checker) uriAt(m map[string]any, path, key string) {
	if s, ok := c.str(m, path, key); ok {
		if u, err := url.Parse(s); err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "") {
			c.failf("%s %q: want an absolute URI", path, s)
		}
	}
}

func (c *checker) uuid(m map[string]any, path, key string) {
	if s, ok := c.str(m, path, key); ok && !uuidPattern.MatchString(s) {
		c.failf("%s %q: want a UUID", path, s)
	}
}

func (c *checker) count(m map[string]any, path, key string) {
	v, ok := m[key]
	if !ok {
		return
	}
	n, isNum := v.(float64)
	if !isNum || n < 0 || n != math.Trunc(n) {
		c.failf("%s %v: want a count (an integer ≥ 0)", path, v)
	}
}

func (c *checker) datasets(ev map[string]any, side string) {
	v, ok := ev[side]
	if !ok {
		return
	}
	list, ok := v.([]any)
	if !ok {
		c.failf("%s: want an array, got %v", side, v)
		return
	}
	for i, d := range list {
		path := fmt.Sprintf("%s[%d]", side, i)
		ds, ok := d.(map[string]any)
		if !ok {
			c.failf("%s: want an object, got %v", path, d)
			continue
		}
		c.nonEmpty(ds, path+".namespace", "namespace")
		c.nonEmpty(ds, path+".name", "name")
		for _, key := range []string{"facets", "inputFacets", "outputFacets"} {
			c.facets(ds, path+"."+key, key)
		}
	}
}

// facets checks m[key], when present: every facet an object with _producer
// and _schemaURL, the standard ones with their required fields.
func (c *checker) facets(m map[string]any, path, key string) {
	v, ok := m[key]
	if !ok {
		return
	}
	all, ok := v.(map[string]any)
	if !ok {
		c.failf("%s: want an object, got %v", path, v)
		return
	}
	names := make([]string, 0, len(all))
	for name := range all {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := path + "." + name
		f, ok := all[name].(map[string]any)
		if !ok {
			c.failf("%s: want an object, got %v", p, all[name])
			continue
		}
		c.uriAt(f, p+"._producer", "_producer")
		c.uriAt(f, p+"._schemaURL", "_schemaURL")
		c.standardFacet(f, p, name)
	}
}

func (c *checker) standardFacet(f map[string]any, path, name string) {
	switch name {
	case "parent":
		if r := c.object(f, path+".run", "run"); r != nil {
			c.uuid(r, path+".run.runId", "runId")
		}
		if j := c.object(f, path+".job", "job"); j != nil {
			c.nonEmpty(j, path+".job.namespace", "namespace")
			c.nonEmpty(j, path+".job.name", "name")
		}
	case "nominalTime":
		c.dateTimeAt(f, path+".nominalStartTime", "nominalStartTime")
		if _, ok := f["nominalEndTime"]; ok {
			c.dateTimeAt(f, path+".nominalEndTime", "nominalEndTime")
		}
	case "errorMessage":
		c.str(f, path+".message", "message")
		c.str(f, path+".programmingLanguage", "programmingLanguage")
	case "jobType":
		c.str(f, path+".processingType", "processingType")
		c.str(f, path+".integration", "integration")
	case "schema":
		fields, ok := f["fields"].([]any)
		if !ok {
			c.failf("%s.fields: want an array, got %v", path, f["fields"])
			return
		}
		for i, fl := range fields {
			p := fmt.Sprintf("%s.fields[%d]", path, i)
			if m, ok := fl.(map[string]any); ok {
				c.nonEmpty(m, p+".name", "name")
			} else {
				c.failf("%s: want an object, got %v", p, fl)
			}
		}
	case "inputStatistics", "outputStatistics":
		for _, k := range []string{"rowCount", "size", "fileCount"} {
			c.count(f, path+"."+k, k)
		}
	}
}
