package main

import (
	"encoding/json"
	"io"
	"os"
)

// The --output formats.
const (
	outputText = "text"
	outputJSON = "json"
)

// A view is what a command prints when it is done: its renderText writes
// the text form, and the JSON form is encoding/json of the value itself,
// so both say the same thing and no command decides the format itself.
type view interface {
	renderText(out io.Writer) error
}

// render prints v in format (--output).
func render(out io.Writer, format string, v view) error {
	if format == outputJSON {
		return writeJSON(out, v)
	}
	return v.renderText(out)
}

func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// progressOut is where a command prints the lines it shows while it works:
// out for text, nowhere for JSON, whose one document is the final view.
func progressOut(format string, out io.Writer) io.Writer {
	if format == outputJSON {
		return io.Discard
	}
	return out
}

// checkOutput refuses an --output other than text or json.
func checkOutput(format string) error {
	if format != outputText && format != outputJSON {
		return usagef("--output %q: want text or json", format)
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
