package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// What a README block is for, from the annotation on the line before its
// fence. Unannotated sh blocks run.
const (
	runBlock    = "run"
	skipBlock   = "skip"   // illustrative: never executed
	serverBlock = "server" // the start command: its flags start the checked server
)

// annotation marks the block that follows: <!-- readme-check: skip (why) -->.
var annotation = regexp.MustCompile(`^<!--\s*readme-check:\s*(\S+)(.*?)-->\s*$`)

// expectMarker announces the status a command answers when it is not 2xx:
// a trailing "# expect 404".
var expectMarker = regexp.MustCompile(`#\s*expect\s+([1-5][0-9][0-9])\b`)

// block is one fenced sh block of the README.
type block struct {
	n        int // 1-based among the sh blocks
	line     int // the line of its opening fence
	kind     string
	commands []command
}

// command is one shell command of a block: its lines joined where they end
// in a backslash.
type command struct {
	line   int // where it starts in the README
	text   string
	expect int // the announced status, 0 for any 2xx
}

// parseREADME finds the sh blocks of a Markdown document and their
// commands. Other fenced blocks (xml, json, untagged) are text.
func parseREADME(doc string) ([]block, error) {
	lines := strings.Split(doc, "\n")
	var blocks []block
	for i := 0; i < len(lines); i++ {
		fence := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(fence, "```") {
			continue
		}
		lang := strings.TrimSpace(strings.TrimPrefix(fence, "```"))
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		if end == len(lines) {
			return nil, fmt.Errorf("README.md:%d: the fenced block never closes", i+1)
		}
		if lang == "sh" || lang == "bash" {
			kind, err := blockKind(lines, i)
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, block{n: len(blocks) + 1, line: i + 1, kind: kind, commands: splitCommands(lines[i+1:end], i+2)})
		}
		i = end
	}
	return blocks, nil
}

// blockKind reads the annotation on the nearest non-blank line above the fence.
func blockKind(lines []string, fence int) (string, error) {
	for j := fence - 1; j >= 0; j-- {
		above := strings.TrimSpace(lines[j])
		if above == "" {
			continue
		}
		m := annotation.FindStringSubmatch(above)
		if m == nil {
			return runBlock, nil
		}
		switch m[1] {
		case runBlock, skipBlock, serverBlock:
			return m[1], nil
		}
		return "", fmt.Errorf("README.md:%d: unknown readme-check annotation %q: use run, skip or server", j+1, m[1])
	}
	return runBlock, nil
}

// splitCommands joins continued lines; comment-only and blank lines are
// dropped. first is the README line of body[0].
func splitCommands(body []string, first int) []command {
	var cmds []command
	var cur *command
	for i, l := range body {
		if cur == nil {
			t := strings.TrimSpace(l)
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			cmds = append(cmds, command{line: first + i})
			cur = &cmds[len(cmds)-1]
			cur.text = l
		} else {
			cur.text += "\n" + l
		}
		if strings.HasSuffix(l, `\`) {
			continue
		}
		if m := expectMarker.FindStringSubmatch(l); m != nil {
			cur.expect, _ = strconv.Atoi(m[1])
		}
		cur = nil
	}
	return cmds
}

// prelude is the start of the generated script. curl is wrapped so that
// every request reports its status: a status other than the announced one
// (any 2xx when none is) is recorded in $README_FAILED and stops the run,
// even from inside $(…), where exit would only leave the subshell.
const prelude = `set -eo pipefail
README_FAILED=$(mktemp)
__at=""
__expect=""
__failed() {
	if [ -s "$README_FAILED" ]; then
		cat "$README_FAILED" >&2
	else
		echo "readme-check: $__at: the command failed (exit $1)" >&2
	fi
	exit 1
}
trap '__failed $?' ERR
curl() {
	local body status rc=0
	body=$(mktemp)
	status=$(command curl -sS -o "$body" -w '%{http_code}' "$@") || rc=$?
	cat "$body"
	if [ -s "$body" ] && [ -n "$(tail -c1 "$body")" ]; then echo; fi
	rm -f "$body"
	if [ "$rc" -ne 0 ]; then
		echo "readme-check: $__at: curl itself failed (exit $rc) before any status; a URL with [] needs -g" >>"$README_FAILED"
		return "$rc"
	fi
	case $status in
	${__expect:-2??}) ;;
	*)
		echo "readme-check: $__at: answered $status, expected ${__expect:-a 2xx status}; announce a status on purpose with a trailing: # expect $status" >>"$README_FAILED"
		return 22
		;;
	esac
}
__check() {
	if [ -s "$README_FAILED" ]; then
		__failed 1
	fi
}
`

// script turns the runnable blocks into one bash script, so that variables
// set in one block serve the next, as they do for a reader pasting them in
// order. addr replaces the README's default address.
func script(blocks []block, addr string) string {
	var b strings.Builder
	b.WriteString(prelude)
	for _, bl := range blocks {
		if bl.kind != runBlock {
			continue
		}
		for _, c := range bl.commands {
			at := fmt.Sprintf("README.md:%d (sh block %d): %s", c.line, bl.n, firstLine(c.text))
			expect := ""
			if c.expect != 0 {
				expect = strconv.Itoa(c.expect)
			}
			fmt.Fprintf(&b, "\n__at=%s\n__expect=%s\necho %s >&2\n", shellQuote(at), expect, shellQuote("==> "+at))
			b.WriteString(strings.ReplaceAll(c.text, defaultAddr, addr) + "\n__check\n")
		}
	}
	b.WriteString("\n__expect=\necho 'readme-check: every runnable command answered as the README says' >&2\n")
	return b.String()
}

func firstLine(s string) string {
	first, _, more := strings.Cut(s, "\n")
	if more {
		first += " …"
	}
	return strings.TrimSpace(first)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
