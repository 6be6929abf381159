package devservertest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
)

func TestStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	tests := []struct {
		name      string
		opts      func(t *testing.T) []Option
		namespace string
	}{
		{name: "in memory", opts: func(*testing.T) []Option { return nil }, namespace: "default"},
		{name: "SQLite file and own namespace", opts: func(t *testing.T) []Option {
			return []Option{WithServer(devserver.Options{DatabaseFile: filepath.Join(t.TempDir(), "temporal.db"), Namespace: "tests"})}
		}, namespace: "tests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := Start(t, tt.opts(t)...)
			assert.Equal(t, tt.namespace, srv.Namespace())
			resp, err := c.WorkflowService().DescribeNamespace(context.Background(),
				&workflowservice.DescribeNamespaceRequest{Namespace: srv.Namespace()})
			require.NoError(t, err, "the client does not reach the server's namespace")
			assert.Equal(t, tt.namespace, resp.GetNamespaceInfo().GetName())
			// Stopping early, as a restart does, leaves the cleanup's Stop harmless.
			c.Close()
			require.NoError(t, srv.Stop())
		})
	}
}
