package console

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testToken = "s3cret-token"

func TestNewRefusesBeyondLoopbackWithoutToken(t *testing.T) {
	store := newFileLake(t)
	tests := []struct {
		addr, token string
		open        bool
		refused     bool
	}{
		{"127.0.0.1:8088", "", true, false},
		{"localhost:8088", "", true, false},
		{"[::1]:8088", "", true, false},
		{"0.0.0.0:8088", "", false, true},
		{":8088", "", false, true},
		{"10.0.0.5:8088", "", false, true},
		{"0.0.0.0:8088", testToken, false, false},
		{"127.0.0.1:8088", testToken, false, false},
	}
	for _, tt := range tests {
		c, err := New(Options{Lake: store, Addr: tt.addr, Token: tt.token})
		if tt.refused {
			require.ErrorIs(t, err, ErrNeedsToken, tt.addr)
			require.Contains(t, err.Error(), tt.addr)
			continue
		}
		require.NoError(t, err, tt.addr)
		require.Equal(t, tt.open, c.Open(), tt.addr)
	}
}

// The open console answers only loopback Host names: a page elsewhere
// cannot read it through DNS rebinding.
func TestOpenConsoleChecksHost(t *testing.T) {
	c := newTestConsole(t, newFileLake(t))
	for host, want := range map[string]int{"127.0.0.1:8088": 200, "localhost:8088": 200, "[::1]:8088": 200,
		"evil.example:8088": 403, "127.0.0.1.evil.example": 403} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Host = host
		w := httptest.NewRecorder()
		c.ServeHTTP(w, req)
		require.Equal(t, want, w.Code, host)
	}
}

func tokenConsole(t *testing.T, now *time.Time) *Console {
	return newTestConsole(t, seedLake(t), func(o *Options) {
		o.Addr, o.Token, o.SessionTTL = "0.0.0.0:8088", testToken, time.Hour
		o.Now = func() time.Time { return *now }
	})
}

func TestTokenAccess(t *testing.T) {
	now := testNow
	c := tokenConsole(t, &now)
	valid := c.auth.sign(now.Add(time.Hour).Unix())
	expired := c.auth.sign(now.Add(-time.Second).Unix())
	tampered := strings.Replace(valid, "v1.", "v1.9", 1)
	other, err := newAccess("0.0.0.0:1", "another-token", time.Hour, func() time.Time { return now })
	require.NoError(t, err)
	foreign := other.sign(now.Add(time.Hour).Unix())
	tests := []struct {
		name, path string
		header     []string
		status     int
		location   string
	}{
		{"no credentials", "/", nil, 401, ""},
		{"browser without credentials goes to login", "/dates/2026-11-21?x=1", []string{"Accept", "text/html"}, 303, "/login?next=%2Fdates%2F2026-11-21%3Fx%3D1"},
		{"bearer", "/", []string{"Authorization", "Bearer " + testToken}, 200, ""},
		{"wrong bearer", "/", []string{"Authorization", "Bearer " + testToken + "x"}, 401, ""},
		{"bearer prefix of the token", "/", []string{"Authorization", "Bearer s3cret"}, 401, ""},
		{"basic is not bearer", "/", []string{"Authorization", "Basic " + testToken}, 401, ""},
		{"session", "/runs", []string{"Cookie", sessionCookie + "=" + valid}, 200, ""},
		{"expired session", "/runs", []string{"Cookie", sessionCookie + "=" + expired}, 401, ""},
		{"tampered session", "/runs", []string{"Cookie", sessionCookie + "=" + tampered}, 401, ""},
		{"session of another token", "/runs", []string{"Cookie", sessionCookie + "=" + foreign}, 401, ""},
		{"garbage session", "/runs", []string{"Cookie", sessionCookie + "=v1.x.y"}, 401, ""},
		{"login form is public", "/login", nil, 200, ""},
		{"stylesheet is public", "/static/console.css", nil, 200, ""},
		{"favicon is public", "/favicon.ico", nil, 200, ""},
		{"any Host name with a token", "/", []string{"Authorization", "Bearer " + testToken}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(t, c, "GET", tt.path, tt.header...)
			require.Equal(t, tt.status, w.Code, w.Body.String())
			if tt.status == 401 {
				require.Equal(t, `Bearer realm="metronome console"`, w.Header().Get("WWW-Authenticate"))
				require.NotContains(t, w.Body.String(), `data-page="partitions"`)
			}
			if tt.location != "" {
				require.Equal(t, tt.location, w.Header().Get("Location"))
			}
		})
	}
}

func postLogin(c *Console, form url.Values) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = "console.example"
	w := httptest.NewRecorder()
	c.ServeHTTP(w, req)
	return w
}

