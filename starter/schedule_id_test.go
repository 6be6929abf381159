package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Every schedule subcommand but list takes the schedule ID as its argument
// or with --id; both must agree, and neither means daily-pipeline.
func TestScheduleID(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr string
	}{
		{"argument", []string{"pause", "nightly"}, "nightly", ""},
		{"flag", []string{"pause", "--id", "nightly"}, "nightly", ""},
		{"both, the same", []string{"describe", "nightly", "--id", "nightly"}, "nightly", ""},
		{"both, different", []string{"delete", "nightly", "--id", "hourly"}, "", `schedule ID "nightly" and --id "hourly" differ`},
		{"flag of the default, another argument", []string{"trigger", "nightly", "--id", defaultScheduleID}, "", `and --id "daily-pipeline" differ`},
		{"neither", []string{"update"}, defaultScheduleID, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, rest, err := newScheduleCommand(&globalFlags{}).Find(tt.args)
			require.NoError(t, err)
			require.NoError(t, cmd.ParseFlags(rest))
			flag, err := cmd.Flags().GetString("id")
			require.NoError(t, err)
			got, err := scheduleID(cmd, flag, cmd.Flags().Args())
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.ErrorAs(t, err, new(usageError))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
