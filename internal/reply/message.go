package reply

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/metronome-data/metronome/internal/serving"
)

// Limits of a message, within Slack's (header 150 characters, section
// 3000).
const (
	maxTopTracks  = 10
	maxReleases   = 5
	maxSimilar    = 5
	maxHeaderText = 150
	maxLineText   = 200
)

// ArtistMessage is the answer about a stored artist, for the whole
// channel: its name, genres, followers and popularity (when the API mode
// has them), its top tracks (extended mode) or latest releases
// (development mode), similar artists and the date of the data. Text is
// the same in plain words, for notifications and clients without blocks.
func ArtistMessage(v serving.ArtistView) *slack.WebhookMessage {
	name := v.Name
	if name == "" {
		name = v.ID
	}
	var blocks []slack.Block
	blocks = append(blocks, slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, clip(name, maxHeaderText), false, false)))
	text := []string{escape(name)}

	var facts []string
	if len(v.Genres) > 0 {
		facts = append(facts, "*Genres* "+escape(strings.Join(v.Genres, ", ")))
	}
	if v.Followers != nil {
		facts = append(facts, "*Followers* "+thousands(*v.Followers))
	}
	if v.Popularity != nil {
		facts = append(facts, fmt.Sprintf("*Popularity* %d/100", *v.Popularity))
	}
	if len(facts) > 0 {
		blocks = append(blocks, section(strings.Join(facts, "\n")))
	}

	switch {
	case len(v.TopTracks) > 0:
		lines := []string{"*Top tracks*"}
		var names []string
		for i, t := range v.TopTracks[:min(len(v.TopTracks), maxTopTracks)] {
			line := fmt.Sprintf("%d. %s", i+1, escape(clip(t.Name, maxLineText)))
			if t.Album != "" {
				line += " — _" + escape(clip(t.Album, maxLineText)) + "_"
			}
			if t.DurationMS > 0 {
				line += " (" + duration(t.DurationMS) + ")"
			}
			lines = append(lines, line)
			names = append(names, t.Name)
		}
		blocks = append(blocks, section(strings.Join(lines, "\n")))
		text = append(text, "top tracks: "+escape(strings.Join(names, ", ")))
	case len(v.Releases) > 0:
		lines := []string{"*Latest releases*"}
		var names []string
		for _, r := range v.Releases[:min(len(v.Releases), maxReleases)] {
			line := "• " + escape(clip(r.Name, maxLineText))
			var about []string
			if r.Type != "" {
				about = append(about, r.Type)
			}
			if r.ReleaseDate != "" {
				about = append(about, r.ReleaseDate)
			}
			if len(about) > 0 {
				line += " (" + escape(strings.Join(about, ", ")) + ")"
			}
			lines = append(lines, line)
			names = append(names, r.Name)
		}
		blocks = append(blocks, section(strings.Join(lines, "\n")))
		text = append(text, "latest releases: "+escape(strings.Join(names, ", ")))
	}

	if len(v.Similar) > 0 {
		var names []string
		for _, s := range v.Similar[:min(len(v.Similar), maxSimilar)] {
			n := s.Name
			if n == "" {
				n = s.ArtistID
			}
			names = append(names, clip(n, maxLineText))
		}
		blocks = append(blocks, section("*Similar artists* "+escape(strings.Join(names, ", "))))
		text = append(text, "similar: "+escape(strings.Join(names, ", ")))
	}

	about := "Spotify data"
	if v.DT != "" {
		about += " of " + v.DT
	}
	if v.ID != "" {
		about += fmt.Sprintf(" · <https://open.spotify.com/artist/%s|open in Spotify>", v.ID)
	}
	blocks = append(blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, about, false, false)))
	return &slack.WebhookMessage{
		ResponseType: slack.ResponseTypeInChannel,
		Text:         strings.Join(text, " — "),
		Blocks:       &slack.Blocks{BlockSet: blocks},
	}
}

