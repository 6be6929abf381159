package reply

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// hostsLookup resolves names from a map, never through DNS.
func hostsLookup(hosts map[string][]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		var out []netip.Addr
		for _, s := range hosts[host] {
			out = append(out, netip.MustParseAddr(s))
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("no such host %s", host)
		}
		return out, nil
	}
}

// localDial stands in for the network: every connection, whatever checked
// address it is for, goes to srv on 127.0.0.1, and is recorded.
type localDial struct {
	srv   *httptest.Server
	mu    sync.Mutex
	asked []string
}

func (l *localDial) dial(ctx context.Context, network, address string) (net.Conn, error) {
	l.mu.Lock()
	l.asked = append(l.asked, address)
	l.mu.Unlock()
	return (&net.Dialer{}).DialContext(ctx, network, l.srv.Listener.Addr().String())
}

func (l *localDial) calls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.asked...)
}

// callbackClient is NewCallbackClient over d, trusting srv's certificate
// (made for example.com).
func callbackClient(d *CallbackDialer, srv *httptest.Server) *http.Client {
	c := NewCallbackClient(d)
	c.Transport.(*http.Transport).TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	return c
}

// The dialer refuses, before connecting, a host on the list that resolves
// to a private, link-local or loopback address; a public one is dialed.
// Names resolve through a map and connections go to a local TLS server, so
// no packet leaves 127.0.0.1.
func TestCallbackDialerRefusesInternalAddresses(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	tests := []struct {
		name     string
		resolves []string
		loopback bool
		wantErr  string // empty: delivered
	}{
		{"public address", []string{"203.0.113.7"}, false, ""},
		{"public IPv6 address", []string{"2001:db8::7"}, false, ""},
		{"cloud metadata", []string{"169.254.169.254"}, false, "address 169.254.169.254 is link-local"},
		{"IPv4-mapped metadata", []string{"::ffff:169.254.169.254"}, false, "address 169.254.169.254 is link-local"},
		{"Alibaba metadata", []string{"100.100.100.200"}, false, "is shared address space"},
		{"10/8", []string{"10.1.2.3"}, false, "address 10.1.2.3 is private"},
		{"172.16/12", []string{"172.20.0.1"}, false, "address 172.20.0.1 is private"},
		{"192.168/16", []string{"192.168.1.1"}, false, "address 192.168.1.1 is private"},
		{"IPv6 unique local", []string{"fd00::1"}, false, "address fd00::1 is private"},
		{"IPv6 link-local", []string{"fe80::1"}, false, "address fe80::1 is link-local"},
		{"unspecified", []string{"0.0.0.0"}, false, "is not a public unicast address"},
		{"127.0.0.1", []string{"127.0.0.1"}, false, "address 127.0.0.1 is loopback"},
		{"::1", []string{"::1"}, false, "address ::1 is loopback"},
		{"loopback with the switch", []string{"127.0.0.1"}, true, ""},
		{"public and private together", []string{"203.0.113.7", "10.0.0.1"}, false, "address 10.0.0.1 is private"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			local := &localDial{srv: srv}
			d := &CallbackDialer{
				Policy: CallbackPolicy{Hosts: []string{"example.com"}, AllowLoopback: tt.loopback},
				Lookup: hostsLookup(map[string][]string{"example.com": tt.resolves}),
				Dial:   local.dial,
			}
			before := hits.Load()
			resp, err := callbackClient(d, srv).Post("https://example.com/cb", "application/json", strings.NewReader("{}"))
			if tt.wantErr == "" {
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, before+1, hits.Load())
				require.Len(t, local.calls(), 1)
				return
			}
			require.Error(t, err)
			require.True(t, errors.Is(err, ErrCallbackRefused), "%v", err)
			require.Contains(t, err.Error(), "callback host example.com: ")
			require.Contains(t, err.Error(), tt.wantErr)
			require.Empty(t, local.calls(), "refused before connecting")
			require.Equal(t, before, hits.Load())
		})
	}
}

