// Package quote makes names that tenants chose safe to put in an alert
// text: Slack and Discord read mentions, links and markup anywhere in it.
package quote

import (
	"strings"
	"unicode"
)

// maxQuoted bounds a tenant-chosen name in an alert text, in runes.
const maxQuoted = 80

// quoteReplacer swaps every character Slack or Discord reads as markup that
// could notify people or make a link for a look-alike that is plain text:
// <!channel>, <@U1>, <url|text>, @everyone, @here, [text](url), bare URLs
// and domains (their dots and slashes), `code` that would hide the rest.
var quoteReplacer = strings.NewReplacer(
	"<", "‹", ">", "›", "&", "＆", "@", "＠", "`", "ʹ",
	"[", "⁅", "]", "⁆", ".", "․", "/", "∕", ":", "꞉",
)

// Name makes a name a tenant chose safe to put in an alert text: no
// mentions, no links, no markup, one line, at most 80 characters.
func Name(name string) string {
	var b strings.Builder
	n := 0
	for _, r := range name {
		if n == maxQuoted {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return "\"" + quoteReplacer.Replace(b.String()) + "\""
}
