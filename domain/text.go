package domain

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The one rule for text both APIs store: every field a client sets passes
// through textProblem, so legacy XML and v2 JSON accept exactly the same text.
//
// Refused everywhere: control characters (Unicode Cc), invisible formatting
// characters (Unicode Cf: zero-width space, word joiner, bidi embeddings,
// overrides and isolates, the byte-order mark, soft hyphen, tag characters …),
// line and paragraph separators (Zl, Zp), private-use and unassigned code
// points, noncharacters, the Hangul fillers that render as nothing, and
// U+FFFD, which stands for bytes a decoder could not read. These let a name
// or an email look like another one, reorder what an agent reads, or hide
// text from a reviewer; no real name needs them.
//
// Two exceptions, chosen deliberately:
//   - Multi-line fields (notes, details, signature, descriptions, custom
//     field values) keep newlines and tabs.
//   - In names and free text, the zero-width joiner and non-joiner (U+200D,
//     U+200C) are kept between two visible characters: Persian, Indic
//     scripts and emoji sequences need them. Never in emails, ids, phones
//     or tags, which are compared, not read.

// textKind says which exceptions a field gets.
type textKind uint8

const (
	lineText  textKind = iota // one line, compared by machines: emails, ids, phones, tags, domains
	nameText                  // one line, read by people: names and aliases (joiners allowed)
	proseText                 // several lines read by people: notes, details, signatures
)

// Length caps, in characters. The real service caps names at 255.
const (
	maxNameLen  = 255
	maxLineLen  = 255
	maxEmailLen = 254 // RFC 5321's path limit, in bytes
	maxProseLen = 64 << 10
)

func (k textKind) maxLen() int {
	if k == proseText {
		return maxProseLen
	}
	return maxLineLen
}

// hangulFillers are letters (category Lo) that render as nothing.
const hangulFillers = "\u115f\u1160\u3164\uffa0"

// textProblem says why s cannot be stored in a field of kind k, or "".
func textProblem(s string, k textKind) string {
	if n := utf8.RuneCountInString(s); n > k.maxLen() {
		return fmt.Sprintf("is too long (maximum is %d characters)", k.maxLen())
	}
	return runeProblem(s, k)
}

// invisible reports characters no address or identifier may hold: what
// the rule refuses in one-line fields compared by machines.
func invisible(s string) bool { return runeProblem(s, lineText) != "" }

// runeProblem says which character of s a field of kind k refuses, or "".
func runeProblem(s string, k textKind) string {
	var prev rune
	for i, r := range s {
		if bad := refusedRune(r, k); bad || isJoiner(r) && !joins(k, prev, s[i+utf8.RuneLen(r):]) {
			if r == utf8.RuneError {
				return "must be valid UTF-8 text"
			}
			return fmt.Sprintf("must not contain control or invisible formatting characters (found U+%04X)", r)
		}
		prev = r
	}
	return ""
}

func refusedRune(r rune, k textKind) bool {
	switch {
	case r == '\n' || r == '\t' || r == '\r':
		return k != proseText
	case isJoiner(r):
		return false // judged with its neighbours
	case r == utf8.RuneError || strings.ContainsRune(hangulFillers, r):
		return true
	}
	// What is left of Unicode is C (control, format, surrogate, private use,
	// unassigned and noncharacters) and the line and paragraph separators.
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs)
}

func isJoiner(r rune) bool { return r == '\u200c' || r == '\u200d' }

// joins reports whether a joiner between prev and the text after it may stay:
// only in text read by people, and only between two visible characters.
func joins(k textKind, prev rune, after string) bool {
	next, size := utf8.DecodeRuneInString(after)
	visible := func(r rune) bool {
		return r != utf8.RuneError && unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.S)
	}
	return k != lineText && size > 0 && visible(prev) && visible(next)
}

// setText applies a text change of kind k: trimmed, checked, then set.
func setText(dst, src *string, field string, k textKind, v *invalid) {
	if src == nil {
		return
	}
	s := strings.TrimSpace(*src)
	if problem := textProblem(s, k); problem != "" {
		v.unacceptable(field, problem)
		return
	}
	*dst = s
}

// setName applies a required name: trimmed, not blank, checked.
func setName(dst, src *string, v *invalid) {
	if src != nil {
		*dst = strings.TrimSpace(*src)
	}
	if *dst == "" {
		v.blank("name")
	} else if problem := textProblem(*dst, nameText); problem != "" {
		v.unacceptable("name", problem)
	}
}

// setTags applies a tag-like list (tags, domain names): lower-cased, split on
// spaces, repeats dropped, as the real service stores them; each checked.
func setTags(dst, src *[]string, field string, v *invalid) {
	if src == nil {
		return
	}
	out := []string{}
	seen := map[string]bool{}
	for _, t := range *src {
		for _, f := range strings.Fields(strings.ToLower(t)) {
			if problem := textProblem(f, lineText); problem != "" {
				v.unacceptable(field, problem)
				return
			}
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	*dst = out
}

// mergeFields merges custom field changes into dst. Keys are one-line
// identifiers; text values, in lists too, may span lines, like notes.
func mergeFields(dst *map[string]any, src map[string]any, field string, v *invalid) {
	if src == nil {
		return
	}
	if problem := valueProblem(src); problem != "" {
		v.unacceptable(field, problem)
		return
	}
	if *dst == nil {
		*dst = map[string]any{}
	}
	for k, val := range src {
		(*dst)[k] = val
	}
}

// valueProblem applies the text rule to every key and string in a decoded
// custom field value.
func valueProblem(val any) string {
	switch x := val.(type) {
	case string:
		return textProblem(x, proseText)
	case []any:
		for _, e := range x {
			if problem := valueProblem(e); problem != "" {
				return problem
			}
		}
	case map[string]any:
		for k, e := range x {
			if problem := textProblem(k, lineText); problem != "" {
				return problem
			}
			if problem := valueProblem(e); problem != "" {
				return problem
			}
		}
	}
	return ""
}
