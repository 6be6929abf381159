// Command healthcheck is the container health check of the metronome image,
// which has no shell, curl or wget: it GETs a URL (default the worker's
// /readyz) and exits 0 on 200 OK, 1 on anything else, printing the reason,
// and 2 on bad usage.
//
//	healthcheck [URL]
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// defaultURL is the worker's readiness endpoint at its address in
// docker-compose.yml.
const defaultURL = "http://127.0.0.1:9090/readyz"

// timeout bounds the whole check; Docker's own timeout is longer.
const timeout = 3 * time.Second

// maxReason is how much of a failing response's body the reason shows.
const maxReason = 512

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	url := defaultURL
	switch len(args) {
	case 0:
	case 1:
		url = args[0]
	default:
		fmt.Fprintln(stderr, "usage: healthcheck [URL]")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := check(ctx, url); err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	return 0
}

// check returns nil when GET url answers 200 OK.
func check(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("request %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxReason))
	return fmt.Errorf("get %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
}