func TestLogin(t *testing.T) {
	now := testNow
	c := tokenConsole(t, &now)

	w := postLogin(c, url.Values{"token": {"wrong"}, "next": {"/runs"}})
	require.Equal(t, 401, w.Code)
	require.Contains(t, w.Body.String(), "not the API token")
	require.Contains(t, w.Body.String(), `data-page="login"`)
	require.Empty(t, w.Result().Cookies())

	w = postLogin(c, url.Values{"token": {testToken}, "next": {"/dates/2026-11-21"}})
	require.Equal(t, 303, w.Code)
	require.Equal(t, "/dates/2026-11-21", w.Header().Get("Location"))
	cookies := w.Result().Cookies()
	require.Len(t, cookies, 1)
	ck := cookies[0]
	require.Equal(t, sessionCookie, ck.Name)
	require.True(t, ck.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, ck.SameSite)
	require.Equal(t, "/", ck.Path)
	require.Equal(t, 3600, ck.MaxAge)
	require.Contains(t, w.Header().Get("Set-Cookie"), "SameSite=Strict")

	// The cookie opens the pages until it expires.
	page := get(t, c, "GET", "/dates/2026-11-21", "Cookie", ck.Name+"="+ck.Value)
	require.Equal(t, 200, page.Code)
	require.Contains(t, page.Body.String(), `action="/logout" method="post"`)
	now = now.Add(time.Hour + time.Second)
	require.Equal(t, 401, get(t, c, "GET", "/", "Cookie", ck.Name+"="+ck.Value).Code)

	// Logging out clears it.
	w = get(t, c, "POST", "/logout")
	require.Equal(t, 303, w.Code)
	require.Equal(t, -1, w.Result().Cookies()[0].MaxAge)
	// Not by a link another site can make the browser follow.
	w = get(t, c, "GET", "/logout")
	require.NotEqual(t, 303, w.Code)
	require.Empty(t, w.Result().Cookies())
}

// Another site's page cannot post the console's forms: a cross-origin
// login (it could log the browser into the attacker's session) or logout is
// refused before anything else.
func TestFormsRefuseCrossOriginPosts(t *testing.T) {
	now := testNow
	c := tokenConsole(t, &now)
	for _, path := range []string{"/login", "/logout"} {
		w := get(t, c, "POST", path, "Sec-Fetch-Site", "cross-site", "Content-Type", "application/x-www-form-urlencoded")
		require.Equal(t, 403, w.Code, path)
		require.Empty(t, w.Result().Cookies(), path)
		w = get(t, c, "POST", path, "Origin", "https://evil.example", "Content-Type", "application/x-www-form-urlencoded")
		require.Equal(t, 403, w.Code, path)
	}
	// The console's own form is accepted.
	require.Equal(t, 303, get(t, c, "POST", "/logout", "Sec-Fetch-Site", "same-origin").Code)
}

// /login sends the browser back only to a path of the console.
func TestLoginIsNotAnOpenRedirect(t *testing.T) {
	now := testNow
	c := tokenConsole(t, &now)
	tests := map[string]string{
		"/runs":                 "/runs",
		"/dates/2026-11-21?x=1": "/dates/2026-11-21?x=1",
		"":                      "/",
		"//evil.example/":       "/",
		"///evil.example/":      "/",
		"/\\evil.example":       "/",
		"https://evil.example/": "/",
		"javascript:alert(1)":   "/",
		"evil.example":          "/",
		"/%0d%0aSet-Cookie:x=1": "/%0d%0aSet-Cookie:x=1",
		"/\r\nLocation: //evil": "/",
	}
	for next, want := range tests {
		w := postLogin(c, url.Values{"token": {testToken}, "next": {next}})
		require.Equal(t, 303, w.Code, next)
		require.Equal(t, want, w.Header().Get("Location"), next)
		require.Equal(t, want, safeNext(next), next)
	}
	// The form carries next through, escaped.
	body := get(t, c, "GET", "/login?next="+url.QueryEscape(`/runs"><script>`)).Body.String()
	require.Contains(t, body, `value="/runs&#34;&gt;&lt;script&gt;"`)
	body = get(t, c, "GET", "/login?next=//evil.example").Body.String()
	require.Contains(t, body, `name="next" value="/"`)
}

func TestTokenComparison(t *testing.T) {
	a, err := newAccess("0.0.0.0:1", testToken, time.Hour, time.Now)
	require.NoError(t, err)
	require.True(t, a.tokenMatches(testToken))
	for _, bad := range []string{"", "s", testToken + " ", strings.ToUpper(testToken)} {
		require.False(t, a.tokenMatches(bad), bad)
	}
	require.True(t, errors.Is(func() error { _, err := newAccess("0.0.0.0:1", "", time.Hour, time.Now); return err }(), ErrNeedsToken))
}

// Guessing at /login is throttled: after a burst of failures even the
// right token waits for the limiter to refill.
func TestLoginThrottle(t *testing.T) {
	now := testNow
	c := tokenConsole(t, &now)
	for i := range 10 {
		require.Equal(t, 401, postLogin(c, url.Values{"token": {"guess"}}).Code, "attempt %d", i)
	}
	w := postLogin(c, url.Values{"token": {testToken}})
	require.Equal(t, 429, w.Code)
	require.Equal(t, "1", w.Header().Get("Retry-After"))
	require.Eventually(t, func() bool { return postLogin(c, url.Values{"token": {testToken}}).Code == 303 },
		5*time.Second, 100*time.Millisecond)
}
