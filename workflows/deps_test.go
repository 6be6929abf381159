package workflows

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// forbiddenDeps are the backends workflow code must never link: storage,
// cloud, Slack, and the project's packages that reach them. Any of these in
// `go list -deps` means a workflow file, or something it imports, pulled in
// the activities' world.
var forbiddenDeps = []string{
	"duckdb", "sqlite", "parquet", "arrow", // storage engines and formats
	"aws", "amazon", "cloud.google.com", "azure", // cloud SDKs
	"slack", // Slack
	"github.com/metronome-data/metronome/activities",
	"github.com/metronome-data/metronome/internal/lake",
	"github.com/metronome-data/metronome/internal/serving",
	"github.com/metronome-data/metronome/internal/analytics",
	"github.com/metronome-data/metronome/internal/spotify",
	"github.com/metronome-data/metronome/internal/curate",
	"github.com/metronome-data/metronome/internal/botapi",
	"github.com/metronome-data/metronome/internal/reply",
}

// TestWorkflowsLinkOnlyTheSDKAndTheContract holds package workflows to its
// allow-list. The rule: every package `go list -deps ./workflows` names is
// the standard library, workflows itself, internal/contract, or a package
// that the Temporal SDK packages imported by those two link themselves
// (grpc, protobuf and the like come in only through the SDK). Anything else
// is a dependency workflow code took on, and fails the test.
func TestWorkflowsLinkOnlyTheSDKAndTheContract(t *testing.T) {
	const module = "github.com/metronome-data/metronome"
	own := []string{module + "/workflows", module + "/internal/contract"}

	deps := goList(t, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", own[0])
	if !slices.Contains(deps, own[1]) {
		t.Fatalf("go list -deps %s does not name %s: is the listing broken?\n%s", own[0], own[1], strings.Join(deps, "\n"))
	}
	var sdk []string
	for _, imp := range goList(t, "-f", `{{join .Imports "\n"}}`, own[0], own[1]) {
		if strings.HasPrefix(imp, "go.temporal.io/") && !slices.Contains(sdk, imp) {
			sdk = append(sdk, imp)
		}
	}
	if len(sdk) == 0 {
		t.Fatal("workflows imports no go.temporal.io package: is the listing broken?")
	}
	allowed := append(goList(t, append([]string{"-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}, sdk...)...), own...)

	var outside, backend []string
	for _, dep := range deps {
		if !slices.Contains(allowed, dep) {
			outside = append(outside, dep)
		}
		for _, bad := range forbiddenDeps {
			if strings.Contains(strings.ToLower(dep), bad) {
				backend = append(backend, dep+" ("+bad+")")
				break
			}
		}
	}
	if len(outside) > 0 {
		t.Errorf("workflows links %d packages that are neither the standard library, internal/contract nor dependencies of the Temporal SDK packages it imports (%s): "+
			"move what workflows need of them into internal/contract:\n%s", len(outside), strings.Join(sdk, ", "), strings.Join(firstN(outside, 20), "\n"))
	}
	if len(backend) > 0 {
		t.Errorf("workflows links %d storage, cloud or Slack packages, which workflow code must not:\n%s", len(backend), strings.Join(firstN(backend, 20), "\n"))
	}
	t.Logf("workflows links %d packages outside the standard library", len(deps))
}

// goList runs `go list args...` and returns its non-empty lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command on PATH to list the dependencies: %v", err)
	}
	out, err := exec.Command(goBin, append([]string{"list"}, args...)...).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
