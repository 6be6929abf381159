package app

import (
	"net/url"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/lineage"
)

// newLineage is the OpenLineage client of lineage.url, nil when it is unset
// (lineage off).
func newLineage(cfg *config.Config, logger *zap.Logger) (*lineage.Client, error) {
	if cfg.Lineage.URL == "" {
		return nil, nil
	}
	return lineage.NewClient(cfg.Lineage.URL,
		lineage.WithNamespace(cfg.Lineage.Namespace),
		lineage.WithAPIKey(cfg.Lineage.APIKey),
		lineage.WithTimeout(cfg.Lineage.Timeout),
		lineage.WithProducer("https://github.com/metronome-data/metronome/tree/"+url.PathEscape(activities.CodeVersion())),
		lineage.WithLogger(logger.Named("lineage")))
}

// registerLineageMetrics adds the lineage client's event counter, if
// lineage is on, to the worker's /metrics.
func registerLineageMetrics(reg prometheus.Registerer, acts *activities.Activities, logger *zap.Logger) {
	c, ok := acts.Lineage.(*lineage.Client)
	if !ok {
		return
	}
	if err := reg.Register(c.Collector()); err != nil {
		logger.Warn("lineage events not counted in /metrics", zap.Error(err))
	}
}
