package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/internal/workerproc"
	"github.com/metronome-data/metronome/workflows"
)

// workerProc is a worker binary running as its own OS process, so its
// memory is its own: the bench's server and fake are not in its RSS.
type workerProc struct {
	*workerproc.Process
	readyz string // URL of its /readyz
}

// workerEnv configures a worker process by environment, as an operator
// would: the Temporal server, the run's lake and serving store, the shared
// fake Spotify API and the artists file.
func workerEnv(temporalAddress, queue, dir, fakeURL, mode, artistsFile, metricsAddr string) []string {
	return []string{
		"TEMPORAL_ADDRESS=" + temporalAddress,
		"TEMPORAL_NAMESPACE=default",
		"METRONOME_TEMPORAL_TASK_QUEUE=" + queue,
		"METRONOME_TEMPORAL_SPOTIFY_TASK_QUEUE=" + queue + "-spotify",
		"METRONOME_DATA_DIR=" + dir,
		"METRONOME_LAKE_URL=file://" + filepath.ToSlash(filepath.Join(dir, "lake")),
		"METRONOME_SERVING_URL=sqlite://" + filepath.ToSlash(filepath.Join(dir, "serving.db")),
		"SPOTIFY_ID=" + spotifyfake.DefaultClientID,
		"SPOTIFY_SECRET=" + spotifyfake.DefaultClientSecret,
		"METRONOME_SPOTIFY_BASE_URL=" + fakeURL + "/v1/",
		"METRONOME_SPOTIFY_TOKEN_URL=" + fakeURL + "/api/token",
		"METRONOME_SPOTIFY_FAKE=false",
		"METRONOME_SPOTIFY_API_MODE=" + mode,
		"METRONOME_SPOTIFY_REQUESTS_PER_SECOND=" + strconv.FormatFloat(unlimitedRate, 'f', -1, 64),
		"METRONOME_ARTISTS_FILE=" + artistsFile,
		"METRONOME_WORKER_METRICS_ADDR=" + metricsAddr,
		"METRONOME_LOG_LEVEL=warn",
		// A worker sized for 500 MB (docs/PERFORMANCE.md, Memory).
		"METRONOME_ANALYTICS_MEMORY_LIMIT=" + workerDuckDBMemory,
		"METRONOME_WORKER_GO_MEMORY_LIMIT=" + workerGoMemory,
	}
}

// startWorkerProc starts bin in dir (where no config/metronome.yaml is)
// with env on top of the cleaned environment (workerproc.CleanEnv), its
// metrics on a free port; its output goes to dir/NAME.log.
func startWorkerProc(name, bin, dir string, env func(metricsAddr string) []string) (*workerProc, error) {
	port, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p, err := workerproc.Start("worker "+name, bin, workerproc.WithDir(dir), workerproc.WithEnv(env(addr)...),
		workerproc.WithLog(filepath.Join(dir, name+".log")))
	if err != nil {
		return nil, err
	}
	return &workerProc{Process: p, readyz: "http://" + addr + "/readyz"}, nil
}

// waitReady waits until the worker's /readyz answers 200: both its workers
// poll.
func (w *workerProc) waitReady(ctx context.Context, timeout time.Duration) error {
	return w.WaitReady(ctx, w.readyz, timeout)
}

// procMemory reads VmRSS and VmHWM (peak RSS) of pid from /proc, in bytes.
func procMemory(pid int) (rss, hwm int64, err error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read memory of pid %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		for _, f := range []struct {
			prefix string
			dst    *int64
		}{{"VmRSS:", &rss}, {"VmHWM:", &hwm}} {
			if rest, ok := strings.CutPrefix(line, f.prefix); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				if err != nil {
					return 0, 0, fmt.Errorf("parse %s of pid %d: %w", f.prefix, pid, err)
				}
				*f.dst = kb << 10
			}
		}
	}
	return rss, hwm, nil
}

// resetPeak restarts the kernel's peak-RSS count (VmHWM) of pid; it
// reports whether that worked.
func resetPeak(pid int) bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
}

// memoryWatch follows the RSS of worker processes through a run, stage by
// stage: sampled every sampleEvery, and the kernel's peak (VmHWM), reset
// whenever the run enters a stage, read when it leaves it, so a spike
// between two samples still counts.
type memoryWatch struct {
	pids []int

	mu        sync.Mutex
	stage     string // as last seen by the progress query
	hwmOK     bool   // the peak was reset when stage began
	stagePeak map[string]int64
	runPeak   int64 // samples and the stages' peaks
}

const sampleEvery = 50 * time.Millisecond

// windowStages are the stages whose peak is the memory figure.
var windowStages = []string{workflows.StageClean, workflows.StageStore, workflows.StageAggregate}

func newMemoryWatch(pids []int) *memoryWatch {
	return &memoryWatch{pids: pids, stagePeak: map[string]int64{}}
}

// progress moves the watch to the run's current stage.
func (m *memoryWatch) progress(p workflows.Progress) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.Stage == m.stage {
		return
	}
	m.closeStageLocked()
	m.stage = p.Stage
	m.hwmOK = true
	for _, pid := range m.pids {
		m.hwmOK = resetPeak(pid) && m.hwmOK
	}
}

// closeStageLocked credits the kernel's peak since the stage began to the
// stage.
func (m *memoryWatch) closeStageLocked() {
	if m.stage == "" {
		return
	}
	m.sampleLocked()
	if !m.hwmOK {
		return
	}
	for _, pid := range m.pids {
		if _, hwm, err := procMemory(pid); err == nil {
			m.stagePeak[m.stage] = max(m.stagePeak[m.stage], hwm)
			m.runPeak = max(m.runPeak, hwm)
		}
	}
}

func (m *memoryWatch) sampleLocked() {
	for _, pid := range m.pids {
		rss, _, err := procMemory(pid)
		if err != nil {
			continue // the process ended
		}
		m.runPeak = max(m.runPeak, rss)
		if m.stage != "" {
			m.stagePeak[m.stage] = max(m.stagePeak[m.stage], rss)
		}
	}
}

// run samples until ctx is done.
func (m *memoryWatch) run(ctx context.Context) {
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	for {
		m.mu.Lock()
		m.sampleLocked()
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// finish closes the last stage and returns the peak of the clean, store
// and aggregate stages, the peak of the whole run and each stage's, in
// bytes.
func (m *memoryWatch) finish() (window, run int64, stages map[string]int64, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closeStageLocked()
	m.stage = ""
	seen := false
	for _, s := range windowStages {
		if v, ok := m.stagePeak[s]; ok {
			seen = true
			window = max(window, v)
		}
	}
	if !seen {
		err = errors.New("no sample fell in the clean, store or aggregate stage")
	}
	return window, m.runPeak, maps.Clone(m.stagePeak), err
}

// BuildWorker builds the worker binary (./worker of this module) into dir
// with the go tool, for runs whose workers are separate processes.
func BuildWorker(ctx context.Context, dir string) (string, error) {
	bins, err := workerproc.Build(ctx, dir, "worker")
	if err != nil {
		return "", err
	}
	return bins[0], nil
}
