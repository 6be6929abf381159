package testservers_test

import (
	"net/http"
	"testing"

	"github.com/metronome-data/metronome/internal/testservers"
)

func TestStartVersityGW(t *testing.T) {
	var endpoint string
	t.Run("serves", func(t *testing.T) {
		var access, secret string
		endpoint, access, secret = testservers.StartVersityGW(t)
		if access == "" || secret == "" {
			t.Fatalf("credentials %q/%q are empty", access, secret)
		}
		resp, err := http.Get(endpoint + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// Anonymous requests are refused: the gateway enforces the keys.
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("anonymous GET / = %d, want 403", resp.StatusCode)
		}
	})
	if t.Skipped() || endpoint == "" {
		return
	}
	// The subtest's cleanup stopped the gateway.
	if resp, err := http.Get(endpoint + "/"); err == nil {
		resp.Body.Close()
		t.Fatalf("gateway at %s still answers after its test ended", endpoint)
	}
}
