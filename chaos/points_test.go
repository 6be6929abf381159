package chaos

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/metronome-data/metronome/workflows"
)

// killPoint is a moment of a run named by its progress rather than by the
// clock, so a kill lands at the same place of the run however slow the
// machine: a stage and how far into it.
type killPoint struct {
	stage string
	// frac is, in collect, the share of the reference run's Spotify calls
	// made; in the other stages, the share of the stage.
	frac float64
	// after is, in a stage other than collect, how long after the stage
	// started the point is: frac of lateShare of the reference run's time
	// in the stage.
	after time.Duration
}

func (p killPoint) String() string { return fmt.Sprintf("%s %.0f%%", p.stage, 100*p.frac) }

// killStages are the stages kills are drawn over; resolve and manifest
// take a few milliseconds.
var killStages = []string{workflows.StageCollect, workflows.StageClean, workflows.StageStore, workflows.StageAggregate}

// killPoints draws n seeded-random points over the reference run's
// collect, clean, store and aggregate stages (see drawPoints), with at most
// one after collect: further ones are redrawn within collect. Collect's
// batches run concurrently, so the heartbeat timeouts that kills in it
// cost overlap, while each kill of a single-activity stage costs its full
// HeartbeatTimeout (20 s in workflows/options.go).
func killPoints(seed uint64, n int, stageMillis map[string]int64) []killPoint {
	rng := rand.New(rand.NewPCG(seed, 0x6b112))
	points := drawPoints(seed, n, stageMillis, killStages)
	late := false
	for i, p := range points {
		if p.stage == workflows.StageCollect {
			continue
		}
		if late {
			points[i] = killPoint{stage: workflows.StageCollect, frac: rng.Float64()}
		}
		late = true
	}
	sortPoints(points)
	return points
}

// lateShare is the share of a stage after collect that kills land in.
const lateShare = 0.8

// drawPoints draws n seeded-random points over stages, weighted by the
// reference run's time in each (stageMillis, from its manifest) and
// stratified, one in each n-th of that time, so they spread over the run.
func drawPoints(seed uint64, n int, stageMillis map[string]int64, stages []string) []killPoint {
	rng := rand.New(rand.NewPCG(seed, 0x6b111))
	durations := make([]float64, len(stages))
	total := 0.0
	for i, s := range stages {
		durations[i] = math.Max(float64(stageMillis[s]), 1)
		total += durations[i]
	}
	points := make([]killPoint, 0, n)
	for i := range n {
		x := (float64(i) + rng.Float64()) / float64(n) * total
		j := 0
		for j < len(durations)-1 && x >= durations[j] {
			x -= durations[j]
			j++
		}
		p := killPoint{stage: stages[j], frac: math.Min(x/durations[j], 1)}
		if p.stage != workflows.StageCollect {
			// Within the first 80% of the reference's time in the stage,
			// so a run a little faster than the reference is still in it.
			p.after = time.Duration(lateShare * p.frac * durations[j] * float64(time.Millisecond))
		}
		points = append(points, p)
	}
	sortPoints(points)
	return points
}

func sortPoints(points []killPoint) {
	slices.SortFunc(points, func(a, b killPoint) int {
		if d := stageIndex(a.stage) - stageIndex(b.stage); d != 0 {
			return d
		}
		switch {
		case a.frac < b.frac:
			return -1
		case a.frac > b.frac:
			return 1
		}
		return 0
	})
}

// stageIndex is the position of a stage in the run; done and unknown
// stages come after every stage.
func stageIndex(stage string) int {
	if i := slices.Index(workflows.Stages, stage); i >= 0 {
		return i
	}
	return len(workflows.Stages)
}

// waitForPoint waits until the run reaches p or has passed it, or has
// ended. In collect the fake Spotify's count of calls (apiCalls, against
// the reference run's refCalls) tells where the run is: the progress query
// lags behind the batches while a killed worker's workflow task waits out
// its sticky queue. After collect the progress query's stage does.
func waitForPoint(ctx context.Context, c client.Client, run client.WorkflowRun, p killPoint, apiCalls func() int, refCalls int) {
	var entered time.Time
	for running(ctx, c, run.GetID(), run.GetRunID()) {
		if p.stage == workflows.StageCollect {
			if float64(apiCalls()) >= p.frac*float64(refCalls) {
				return
			}
		} else if pr, ok := progress(ctx, c, run); ok {
			at := stageIndex(pr.Stage)
			switch {
			case at > stageIndex(p.stage):
				return
			case at == stageIndex(p.stage):
				if entered.IsZero() {
					entered = time.Now()
				}
				if time.Since(entered) >= p.after {
					return
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// progress asks the run where it is. A query needs a live worker, so it
// fails while none is up.
func progress(ctx context.Context, c client.Client, run client.WorkflowRun) (workflows.Progress, bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var p workflows.Progress
	v, err := c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.ProgressQuery)
	if err != nil || v.Get(&p) != nil {
		return p, false
	}
	return p, true
}

func TestKillPoints(t *testing.T) {
	stageMillis := map[string]int64{
		workflows.StageResolve: 40, workflows.StageCollect: 9000, workflows.StageClean: 1100,
		workflows.StageStore: 500, workflows.StageAggregate: 800, workflows.StageManifest: 5,
	}
	for seed := uint64(1); seed <= 50; seed++ {
		points := killPoints(seed, 5, stageMillis)
		require.Len(t, points, 5)
		require.Equal(t, points, killPoints(seed, 5, stageMillis), "seeded: the same points again")
		late := 0
		for i, p := range points {
			require.Contains(t, killStages, p.stage)
			require.True(t, p.frac >= 0 && p.frac <= 1, "frac %v", p.frac)
			if p.stage != workflows.StageCollect {
				late++
				require.InDelta(t, lateShare*p.frac*float64(stageMillis[p.stage]), float64(p.after)/float64(time.Millisecond), 0.01)
			}
			if i > 0 {
				prev := points[i-1]
				require.True(t, stageIndex(prev.stage) < stageIndex(p.stage) ||
					(prev.stage == p.stage && prev.frac <= p.frac), "sorted: %v before %v", prev, p)
			}
		}
		// The last fifth of the run is after collect, so exactly one
		// point is; the others are in collect.
		require.Equal(t, 1, late, "seed %d: %v", seed, points)
	}

	only := []string{workflows.StageClean, workflows.StageStore, workflows.StageAggregate}
	for seed := uint64(1); seed <= 20; seed++ {
		p := drawPoints(seed, 1, stageMillis, only)[0]
		require.Contains(t, only, p.stage)
	}
}
