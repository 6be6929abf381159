//lint:file-ignore SA1019 countPollers reads the deprecated VersionsInfo (see share.go): its input is built here.

package app

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
)

func TestCountPollers(t *testing.T) {
	activity := func(ids ...string) client.TaskQueueTypeInfo {
		var ps []client.TaskQueuePollerInfo
		for _, id := range ids {
			ps = append(ps, client.TaskQueuePollerInfo{Identity: id})
		}
		return client.TaskQueueTypeInfo{Pollers: ps}
	}
	tests := []struct {
		name     string
		versions map[string]client.TaskQueueVersionInfo
		want     int
		self     bool
	}{
		{name: "nobody"},
		{name: "only me", versions: map[string]client.TaskQueueVersionInfo{
			"": {TypesInfo: map[client.TaskQueueType]client.TaskQueueTypeInfo{client.TaskQueueTypeActivity: activity("me")}},
		}, want: 1, self: true},
		{name: "others, not me yet", versions: map[string]client.TaskQueueVersionInfo{
			"": {TypesInfo: map[client.TaskQueueType]client.TaskQueueTypeInfo{client.TaskQueueTypeActivity: activity("a", "b")}},
		}, want: 2},
		{name: "one identity twice, across build IDs", versions: map[string]client.TaskQueueVersionInfo{
			"":   {TypesInfo: map[client.TaskQueueType]client.TaskQueueTypeInfo{client.TaskQueueTypeActivity: activity("a", "me")}},
			"v2": {TypesInfo: map[client.TaskQueueType]client.TaskQueueTypeInfo{client.TaskQueueTypeActivity: activity("a", "c")}},
		}, want: 3, self: true},
		{name: "workflow pollers do not count", versions: map[string]client.TaskQueueVersionInfo{
			"": {TypesInfo: map[client.TaskQueueType]client.TaskQueueTypeInfo{client.TaskQueueTypeWorkflow: activity("w")}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, self := countPollers(client.TaskQueueDescription{VersionsInfo: tt.versions}, "me")
			require.Equal(t, tt.want, n)
			require.Equal(t, tt.self, self)
		})
	}
}
