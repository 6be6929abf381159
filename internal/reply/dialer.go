package reply

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// CallbackDialer connects callback posts only to hosts on the allow-list
// and only to public addresses. The address check runs at connect time, on
// the very addresses being dialed, so a host that answers DNS with a public
// address when a request is checked and a private one when the worker
// connects (DNS rebinding) is still refused.
type CallbackDialer struct {
	Policy CallbackPolicy
	// Lookup resolves a host name; nil is net.DefaultResolver. Tests
	// inject one so that no real DNS is used.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// Dial connects to an address already checked; nil is a net.Dialer
	// that checks the address again just before connecting. Tests route
	// it to a local server.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// DialContext checks address's host against the allow-list, resolves it,
// refuses it when any of its addresses is not public, and connects to the
// first one.
func (d *CallbackDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("callback address %s: %w", address, err)
	}
	if err := d.Policy.checkHost(host); err != nil {
		return nil, err
	}
	addrs, err := d.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	// One refused address refuses the host: a name that mixes public and
	// internal addresses is not one to post to.
	for _, a := range addrs {
		if err := CheckCallbackAddr(a, d.Policy.AllowLoopback); err != nil {
			return nil, fmt.Errorf("callback host %s: %w", host, err)
		}
	}
	dial := d.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 10 * time.Second, Control: d.control}).DialContext
	}
	// Each address in turn, as net.Dialer would (IPv6 may be unroutable).
	var errs []error
	for _, a := range addrs {
		conn, err := dial(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("callback host %s: %w", host, errors.Join(errs...))
}

func (d *CallbackDialer) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	lookup := d.Lookup
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	addrs, err := lookup(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("callback host %s: resolve: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("callback host %s: resolves to no address", host)
	}
	return addrs, nil
}

// control is the last check, on the socket's address just before connect.
func (d *CallbackDialer) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("callback address %s: %w", address, err)
	}
	return CheckCallbackAddr(ap.Addr(), d.Policy.AllowLoopback)
}

// cgnat is shared address space (RFC 6598); some clouds serve metadata
// there (100.100.100.200).
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// CheckCallbackAddr refuses an address a callback must not reach: private
// (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16 with the
// cloud metadata address, fe80::/10), shared (100.64/10), unspecified,
// multicast, and loopback unless allowLoopback.
func CheckCallbackAddr(a netip.Addr, allowLoopback bool) error {
	a = a.Unmap()
	var why string
	switch {
	case a.IsLoopback():
		if allowLoopback {
			return nil
		}
		why = fmt.Sprintf("is loopback (allowed only with %s for development)", CallbackAllowLoopbackKey)
	case a.IsPrivate():
		why = "is private"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		why = "is link-local"
	case cgnat.Contains(a):
		why = "is shared address space (100.64.0.0/10)"
	case !a.IsGlobalUnicast():
		why = "is not a public unicast address"
	default:
		return nil
	}
	return fmt.Errorf("%w: address %s %s; callbacks go only to public addresses", ErrCallbackRefused, a, why)
}

// NewCallbackClient is the HTTP client that delivers callbacks: it dials
// through d, uses no proxy (a proxy would be dialed instead of the host and
// defeat the check) and follows no redirect (which could lead off the
// allow-list). Each post opens a fresh, checked connection.
func NewCallbackClient(d *CallbackDialer) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext:         d.DialContext,
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: 10 * time.Second,
			DisableKeepAlives:   true,
		},
		// A 3xx is then the answer: a refusal, as 3xx is not 2xx.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
