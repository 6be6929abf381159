package reply

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Names of the settings a callback refusal points to.
const (
	CallbackHostsKey         = "api.callback_hosts"
	CallbackHostsEnv         = "METRONOME_API_CALLBACK_HOSTS"
	CallbackAllowLoopbackKey = "api.callback_allow_loopback"
)

// ErrCallbackRefused marks a callback_url, or an address its host resolves
// to, that the CallbackPolicy refuses. No retry changes such a refusal.
var ErrCallbackRefused = errors.New("callback refused")

// CallbackPolicy is where a JSON API request's callback_url may point: a
// holder of the API token chooses the URL and a worker posts to it, so
// without a policy the token would let anyone make the worker POST to
// internal services (a cloud metadata address, an admin port). Slack's
// response_url arrives in a signed request and is not subject to it.
type CallbackPolicy struct {
	// Hosts are the host names (or IP literals) a callback_url may name,
	// compared without case and without port; empty refuses every
	// callback.
	Hosts []string
	// AllowLoopback lets callbacks connect to loopback addresses, for
	// local development and tests only. Private, link-local and other
	// non-public addresses are always refused.
	AllowLoopback bool
}

// CheckURL accepts a callback_url: one CheckURL accepts, whose host
// is on the allow-list. It is the check at request time; CallbackDialer
// checks the addresses at connect time. Its errors name the rule and the
// host, never the URL's path or query, which may be a capability.
func (p CallbackPolicy) CheckURL(raw string) error {
	u, err := parseURL(raw)
	if err != nil {
		return err
	}
	if err := p.checkHost(u.Hostname()); err != nil {
		return err
	}
	// An address in the URL is judged now; a name is judged at connect
	// time, on what it resolves to then.
	if a, err := netip.ParseAddr(u.Hostname()); err == nil {
		return CheckCallbackAddr(a, p.AllowLoopback)
	}
	return nil
}

// checkHost reports whether host is on the allow-list.
func (p CallbackPolicy) checkHost(host string) error {
	if len(p.Hosts) == 0 {
		return fmt.Errorf("%w: callbacks are off: %s (%s) is empty; list the hosts that may receive callbacks",
			ErrCallbackRefused, CallbackHostsKey, CallbackHostsEnv)
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	for _, h := range p.Hosts {
		if strings.EqualFold(strings.TrimSuffix(strings.Trim(h, "[]"), "."), host) {
			return nil
		}
	}
	return fmt.Errorf("%w: host %s is not in %s (%s); add it there to receive callbacks",
		ErrCallbackRefused, host, CallbackHostsKey, CallbackHostsEnv)
}
