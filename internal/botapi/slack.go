package botapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/reply"
	"github.com/metronome-data/metronome/internal/serving"
)

// readBody reads the whole body, at most MaxBody bytes. It writes the 413
// (or 400) itself and returns false when the body is refused.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body over 64 KiB")
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "could not read the request body")
		return nil, false
	}
	return body, true
}

// slackCommand answers a slash command. The request is verified first —
// X-Slack-Signature over v0:{timestamp}:{raw body} with the signing
// secret, and a timestamp within 5 minutes of now — before anything is
// parsed, stored or started.
func (h *handler) slackCommand(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	sv, err := slack.NewSecretsVerifier(r.Header, h.o.SigningSecret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		h.log.Info("slash command refused", zap.String("reason", err.Error()), zap.String("remote", r.RemoteAddr))
		writeError(w, http.StatusUnauthorized, "request not signed by Slack")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	cmd, err := slack.SlashCommandParse(r)
	if err != nil {
		writeSlack(w, http.StatusBadRequest, reply.ErrorMessage("could not read the slash command"))
		return
	}
	text := strings.TrimSpace(cmd.Text)
	if text == "" || strings.EqualFold(text, "help") {
		writeSlack(w, http.StatusOK, reply.UsageMessage(cmd.Command))
		return
	}
	if len(text) > MaxArtistLength {
		writeSlack(w, http.StatusOK, reply.ErrorMessage("That is longer than any artist name I know: ask with at most 200 characters."))
		return
	}
	artist, isID := ParseArtist(text)
	if !utf8.ValidString(artist) || strings.ContainsFunc(artist, isControl) {
		writeSlack(w, http.StatusOK, reply.ErrorMessage("That is not an artist name I can look up: ask with plain text."))
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), h.o.Deadline)
	defer cancel()
	view, found, err := h.findArtist(ctx, artist, isID)
	if err != nil {
		h.unavailable(w, "the serving store", err, slackError)
		return
	}
	if found {
		writeSlack(w, http.StatusOK, reply.ArtistMessage(view))
		return
	}

	// Unknown: keep where to answer in the store, then start collection
	// with the request ID only.
	if err := reply.CheckURL(cmd.ResponseURL); err != nil {
		writeSlack(w, http.StatusBadRequest, reply.ErrorMessage("the command has no usable response_url"))
		return
	}
	id, err := newRequestID("slack")
	if err != nil {
		writeSlack(w, http.StatusInternalServerError, reply.ErrorMessage("could not name the request"))
		return
	}
	now := h.o.Now()
	target, err := reply.Target{
		Kind: reply.KindSlack, URL: cmd.ResponseURL, URLExpiresAt: now.Add(h.o.ReplyTTL),
		Channel: cmd.ChannelID, User: cmd.UserID,
	}.Encode()
	if err != nil {
		writeSlack(w, http.StatusInternalServerError, reply.ErrorMessage("could not record where to answer"))
		return
	}
	req := serving.Request{ID: id, Artist: artist, State: serving.RequestPending, ReplyTo: target, ExpiresAt: now.Add(h.o.RequestTTL)}
	if err := call(ctx, func(ctx context.Context) error { return h.o.Store.PutRequest(ctx, req) }); err != nil {
		h.unavailable(w, "the serving store", err, slackError)
		return
	}
	if err := h.collect(ctx, &req); err != nil {
		// 200: Slack shows the asker a message only from a 200 answer.
		writeSlack(w, http.StatusOK, reply.CannotCollectMessage(artist))
		return
	}
	h.log.Info("collection requested", zap.String("request", id), zap.String("artist", artist),
		zap.String("channel", cmd.ChannelID), zap.String("user", cmd.UserID))
	writeSlack(w, http.StatusOK, reply.CollectingMessage(artist))
}

// writeSlack writes a message as the JSON response to a slash command.
func writeSlack(w http.ResponseWriter, status int, m *slack.WebhookMessage) {
	writeJSON(w, status, m)
}

func slackError(w http.ResponseWriter, status int, msg string) {
	writeSlack(w, status, reply.ErrorMessage(msg))
}
