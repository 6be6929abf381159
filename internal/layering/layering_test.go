package layering

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/metronome-data/metronome"

// layers lists every package of the module by layer, lowest first. A package
// imports only packages of its own layer or a lower one; the exceptions are
// in forbidden. A new package must be added here, or the test fails.
var layers = [][]string{
	// Leaves: what the pipeline exchanges, and small utilities.
	{"internal/contract", "internal/tables", "internal/codec", "internal/logging", "internal/httpserve", "internal/parallel", "internal/nearly",
		"internal/webui", "internal/testpki", "internal/otlptest", "config", "deploy/healthcheck"},
	// Building blocks: storage, Spotify, metrics, replies, lineage, the
	// embedded server and the test servers. None knows about a stage.
	{"internal/lake", "internal/lake/laketest", "internal/curate", "internal/spotify", "internal/spotifyfake", "internal/serving",
		"internal/analytics", "internal/metrics", "internal/reply", "internal/lineage", "internal/lineage/lineagetest",
		"internal/botapi", "internal/devserver", "internal/devserver/devservertest", "internal/testservers",
		"internal/workerproc", "internal/loadgen"},
	// The stages: deterministic workflow code and the activities.
	{"workflows", "activities"},
	// Readers of what the stages wrote: partitions, runs, the console.
	{"internal/partitions", "internal/runs", "internal/console", "internal/benchlake"},
	// Wiring: binaries, the CLI, bench, chaos and the deployment checks.
	{"worker/app", "worker", "starter", "bench", "chaos", "deploy", "internal/layering"},
}

// forbidden are imports the layers allow but the architecture does not:
// workflows and activities meet only in internal/contract
// (workflows/deps_test.go holds workflows to the SDK and the contract). The
// rule is on the packages, not their tests: workflow tests mock activities
// by their method values.
var forbidden = map[string][]string{
	"workflows":  {"activities"},
	"activities": {"workflows"},
}

func TestImportsFollowTheLayers(t *testing.T) {
	layerOf := map[string]int{}
	for i, pkgs := range layers {
		for _, p := range pkgs {
			layerOf[p] = i
		}
	}
	imports, testImports := moduleImports(t)
	if len(imports) < 20 {
		t.Fatalf("go list found %d packages: is the listing broken?", len(imports))
	}
	for pkg, deps := range imports {
		for _, dep := range deps {
			for _, f := range forbidden[pkg] {
				if dep == f {
					t.Errorf("%s imports %s: they meet only in internal/contract", pkg, dep)
				}
			}
		}
		deps = append(deps, testImports[pkg]...)
		layer, ok := layerOf[pkg]
		if !ok {
			t.Errorf("package %s is in no layer: add it to layers in %s", pkg, "internal/layering/layering_test.go")
			continue
		}
		for _, dep := range deps {
			depLayer, ok := layerOf[dep]
			if !ok {
				continue // reported as a package of its own
			}
			if depLayer > layer {
				t.Errorf("%s (layer %d) or its tests import %s (layer %d): a package imports only its own layer or lower ones", pkg, layer, dep, depLayer)
			}
		}
	}
}

// moduleImports maps each package of the module (path relative to the
// module) to the module's packages it imports, and those its tests import.
func moduleImports(t *testing.T) (imports, testImports map[string][]string) {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}|{{join .Imports " "}}|{{join .TestImports " "}} {{join .XTestImports " "}}`, module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	imports, testImports = map[string][]string{}, map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "|")
		if len(parts) != 3 {
			t.Fatalf("go list printed %q: want path|imports|test imports", sc.Text())
		}
		pkg := strings.TrimPrefix(strings.TrimPrefix(parts[0], module), "/")
		imports[pkg] = own(pkg, parts[1])
		testImports[pkg] = own(pkg, parts[2])
	}
	return imports, testImports
}

// own is the module's packages among the space-separated import paths,
// relative to the module, pkg itself left out.
func own(pkg, paths string) []string {
	var out []string
	for _, p := range strings.Fields(paths) {
		if rel, ok := strings.CutPrefix(p, module+"/"); ok && rel != pkg {
			out = append(out, rel)
		}
	}
	return out
}
