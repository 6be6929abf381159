package botapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/reply"
)

// A callback_url off the allow-list, or naming a refused address, gets a
// 400 naming the rule before anything is stored or started; one on the
// list is accepted.
func TestAPICallbackAllowList(t *testing.T) {
	tests := []struct {
		name     string
		hosts    []string
		loopback bool
		url      string
		want     int
		wantMsg  string
	}{
		{"callbacks off by default", nil, false, "https://hooks.example.com/cb", 400, "callbacks are off: api.callback_hosts (METRONOME_API_CALLBACK_HOSTS) is empty"},
		{"host not on the list", []string{"hooks.example.com"}, false, "https://evil.example.com/cb", 400, "host evil.example.com is not in api.callback_hosts"},
		{"suffix is not a match", []string{"example.com"}, false, "https://hooks.example.com/cb", 400, "host hooks.example.com is not in api.callback_hosts"},
		{"metadata address on the list", []string{"169.254.169.254"}, false, "https://169.254.169.254/latest/meta-data", 400, "address 169.254.169.254 is link-local"},
		{"private address on the list", []string{"10.0.0.7"}, false, "https://10.0.0.7/cb", 400, "address 10.0.0.7 is private"},
		{"loopback without the switch", []string{"127.0.0.1"}, false, "http://127.0.0.1:9/cb", 400, "is loopback (allowed only with api.callback_allow_loopback"},
		{"IPv6 loopback without the switch", []string{"::1"}, false, "https://[::1]:9/cb", 400, "address ::1 is loopback"},
		{"on the list", []string{"hooks.example.com"}, false, "https://hooks.example.com/cb?k=s", 202, ""},
		{"on the list, any case and port", []string{"Hooks.Example.com"}, false, "https://HOOKS.example.com:8443/cb", 202, ""},
		{"loopback with the switch", []string{"127.0.0.1"}, true, "http://127.0.0.1:9/cb", 202, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.Callbacks = reply.CallbackPolicy{Hosts: tt.hosts, AllowLoopback: tt.loopback} })
			body := fmt.Sprintf(`{"artists": ["Someone New"], "callback_url": %q}`, tt.url)
			w := serve(f.h, apiRequest(http.MethodPost, "/v1/artist-requests", body))
			require.Equal(t, tt.want, w.Code, w.Body.String())
			if tt.want != 400 {
				require.Len(t, f.collect.started(), 1)
				return
			}
			var e struct{ Error string }
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e))
			require.True(t, strings.HasPrefix(e.Error, "callback_url: "), e.Error)
			require.Contains(t, e.Error, tt.wantMsg)
			require.NotContains(t, e.Error, "/cb", "the URL's path is never quoted")
			require.Zero(t, f.store.puts.Load())
			require.Empty(t, f.collect.started())
		})
	}
}
