package serving

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A serving store path that holds something other than a SQLite database
// is refused with an error naming the path and saying what it is not, and
// the file is left as it was.
func TestOpenRefusesAFileThatIsNotSQLite(t *testing.T) {
	tests := []struct {
		name string
		body []byte
	}{
		{"text", []byte(strings.Repeat("this is not a database\n", 200))},
		{"a truncated header", []byte("SQLite format 3\x00\x10\x00")},
		{"gzip", []byte{0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
		{"JSON", []byte(`{"artists": []}` + strings.Repeat(" ", 4096))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "serving.db")
			require.NoError(t, os.WriteFile(path, tt.body, 0o644))
			st, err := Open(context.Background(), "sqlite://"+path)
			if err == nil {
				st.Close()
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), path)
			require.Contains(t, err.Error(), "is not a SQLite database")
			got, rerr := os.ReadFile(path)
			require.NoError(t, rerr)
			require.Equal(t, tt.body, got, "the file is left alone")
		})
	}
}
