package workerproc

import (
	"context"
	"fmt"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// Module is the import path of metronome's module.
const Module = "github.com/metronome-data/metronome"

// Build builds the module's commands pkgs (e.g. "worker", "starter") into
// dir with one go build, which shares the compilation of what they have in
// common, and returns their paths in the order of pkgs. It must run inside
// the module (its directory or below).
func Build(ctx context.Context, dir string, pkgs ...string) ([]string, error) {
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	bins := make([]string, len(pkgs))
	for i, p := range pkgs {
		args = append(args, path.Join(Module, p))
		bins[i] = filepath.Join(dir, path.Base(p))
	}
	out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("build %s (go %s): %w: %s; run from the module's directory or pass built binaries",
			strings.Join(pkgs, ", "), strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return bins, nil
}
