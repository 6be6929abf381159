package reply

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/serving"
)

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url     string
		wantErr string
	}{
		{"https://hooks.slack.com/commands/T1/2/abc", ""},
		{"http://127.0.0.1:8080/cb", ""},
		{"http://localhost/cb", ""},
		{"http://[::1]:9/cb", ""},
		{"http://hooks.slack.com/commands/T1/2/abc", "http only to a loopback host"},
		{"http://169.254.169.254/latest/meta-data", "http only to a loopback host"},
		{"ftp://example.com/x", `scheme "ftp"`},
		{"javascript:alert(1)", "want https://host/path"},
		{"/relative/path", "want https://host/path"},
		{"https://user:pw@example.com/cb", "without user info"},
		{"https://example.com/cb#frag", "without user info or fragment"},
		{"https://example.com/" + strings.Repeat("a", 2048), "at most 2048"},
	}
	for _, tt := range tests {
		t.Run(tt.url[:min(len(tt.url), 60)], func(t *testing.T) {
			err := CheckURL(tt.url)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			// The URL may be a capability: errors never quote its path.
			require.NotContains(t, err.Error(), "/cb")
			require.NotContains(t, err.Error(), "meta-data")
		})
	}
}

func TestReplyTargetRoundTrip(t *testing.T) {
	in := Target{Kind: KindSlack, URL: "https://hooks.slack.com/commands/T1/2/abc",
		URLExpiresAt: time.Date(2026, 11, 24, 12, 30, 0, 0, time.UTC), Channel: "C1", User: "U1"}
	enc, err := in.Encode()
	require.NoError(t, err)
	out, err := ParseTarget(enc)
	require.NoError(t, err)
	require.Equal(t, in, out)

	for _, bad := range []string{"", "https://hooks.slack.com/x", `{"kind":"email"}`, `{"kind":"slack","url":"http://example.com/x"}`} {
		_, err := ParseTarget(bad)
		require.Error(t, err, bad)
	}
}

// The answer to a request says what happened; a late answer posted by the
// bot names who asked.
func TestAnswer(t *testing.T) {
	view := serving.ArtistView{ArtistSnapshot: serving.ArtistSnapshot{ID: "4Z8W4fKeB5YxbusRsdQVPb", Name: "Radiohead"},
		TopTracks: []serving.TopTrack{{Name: "Creep"}}}
	tests := []struct {
		name     string
		req      serving.Request
		view     *serving.ArtistView
		asker    string
		wantType string
		want     string
	}{
		{"stored", serving.Request{Artist: "radiohead", State: serving.RequestStored}, &view, "", "in_channel", "Radiohead — top tracks: Creep"},
		{"stored, by the bot", serving.Request{Artist: "radiohead", State: serving.RequestStored}, &view, "U1", "in_channel", "<@U1> asked for radiohead: Radiohead — top tracks: Creep"},
		{"stored but missing", serving.Request{Artist: "radiohead", ArtistID: "X", State: serving.RequestStored}, nil, "", "ephemeral", "serving store has no entry for X"},
		{"not found", serving.Request{Artist: "Nobody <here>", State: serving.RequestNotFound, Detail: "no match"}, nil, "", "ephemeral", "Spotify knows no artist *Nobody &lt;here&gt;*. (no match)"},
		{"failed", serving.Request{Artist: "radiohead", State: serving.RequestFailed, Detail: "clean failed"}, nil, "", "ephemeral", "Could not collect *radiohead*: clean failed. Try again later."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Answer(tt.req, tt.view, tt.asker)
			require.Equal(t, tt.wantType, m.ResponseType)
			require.Contains(t, m.Text, tt.want)
			b, err := json.Marshal(m)
			require.NoError(t, err)
			require.NotContains(t, string(b), "metadata")
		})
	}
}

func TestFormatting(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 9876543: "9,876,543", -1234: "-1,234"} {
		require.Equal(t, want, thousands(n))
	}
	require.Equal(t, "3:58", duration(238_000))
	require.Equal(t, "0:05", duration(5_400))
	require.Equal(t, "abc", clip("abc", 3))
	require.Equal(t, "ab…", clip("abcd", 3))
	require.Equal(t, "Sigur Rós", clip("Sigur Rós", 9), "runes, not bytes")
	require.Equal(t, "&amp;&lt;b&gt;", escape("&<b>"))
	require.Equal(t, "&lt;!channel&gt;", escape("<!channel>"))
}