// UsageMessage explains the command; command is how it was invoked, such
// as /metronome.
func UsageMessage(command string) *slack.WebhookMessage {
	if command == "" {
		command = "/metronome"
	}
	return ephemeral(fmt.Sprintf("Ask me about an artist: `%s Daft Punk`, or a Spotify artist ID or link. "+
		"I answer from what metronome has collected; an artist nobody tracks yet is collected first, "+
		"and I answer here once it is stored (usually within a minute).", escape(command)))
}

// CollectingMessage acknowledges a request for an artist nobody tracks yet.
func CollectingMessage(artist string) *slack.WebhookMessage {
	return ephemeral(fmt.Sprintf("Collecting *%s*… I will answer here once it is stored.", escape(clip(artist, maxLineText))))
}

// NotFoundMessage says Spotify does not know the artist.
func NotFoundMessage(artist, detail string) *slack.WebhookMessage {
	msg := fmt.Sprintf("Spotify knows no artist *%s*.", escape(clip(artist, maxLineText)))
	if detail != "" {
		msg += " (" + escape(clip(detail, maxLineText)) + ")"
	}
	return ephemeral(msg + " Check the spelling, or ask with the Spotify artist ID or link.")
}

// FailedMessage says the collection of the artist failed.
func FailedMessage(artist, detail string) *slack.WebhookMessage {
	msg := fmt.Sprintf("Could not collect *%s*", escape(clip(artist, maxLineText)))
	if detail != "" {
		msg += ": " + escape(clip(detail, 2*maxLineText))
	}
	return ephemeral(msg + ". Try again later.")
}

// ErrorMessage is a short ephemeral answer, e.g. the message of a 503.
func ErrorMessage(msg string) *slack.WebhookMessage {
	return ephemeral(escape(msg))
}

// Answer is the final answer to request r: ArtistMessage of view when it
// was stored, else a not-found or failure message. asker, when not empty,
// is a Slack user ID named in the answer (for chat.postMessage, which does
// not show who asked).
func Answer(r serving.Request, view *serving.ArtistView, asker string) *slack.WebhookMessage {
	var m *slack.WebhookMessage
	switch {
	case r.State == serving.RequestStored && view != nil:
		m = ArtistMessage(*view)
	case r.State == serving.RequestStored:
		m = FailedMessage(r.Artist, "it was collected, but the serving store has no entry for "+r.ArtistID)
	case r.State == serving.RequestNotFound:
		m = NotFoundMessage(r.Artist, r.Detail)
	default:
		m = FailedMessage(r.Artist, r.Detail)
	}
	if asker != "" {
		intro := fmt.Sprintf("<@%s> asked for %s:", asker, escape(clip(r.Artist, maxLineText)))
		blocks := []slack.Block{slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, intro, false, false))}
		if m.Blocks != nil {
			blocks = append(blocks, m.Blocks.BlockSet...)
		} else {
			blocks = append(blocks, section(m.Text))
		}
		m.Blocks = &slack.Blocks{BlockSet: blocks}
		m.Text = intro + " " + m.Text
	}
	return m
}

func ephemeral(text string) *slack.WebhookMessage {
	return &slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, Text: text}
}

func section(mrkdwn string) *slack.SectionBlock {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, mrkdwn, false, false), nil, nil)
}

// escape makes text safe in a Slack message: &, < and > are the control
// characters of its markup (links, mentions).
func escape(s string) string {
	return slackEscaper.Replace(s)
}

// slackEscaper is built once: building a Replacer cost more than the rest
// of a slash command's answer (BenchmarkFrontDoorLoad's profile).
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// clip shortens s to at most n runes, with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func duration(ms int) string {
	s := ms / 1000
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// thousands formats n with comma separators: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// CannotCollectText is the answer to an asker of artist whose collection
// could not be started.
func CannotCollectText(artist string) string {
	return fmt.Sprintf("Cannot collect right now: the workflow service is not answering, so %q was not requested. Nothing was kept; ask again in a minute.", artist)
}

// CannotCollectMessage is CannotCollectText as a Slack message.
func CannotCollectMessage(artist string) *slack.WebhookMessage {
	return ErrorMessage(CannotCollectText(clip(artist, maxLineText)))
}
