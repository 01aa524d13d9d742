package phonenumbers

import (
	"regexp"
	"sync"
)

// lazyRegexp is a package-level regular expression compiled on its first
// use rather than at package initialization, so that a program linking
// the package without calling it (a serverless function's cold start)
// does not pay for compiling them all. It has the methods of
// *regexp.Regexp that the package calls.
type lazyRegexp struct {
	pattern string
	once    sync.Once
	re      *regexp.Regexp
}

func newLazyRegexp(pattern string) *lazyRegexp {
	return &lazyRegexp{pattern: pattern}
}

// Regexp returns the compiled expression; it panics, as regexp.MustCompile
// did, when the pattern is invalid.
func (l *lazyRegexp) Regexp() *regexp.Regexp {
	l.once.Do(func() { l.re = regexp.MustCompile(l.pattern) })
	return l.re
}

func (l *lazyRegexp) MatchString(s string) bool { return l.Regexp().MatchString(s) }

func (l *lazyRegexp) FindAllString(s string, n int) []string { return l.Regexp().FindAllString(s, n) }

func (l *lazyRegexp) FindIndex(b []byte) []int { return l.Regexp().FindIndex(b) }

func (l *lazyRegexp) FindStringIndex(s string) []int { return l.Regexp().FindStringIndex(s) }

func (l *lazyRegexp) FindStringSubmatch(s string) []string { return l.Regexp().FindStringSubmatch(s) }

func (l *lazyRegexp) ReplaceAllString(src, repl string) string {
	return l.Regexp().ReplaceAllString(src, repl)
}

func (l *lazyRegexp) ReplaceAllStringFunc(src string, repl func(string) string) string {
	return l.Regexp().ReplaceAllStringFunc(src, repl)
}

func (l *lazyRegexp) Split(s string, n int) []string { return l.Regexp().Split(s, n) }
