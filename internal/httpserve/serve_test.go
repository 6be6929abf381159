package httpserve

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// start serves h on a free port of 127.0.0.1 until the returned cancel; done
// yields Serve's result.
func start(t *testing.T, h http.Handler, opts ...Option) (base string, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	finished := make(chan struct{})
	go func() { defer close(finished); errc <- Serve(ctx, ln, h, opts...) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after its context was done")
		}
	})
	return "http://" + ln.Addr().String(), cancel, errc
}

func TestSettings(t *testing.T) {
	type values struct {
		name                                 string
		readHeader, read, write, idle, grace time.Duration
		maxHeaderBytes                       int
	}
	tests := []struct {
		name string
		opts []Option
		want values
	}{
		{name: "defaults", want: values{
			name: "HTTP server", readHeader: DefaultReadHeaderTimeout, read: DefaultReadTimeout, write: DefaultWriteTimeout,
			idle: DefaultIdleTimeout, grace: DefaultShutdownGrace, maxHeaderBytes: DefaultMaxHeaderBytes,
		}},
		{name: "every option", opts: []Option{
			WithName("codec server"), WithReadHeaderTimeout(time.Second), WithReadTimeout(2 * time.Second),
			WithWriteTimeout(0), WithIdleTimeout(3 * time.Second), WithMaxHeaderBytes(1 << 10), WithShutdownGrace(4 * time.Second),
		}, want: values{
			name: "codec server", readHeader: time.Second, read: 2 * time.Second, write: 0,
			idle: 3 * time.Second, grace: 4 * time.Second, maxHeaderBytes: 1 << 10,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSettings(nil, tt.opts)
			got := values{
				name: s.name, readHeader: s.server.ReadHeaderTimeout, read: s.server.ReadTimeout, write: s.server.WriteTimeout,
				idle: s.server.IdleTimeout, grace: s.shutdownGrace, maxHeaderBytes: s.server.MaxHeaderBytes,
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestShutdownLetsARequestInFlightFinish(t *testing.T) {
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		_, _ = io.WriteString(w, "finished")
	})
	base, cancel, done := start(t, h)

	type result struct {
		body string
		err  error
	}
	resc := make(chan result, 1)
	go func() {
		resp, err := http.Get(base)
		if err != nil {
			resc <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		resc <- result{body: string(b), err: err}
	}()
	<-started
	cancel()

	res := <-resc
	require.NoError(t, res.err, "the request in flight was cut off by the shutdown")
	assert.Equal(t, "finished", res.body)
	assert.NoError(t, <-done)
	_, err := http.Get(base)
	assert.Error(t, err, "the server still answers after shutdown")
}

func TestShutdownCutsOffARequestPastTheGrace(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	})
	base, cancel, done := start(t, h, WithShutdownGrace(100*time.Millisecond))
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Get(base)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve waited past its shutdown grace")
	}
	assert.Error(t, <-errc, "the request past the grace got an answer")
}

func TestTimeouts(t *testing.T) {
	t.Run("a client slow to send its headers is disconnected", func(t *testing.T) {
		base, _, _ := start(t, http.NotFoundHandler(), WithReadHeaderTimeout(100*time.Millisecond))
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n") // never ends its headers
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
		_, err = bufio.NewReader(conn).ReadString('\n')
		assert.ErrorIs(t, err, io.EOF, "the server kept a connection whose headers never ended")
	})
	t.Run("an answer past the write timeout is cut off", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			time.Sleep(300 * time.Millisecond)
			_, _ = io.WriteString(w, "late")
		})
		base, _, _ := start(t, h, WithWriteTimeout(50*time.Millisecond))
		resp, err := http.Get(base)
		if err == nil {
			resp.Body.Close()
		}
		assert.Error(t, err, "an answer written after the write timeout reached the client")
	})
	t.Run("headers over the limit are refused", func(t *testing.T) {
		base, _, _ := start(t, http.NotFoundHandler(), WithMaxHeaderBytes(1<<10))
		req, err := http.NewRequest(http.MethodGet, base, nil)
		require.NoError(t, err)
		req.Header.Set("X-Big", strings.Repeat("x", 8<<10))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
	})
}

func TestListenAndServeNamesABusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()

	err = ListenAndServe(context.Background(), ln.Addr().String(), http.NotFoundHandler(), WithName("metrics server"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "metrics server: listen on "+ln.Addr().String())
}
