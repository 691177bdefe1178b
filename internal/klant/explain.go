package klant

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/telemetry"
)

// factOrder is the order facts are explained in; unknown facts follow,
// sorted.
var factOrder = []string{
	FactUnknown, FactPartij, FactName, FactLanguage, FactEmail, FactPhone, FactPreferredChannel,
	FactBerichtenbox, FactPostalAddress, FactDeceased, FactNoPost, FactSecrecy, FactCuratele, FactContactpersonen,
}

// Explain writes a human-readable account of a resolved recipient for the
// KCC and admins: every fact with the registry and record it came from.
// Identifiers (BSN, email, phone) are masked; the output may be pasted into
// a ticket.
func Explain(w io.Writer, r event.Recipient) error {
	e := &explainer{w: w}
	e.recipient(r, "")
	return e.err
}

type explainer struct {
	w   io.Writer
	err error
}

func (e *explainer) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func (e *explainer) recipient(r event.Recipient, indent string) {
	s := r.Subject
	kind := r.Kind
	if kind == "" {
		kind = s.Kind
	}
	e.printf("%sRecipient (%s)\n", indent, kind)
	ids := []string{}
	if s.BSN != "" {
		ids = append(ids, "BSN "+telemetry.MaskBSN(s.BSN))
	}
	if s.KVK != "" {
		ids = append(ids, "KVK "+s.KVK)
	}
	if s.Vestigingsnummer != "" {
		ids = append(ids, "vestiging "+s.Vestigingsnummer)
	}
	if s.RSIN != "" {
		ids = append(ids, "RSIN "+telemetry.MaskBSN(s.RSIN))
	}
	if s.PartijURL != "" {
		ids = append(ids, "partij "+s.PartijURL)
	}
	if s.Role != "" {
		ids = append(ids, "role "+s.Role)
	}
	if len(ids) > 0 {
		e.printf("%s  subject: %s\n", indent, strings.Join(ids, ", "))
	}

	values := map[string]string{
		FactPartij:           "found",
		FactName:             r.Name,
		FactLanguage:         r.Language,
		FactEmail:            telemetry.Mask(r.Email),
		FactPhone:            telemetry.Mask(r.Phone),
		FactPreferredChannel: r.PreferredChannel,
		FactBerichtenbox:     triText(r.Berichtenbox),
		FactDeceased:         yes(r.Deceased),
		FactNoPost:           yes(r.NoPost),
		FactSecrecy:          yes(r.Secrecy),
		FactCuratele:         yes(r.Curatele),
		FactUnknown:          yes(r.Unknown),
	}
	if a := r.PostalAddress; a != nil {
		parts := append([]string{a.NameLine}, a.Lines...)
		if a.Land != "" {
			parts = append(parts, a.Land)
		}
		values[FactPostalAddress] = strings.Join(nonEmpty(parts), " / ")
	}
	if n := len(r.Contactpersonen); n > 0 {
		values[FactContactpersonen] = fmt.Sprintf("%d, below", n)
	}

	seen := map[string]bool{}
	facts := append([]string(nil), factOrder...)
	var rest []string
	for f := range r.Sources {
		if !contains(factOrder, f) {
			rest = append(rest, f)
		}
	}
	sort.Strings(rest)
	facts = append(facts, rest...)
	for _, f := range facts {
		src, hasSrc := r.Sources[f]
		v := values[f]
		if seen[f] || (!hasSrc && (v == "" || v == "no")) {
			continue
		}
		seen[f] = true
		if v == "" {
			v = "-"
		}
		e.printf("%s  %-17s %s\n", indent, f+":", v)
		if hasSrc {
			from := src.Registry
			if src.Record != "" {
				from += " " + telemetry.Mask(src.Record)
			}
			if src.Note != "" {
				from += " (" + telemetry.Mask(src.Note) + ")"
			}
			e.printf("%s  %-17s   from %s\n", indent, "", from)
		} else {
			e.printf("%s  %-17s   from: no source recorded\n", indent, "")
		}
	}
	for i, c := range r.Contactpersonen {
		e.printf("%s  contactpersoon %d:\n", indent, i+1)
		e.recipient(c, indent+"    ")
	}
}

func triText(t event.Tri) string {
	switch t {
	case event.Yes:
		return "subscribed"
	case event.No:
		return "not subscribed"
	}
	return ""
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
