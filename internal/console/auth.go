package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// ErrNeedsToken is New's error for an address beyond loopback without
// api.token: the console shows the lake to whoever reaches it, so it is
// not served there unauthenticated.
var ErrNeedsToken = errors.New("the data console needs api.token (METRONOME_API_TOKEN) beyond loopback")

// sessionCookie carries a /login session: v1.EXPIRY.MAC, the MAC an
// HMAC-SHA256 of "v1.EXPIRY" under a key derived from the token, so a new
// token ends every session and a restart keeps them.
const sessionCookie = "metronome_console"

// access decides who may read the console.
type access struct {
	// open: loopback address and no token; only loopback Host names are
	// answered then, so a page elsewhere cannot read the console through
	// DNS rebinding.
	open  bool
	token []byte
	key   []byte
	ttl   time.Duration
	now   func() time.Time
	// failedLogins throttles guessing at /login: each failure takes a
	// token; without one left the form is not checked until one refills.
	failedLogins *rate.Limiter
}

func newAccess(addr, token string, ttl time.Duration, now func() time.Time) (*access, error) {
	a := &access{ttl: ttl, now: now, failedLogins: rate.NewLimiter(rate.Every(time.Second), 10)}
	if token == "" {
		if !loopbackAddr(addr) {
			return nil, fmt.Errorf("serve.addr %q: %w; set it, or listen on 127.0.0.1", addr, ErrNeedsToken)
		}
		a.open = true
		return a, nil
	}
	a.token = []byte(token)
	mac := hmac.New(sha256.New, a.token)
	mac.Write([]byte("metronome console session key v1"))
	a.key = mac.Sum(nil)
	return a, nil
}

// loopbackAddr reports whether addr (HOST:PORT) listens on loopback only;
// an empty host listens on every interface.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return loopbackHost(host)
}

func loopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// publicPath is what answers without a token: the login form, what it
// loads, and /logout (which only clears the cookie).
func publicPath(p string) bool {
	return p == "/login" || p == "/logout" || p == "/favicon.ico" || strings.HasPrefix(p, "/static/")
}

// denial is why a request is refused; "" lets it through.
type denial string

const (
	allowedThrough  denial = ""
	needsToken      denial = "token"
	notLoopbackHost denial = "host"
)

func (a *access) check(r *http.Request) denial {
	if a.open {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if !loopbackHost(host) {
			return notLoopbackHost
		}
		return allowedThrough
	}
	if publicPath(r.URL.Path) || a.bearer(r) || a.sessionOf(r) {
		return allowedThrough
	}
	return needsToken
}

// bearer reports whether r carries "Authorization: Bearer <token>".
func (a *access) bearer(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && a.tokenMatches(got)
}

// tokenMatches compares in constant time, over hashes so that the length
// of the token does not leak either.
func (a *access) tokenMatches(got string) bool {
	want, have := sha256.Sum256(a.token), sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(want[:], have[:]) == 1
}

func (a *access) sign(expiry int64) string {
	payload := "v1." + strconv.FormatInt(expiry, 10)
	mac := hmac.New(sha256.New, a.key)
	mac.Write([]byte(payload))
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// sessionOf reports whether r carries a valid, unexpired session cookie.
func (a *access) sessionOf(r *http.Request) bool {
	if a.open {
		return false
	}
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return false
	}
	parts := strings.Split(ck.Value, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		return false
	}
	expiry, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || a.now().Unix() >= expiry {
		return false
	}
	return hmac.Equal([]byte(a.sign(expiry)), []byte(ck.Value))
}

// newSession is the cookie of a session starting now.
func (a *access) newSession(r *http.Request) *http.Cookie {
	expires := a.now().Add(a.ttl)
	return &http.Cookie{Name: sessionCookie, Value: a.sign(expires.Unix()), Path: "/",
		Expires: expires, MaxAge: int(a.ttl.Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil}
}

// refuse answers a request access.check refused: a browser asking for a
// page goes to /login, anything else gets 401 (or 403 for a Host that is
// not loopback on the open console).
func (c *Console) refuse(w http.ResponseWriter, r *http.Request, why denial) {
	if why == notLoopbackHost {
		c.fail(w, r, http.StatusForbidden, "Not a loopback host",
			fmt.Sprintf("Host %q is not a loopback name. Without api.token the console answers only at localhost or 127.0.0.1; set api.token (METRONOME_API_TOKEN) to serve it under other names.", r.Host))
		return
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="metronome console"`)
	c.fail(w, r, http.StatusUnauthorized, "Log in", "The console needs the API token: send \"Authorization: Bearer <api.token>\" or log in at /login.")
}

// loginData is the content of the login page.
type loginData struct {
	Open  bool
	Next  string
	Error string
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "login", page{Name: "login", Title: "Log in",
		Data: loginData{Open: c.auth.open, Next: safeNext(r.URL.Query().Get("next"))}})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if c.auth.open {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, http.StatusBadRequest, "Bad login form", "The form did not parse: "+err.Error())
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	if c.auth.failedLogins.Tokens() < 1 {
		w.Header().Set("Retry-After", "1")
		c.render(w, r, http.StatusTooManyRequests, "login", page{Name: "login", Title: "Log in",
			Data: loginData{Next: next, Error: "Too many failed logins: wait a second and try again."}})
		return
	}
	if !c.auth.tokenMatches(r.PostForm.Get("token")) {
		c.auth.failedLogins.Allow()
		c.render(w, r, http.StatusUnauthorized, "login", page{Name: "login", Title: "Log in",
			Data: loginData{Next: next, Error: "That is not the API token (api.token)."}})
		return
	}
	http.SetCookie(w, c.auth.newSession(r))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext is where /login sends the browser after: a path of this
// console, never another site ("//evil", "/\evil", "https://evil" all
// become "/").
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}
