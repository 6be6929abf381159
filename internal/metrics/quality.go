package metrics

import "time"

// The inputs of deploy/prometheus/alerts.yml that no other metric gives:
// the reject share's denominator and limit, and how fresh the lake is.

// RecordChecked counts n raw records checked by the clean stage, rejected
// or not: metronome_records_rejected_total ÷ this is the reject share that
// pipeline.max_reject_rate bounds.
func (p *Pipeline) RecordChecked(n int) {
	if p == nil || n <= 0 {
		return
	}
	p.checked.Add(float64(n))
}

// SetMaxRejectRate exports the worker's pipeline.max_reject_rate, the
// threshold of the reject-share alert.
func (p *Pipeline) SetMaxRejectRate(rate float64) {
	if p == nil {
		return
	}
	p.maxRejectRate.Set(rate)
}

// SetLastCompletePartition exports the newest date with a complete
// partition as the Unix time of its start (00:00 UTC); the zero time
// exports 0, none.
func (p *Pipeline) SetLastCompletePartition(day time.Time) {
	if p == nil {
		return
	}
	if day.IsZero() {
		p.lastPartition.Set(0)
		return
	}
	y, m, d := day.Date()
	p.lastPartition.Set(float64(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()))
}
