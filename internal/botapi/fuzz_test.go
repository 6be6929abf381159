package botapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// Any validly signed form body — malformed encodings, odd text, huge
// fields — gets a JSON answer with a known status, never a crash; only a
// command with text can start a collection. The seed corpus is in
// testdata/fuzz/FuzzSlackCommand; explore further with
// go test -run '^$' -fuzz FuzzSlackCommand -fuzztime 60s ./internal/botapi
func FuzzSlackCommand(f *testing.F) {
	f.Add(commandForm("Radiohead").Encode())
	f.Add(commandForm("").Encode())
	f.Add("text=%zz&response_url=https://hooks.slack.com/x")
	f.Add("text=Someone+New&response_url=ftp://example.com/")
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, body string) {
		before := len(fx.collect.started())
		w := serve(fx.h, slackRequest(body, testSecret))
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for body %q: %s", w.Code, body, w.Body.String())
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("answer is not JSON: %q", w.Body.String())
		}
		if started := fx.collect.started(); len(started) > before {
			last := started[len(started)-1]
			if last.Artist == "" || len(last.Artist) > MaxArtistLength {
				t.Fatalf("collection started for %q from body %q", last.Artist, body)
			}
		}
	})
}

// Any JSON API body gets 202 or a 400 naming what is wrong (413 when too
// large), never a crash; a 202 accounts for every artist. Seed corpus in
// testdata/fuzz/FuzzArtistRequests.
func FuzzArtistRequests(f *testing.F) {
	f.Add(`{"artists":["Radiohead","Someone New"]}`)
	f.Add(`{"artists":["X"],"callback_url":"https://example.com/cb"}`)
	f.Add(`{"artists":[]}`)
	f.Add(`{"artists":null,"callback_url":7}`)
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, body string) {
		w := serve(fx.h, apiRequest(http.MethodPost, "/v1/artist-requests", body))
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("answer is not JSON: %q", w.Body.String())
		}
		switch w.Code {
		case http.StatusAccepted:
			in, err := decodeRequests([]byte(body))
			if err != nil {
				t.Fatalf("202 for a body the decoder refuses (%v): %q", err, body)
			}
			var acc Accepted
			if err := json.Unmarshal(w.Body.Bytes(), &acc); err != nil || len(acc.Requests) != len(in.Artists) {
				t.Fatalf("202 with %d requests for %d artists: %s", len(acc.Requests), len(in.Artists), w.Body.String())
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			var e struct{ Error string }
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("%d without a message: %s", w.Code, w.Body.String())
			}
		default:
			t.Fatalf("status %d for body %q: %s", w.Code, body, w.Body.String())
		}
	})
}

// ParseArtist never panics; what it calls an ID is one, and a name comes
// back trimmed with its inner spacing collapsed.
func FuzzParseArtist(f *testing.F) {
	for _, s := range []string{"Radiohead", extendedID, "spotify:artist:" + extendedID,
		"<https://open.spotify.com/artist/" + extendedID + "|x>", "  a  b ", "<>", "<|>", "https://open.spotify.com/artist/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got, isID := ParseArtist(text)
		if isID && !spotifyIDPattern.MatchString(got) {
			t.Fatalf("ParseArtist(%q) = ID %q", text, got)
		}
		if !isID && utf8.ValidString(text) && got != strings.Join(strings.Fields(text), " ") {
			t.Fatalf("ParseArtist(%q) = name %q", text, got)
		}
	})
}
