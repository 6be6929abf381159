package webui

import "testing"

func TestRunURL(t *testing.T) {
	tests := []struct {
		base, ns, wf, run, want string
	}{
		{"http://localhost:8233", "default", "pipeline-2026-10-01", "r1",
			"http://localhost:8233/namespaces/default/workflows/pipeline-2026-10-01/r1/history"},
		{"http://localhost:8233/", "default", "scheduled-pipeline-2026-10-01T03:00:00Z", "r1",
			"http://localhost:8233/namespaces/default/workflows/scheduled-pipeline-2026-10-01T03:00:00Z/r1/history"},
		{"http://ui", "ns", "a/b?c", "r", "http://ui/namespaces/ns/workflows/a%2Fb%3Fc/r/history"},
	}
	for _, tt := range tests {
		if got := RunURL(tt.base, tt.ns, tt.wf, tt.run); got != tt.want {
			t.Errorf("RunURL(%q, %q, %q, %q) = %q, want %q", tt.base, tt.ns, tt.wf, tt.run, got, tt.want)
		}
	}
	if got, want := WorkflowsURL("http://ui/", "default"), "http://ui/namespaces/default/workflows"; got != want {
		t.Errorf("WorkflowsURL = %q, want %q", got, want)
	}
}
