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
	reEmail = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})`)
	// A Dutch or international phone number: +31 6 12345678, 0612345678,
	// 0031612345678. Requires 9 or more digits after the prefix.
	rePhone = regexp.MustCompile(`(?:\+|00)\d{1,3}[ \-]?\d(?:[ \-]?\d){7,12}|\b0\d(?:[ \-]?\d){8}\b`)
	// Any standalone run of 8 or 9 digits: BSNs (and RSINs, which share the
	// format). Masking an innocent 9-digit number is cheaper than leaking a
	// BSN.
	reBSN = regexp.MustCompile(`\b\d{8,9}\b`)
)

// MaskBSN masks a BSN to its last four digits: *****3653.
func MaskBSN(bsn string) string {
	if len(bsn) <= 4 {
		return strings.Repeat("*", len(bsn))
	}
	return strings.Repeat("*", len(bsn)-4) + bsn[len(bsn)-4:]
}

// Mask replaces every email address, phone number and BSN-shaped number in
// s by a masked form: j***@example.com, ********5678, *****3653.
func Mask(s string) string {
	if s == "" {
		return s
	}
	if strings.IndexByte(s, '@') >= 0 {
		s = reEmail.ReplaceAllStringFunc(s, func(m string) string {
			at := strings.LastIndexByte(m, '@')
			return m[:1] + "***" + m[at:]
		})
	}
	s = rePhone.ReplaceAllStringFunc(s, func(m string) string {
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, m)
		return strings.Repeat("*", len(digits)-4) + digits[len(digits)-4:]
	})
	return reBSN.ReplaceAllStringFunc(s, MaskBSN)
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
