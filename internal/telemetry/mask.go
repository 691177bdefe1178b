package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// Personal data that may end up in a log line by accident: a BSN inside a
// URL query, an email address in an error from a peer, a phone number in a
// Notify validation message. The masking handler rewrites every string that
// reaches a log line, so that masking does not depend on every call site
// remembering to do it.
var (
	reEmail = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.([A-Za-z]{2,})`)
	// A run of digits, optionally with single spaces or hyphens between
	// them and a leading "+": 999993653, 999 993 653, +31 6 12345678,
	// 06-12345678. It need not stand alone: bsn_999993653 and
	// %3D999993653 (a URL-encoded "=") hold a BSN too.
	reDigits = regexp.MustCompile(`\+?\d(?:[ \-]?\d)*`)
	reDate   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)
)

// MaskBSN masks a BSN to its last four digits: *****3653.
func MaskBSN(bsn string) string {
	if len(bsn) <= 4 {
		return strings.Repeat("*", len(bsn))
	}
	return strings.Repeat("*", len(bsn)-4) + bsn[len(bsn)-4:]
}

// Mask replaces every email address, phone number and BSN-shaped number in
// s by a masked form: j***@***.com, ********5678, *****3653.
//
// An email keeps only its first letter and top-level domain: the rest of
// the domain may be a surname (z***@jandijk.example). A run of 9 to 15
// digits (a BSN or RSIN, a phone number with or without its country code)
// is masked to its last four wherever it appears, spaced or not; so is a
// run of exactly 8 digits standing alone (a BSN written without its
// leading zero). Masking an innocent number is cheaper than leaking a BSN.
// Left alone are shorter runs, dates (2025-03-14), and digits inside a
// long hexadecimal token (a UUID, trace id or dedup key), which would
// otherwise lose the ids logs are correlated by.
func Mask(s string) string {
	if s == "" {
		return s
	}
	if strings.IndexByte(s, '@') >= 0 {
		s = reEmail.ReplaceAllStringFunc(s, func(m string) string {
			tld := m[strings.LastIndexByte(m, '.')+1:]
			return m[:1] + "***@***." + tld
		})
	}
	idx := reDigits.FindAllStringIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, ix := range idx {
		b.WriteString(s[last:ix[0]])
		b.WriteString(maskDigits(s, ix[0], ix[1]))
		last = ix[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// maskDigits returns the masked form of the digit run s[i:j].
func maskDigits(s string, i, j int) string {
	m := s[i:j]
	if d := reDate.FindString(m); d != "" {
		// 2025-03-14, or 2025-03-14 09 of a timestamp: a date, not a
		// number; mask what follows it on its own.
		return d + Mask(m[len(d):])
	}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, m)
	switch n := len(digits); {
	case n >= 9 && n <= 15:
	case n == 8 && len(m) == 8 && !isWordByte(s, i-1) && !isWordByte(s, j):
	default:
		return m
	}
	if inHexToken(s, i, j) {
		return m
	}
	return strings.Repeat("*", len(digits)-4) + digits[len(digits)-4:]
}

func isWordByte(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return false
	}
	c := s[i]
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// inHexToken reports whether s[i:j] lies inside a run of hexadecimal
// digits and hyphens that holds a letter and at least 16 hex digits: a
// UUID, a trace id or a sha256 key.
func inHexToken(s string, i, j int) bool {
	isHex := func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '-'
	}
	for i > 0 && isHex(s[i-1]) {
		i--
	}
	for j < len(s) && isHex(s[j]) {
		j++
	}
	hex, letter := 0, false
	for k := i; k < j; k++ {
		switch c := s[k]; {
		case c == '-':
		case c >= '0' && c <= '9':
			hex++
		default:
			hex++
			letter = true
		}
	}
	return letter && hex >= 16
}

// MaskingHandler wraps a slog.Handler and masks personal data in the message
// and in every string, error and Stringer attribute, including groups.
type MaskingHandler struct{ next slog.Handler }

// NewMaskingHandler wraps next.
func NewMaskingHandler(next slog.Handler) *MaskingHandler { return &MaskingHandler{next: next} }

func (h *MaskingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *MaskingHandler) Handle(ctx context.Context, r slog.Record) error {
	nr := slog.NewRecord(r.Time, r.Level, Mask(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		nr.AddAttrs(maskAttr(a))
		return true
	})
	return h.next.Handle(ctx, nr)
}

func (h *MaskingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = maskAttr(a)
	}
	return &MaskingHandler{next: h.next.WithAttrs(out)}
}

func (h *MaskingHandler) WithGroup(name string) slog.Handler {
	return &MaskingHandler{next: h.next.WithGroup(name)}
}

func maskAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Mask(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, ga := range g {
			out[i] = maskAttr(ga)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, Mask(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, Mask(x.String()))
		case []byte:
			return slog.String(a.Key, Mask(string(x)))
		default:
			return slog.String(a.Key, Mask(fmt.Sprintf("%+v", x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