// DNS rebinding: a name that answered with a public address answers with a
// private one on the next lookup. Each connection is checked on the
// address it dials, so the second post is refused without connecting; so
// is a host taken off the list, and a redirect is not followed.
func TestCallbackDialerChecksEveryConnection(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "https://example.com/elsewhere", http.StatusFound)
		}
	}))
	t.Cleanup(srv.Close)
	var lookups atomic.Int32
	local := &localDial{srv: srv}
	d := &CallbackDialer{
		Policy: CallbackPolicy{Hosts: []string{"example.com"}},
		Lookup: func(context.Context, string) ([]netip.Addr, error) {
			if lookups.Add(1) == 1 {
				return []netip.Addr{netip.MustParseAddr("203.0.113.7")}, nil
			}
			return []netip.Addr{netip.MustParseAddr("10.0.0.1")}, nil
		},
		Dial: local.dial,
	}
	c := callbackClient(d, srv)
	resp, err := c.Post("https://example.com/cb", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	resp.Body.Close()
	_, err = c.Post("https://example.com/cb", "application/json", strings.NewReader("{}"))
	require.ErrorIs(t, err, ErrCallbackRefused)
	require.Contains(t, err.Error(), "address 10.0.0.1 is private")
	require.Equal(t, []string{"203.0.113.7:443"}, local.calls(), "the rebound address is never dialed")
	require.Equal(t, int32(1), hits.Load())

	// A redirect is the answer, not followed.
	lookups.Store(0)
	resp, err = c.Post("https://example.com/redirect", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	require.Equal(t, int32(2), hits.Load())

	// Off the list at delivery (the list changed since the request).
	d.Policy.Hosts = []string{"other.example.com"}
	lookups.Store(0)
	_, err = c.Post("https://example.com/cb", "application/json", strings.NewReader("{}"))
	require.ErrorIs(t, err, ErrCallbackRefused)
	require.Contains(t, err.Error(), "host example.com is not in api.callback_hosts")
	require.Len(t, local.calls(), 2)
}

// Without an injected Dial the last check runs on the socket's address:
// an IP literal on the list is refused without a connection, and a
// loopback server is reached only with the development switch.
func TestCallbackDialerDefaultDial(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	d := &CallbackDialer{Policy: CallbackPolicy{Hosts: []string{"127.0.0.1", "169.254.169.254"}}}
	_, err := d.DialContext(context.Background(), "tcp", "169.254.169.254:80")
	require.ErrorIs(t, err, ErrCallbackRefused)
	_, err = NewCallbackClient(d).Get(srv.URL)
	require.ErrorIs(t, err, ErrCallbackRefused)
	require.Contains(t, err.Error(), "address 127.0.0.1 is loopback")

	d.Policy.AllowLoopback = true
	resp, err := NewCallbackClient(d).Get("http://" + host)
	require.NoError(t, err)
	resp.Body.Close()
	require.NoError(t, d.control("tcp4", host, nil))
	d.Policy.AllowLoopback = false
	require.ErrorIs(t, d.control("tcp4", host, nil), ErrCallbackRefused)
}

// A host of several public addresses is dialed at each in turn until one
// connects, as net.Dialer does when IPv6 is unroutable.
func TestCallbackDialerTriesEachAddress(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	local := &localDial{srv: srv}
	d := &CallbackDialer{
		Policy: CallbackPolicy{Hosts: []string{"example.com"}},
		Lookup: hostsLookup(map[string][]string{"example.com": {"2001:db8::7", "203.0.113.7"}}),
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			if strings.HasPrefix(address, "[2001:db8::7]") {
				return nil, errors.New("network is unreachable")
			}
			return local.dial(ctx, network, address)
		},
	}
	resp, err := callbackClient(d, srv).Post("https://example.com/cb", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, []string{"203.0.113.7:443"}, local.calls())
}
