package xmlapi

import (
	"bytes"
	"encoding/xml"
	"testing"
)

// TestTextEscapesAsEncodingXML: the writer's text is xml.EscapeText's, for
// texts that need no escaping and for each kind that does.
func TestTextEscapesAsEncodingXML(t *testing.T) {
	for _, s := range []string{"", "plain 42", "2007-05-15T18:07:57Z", `quote " apos '`, "a & b < c > d",
		"tab\t nl\n cr\r", "ctrl \x01 del \x7f", "é ü 日本", "bad \xff utf8", "sep\u2028", "~ { } |"} {
		checkText(t, s)
	}
}

// FuzzText holds the writer's text to xml.EscapeText for any string.
func FuzzText(f *testing.F) {
	f.Add("a & b")
	f.Fuzz(checkText)
}

func checkText(t *testing.T, s string) {
	var want bytes.Buffer
	xml.EscapeText(&want, []byte(s))
	var w xmlWriter
	w.text(s)
	if w.String() != want.String() {
		t.Errorf("%q: %q, want %q", s, w.String(), want.String())
	}
}
