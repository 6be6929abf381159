package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/curate"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/tables"
)

// Clean validates, normalizes and de-duplicates the raw objects of the date
// into the curated Parquet tables, and quarantines what it rejects with a
// reason code. Too many rejects fail the run with a non-retryable
// DataQualityError, after the quarantine is written. A request run
// (in.Scope) cleans the raw objects of its scope into its scope.
func (a *Activities) Clean(ctx context.Context, in contract.CleanInput) (res contract.CleanResult, err error) {
	defer reportLineage(ctx, a, cleanLineage, in)(&res, &err)
	s, err := a.scoped(in.Scope)
	if err != nil {
		return contract.CleanResult{}, err
	}
	return s.clean(ctx, in)
}

func (a *Activities) clean(ctx context.Context, in contract.CleanInput) (contract.CleanResult, error) {
	defer a.observe("clean", time.Now())
	if err := a.removeStaleBatches(ctx, in.Date, in.Batches); err != nil {
		return contract.CleanResult{}, err
	}
	resumeAfter := resumePoint[int](ctx)
	ctx, stop := keepAlive(ctx, keepAliveEvery)
	defer stop()
	report, err := curate.Run(ctx, a.Lake, in.Date, curate.Options{
		MaxRejectRate: a.Settings.MaxRejectRate,
		Market:        a.Settings.Market,
		ResumeAfter:   resumeAfter,
		Progress:      func(done int, _ string) { heartbeat(ctx, done) },
		LateCapture:   in.LateCapture,
	})
	q := contract.QualityReport{
		RowsIn: report.RowsIn, RowsOut: report.RowsOut,
		Rejected: report.Rejected, QuarantineKeys: report.QuarantineKeys,
	}
	for entity, reasons := range report.Rejected {
		for reason, n := range reasons {
			a.Metrics.RecordReject(entity, reason, n)
		}
	}
	a.Metrics.RecordChecked(report.Checked())
	var dq *curate.DataQualityError
	if errors.As(err, &dq) {
		return contract.CleanResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("clean %s: %v; rejected records are in quarantine/", in.Date, err), contract.ErrDataQuality, err, q)
	}
	if err != nil {
		return contract.CleanResult{}, fmt.Errorf("clean %s: %w", in.Date, err)
	}
	for table, n := range report.RowsOut {
		a.Metrics.RecordClean(table, n)
	}
	keys := map[string][]string{}
	for _, table := range tables.All {
		k, err := a.Lake.List(ctx, lake.CuratedPrefix(table, in.Date))
		if err != nil {
			return contract.CleanResult{}, fmt.Errorf("list curated %s of %s: %w", table, in.Date, err)
		}
		if len(k) > 0 {
			keys[table] = k
		}
	}
	a.logger(ctx).Info("cleaned", zap.String("date", in.Date), zap.Any("rows_out", q.RowsOut),
		zap.Int("rejected", q.RejectedTotal()))
	return contract.CleanResult{Report: q, CuratedKeys: keys}, nil
}

// removeStaleBatches deletes the raw objects of batches the run did not
// write: an earlier run of the date over more artists left them.
func (a *Activities) removeStaleBatches(ctx context.Context, date string, batches int) error {
	if batches <= 0 {
		return nil
	}
	for _, entity := range curate.Entities {
		keys, err := a.Lake.List(ctx, lake.RawPrefix(entity, date))
		if err != nil {
			return fmt.Errorf("list raw %s of %s: %w", entity, date, err)
		}
		for _, key := range keys {
			batch, err := lake.ParseBatchKey(key)
			if err != nil || batch < batches {
				continue
			}
			if err := a.Lake.Delete(ctx, key); err != nil && !errors.Is(err, lake.ErrNotFound) {
				return fmt.Errorf("remove stale %s: %w", key, err)
			}
		}
	}
	return nil
}
