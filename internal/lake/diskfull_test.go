package lake

import (
	"errors"
	"io/fs"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDiskFull(t *testing.T) {
	full := &fs.PathError{Op: "write", Path: "/lake/raw/.lake-tmp-1", Err: syscall.ENOSPC}
	other := &fs.PathError{Op: "write", Path: "/lake/raw/.lake-tmp-1", Err: syscall.EIO}
	tests := []struct {
		name string
		err  error
		want string // "" means unchanged
	}{
		{"full disk", full, "write /lake/raw/.lake-tmp-1: no space left on device: the filesystem of the lake /lake is full; free space there; the activity's next retry, or a re-run of the date once the run has failed, continues"},
		{"other error", other, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diskFull("/lake", tt.err)
			require.True(t, errors.Is(got, tt.err), "the cause stays in the chain")
			if tt.want == "" {
				require.Same(t, tt.err, got)
				return
			}
			require.EqualError(t, got, tt.want)
			require.ErrorIs(t, got, syscall.ENOSPC)
		})
	}
}
