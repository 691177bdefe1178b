package notify

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Email validation after notifications-utils: a permissive local part, a
// hostname of valid labels and a real-looking top-level domain.
var (
	reEmail    = regexp.MustCompile("^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~\\-]+@([^.@][^@\\s]+)$")
	reHostPart = regexp.MustCompile(`(?i)^(xn|[a-z0-9]+)(-?-[a-z0-9]+)*$`)
	reTLD      = regexp.MustCompile(`(?i)^([a-z]{2,63}|xn--([a-z0-9]+-)*[a-z0-9]+)$`)
)

func validEmail(addr string) bool {
	addr = strings.TrimSpace(addr)
	if len(addr) > 320 || strings.Contains(addr, "..") {
		return false
	}
	m := reEmail.FindStringSubmatch(addr)
	if m == nil {
		return false
	}
	host := m[1]
	if len(host) > 253 {
		return false
	}
	parts := strings.Split(host, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 63 || !reHostPart.MatchString(p) {
			return false
		}
	}
	return reTLD.MatchString(parts[len(parts)-1])
}

// countryPrefixes the fake knows; Notify knows them all, but a test only
// needs a few plausible ones and one that is not.
var countryPrefixes = []string{"1", "31", "32", "33", "34", "39", "41", "43", "44", "45", "46", "47", "48", "49", "90", "212", "297", "351", "352", "353", "597", "599"}

// phoneProblem checks a phone number loosely, after Notify's rules for UK
// and international numbers plus NotifyNL's Dutch mobile numbers, and
// returns Notify's message for what is wrong ("" when it is fine).
func phoneProblem(p string) string {
	raw := strings.TrimSpace(p)
	intl := strings.HasPrefix(raw, "+") || strings.HasPrefix(raw, "00")
	digits := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '(', ')', '.', '+', '\t':
			return -1
		}
		return r
	}, raw)
	for _, r := range digits {
		if r < '0' || r > '9' {
			return "Must not contain letters or symbols"
		}
	}
	if strings.HasPrefix(raw, "00") {
		digits = digits[2:]
	}
	if !intl {
		switch {
		case strings.HasPrefix(digits, "06"): // Dutch mobile
			return lengthProblem(digits, 10)
		case strings.HasPrefix(digits, "07"): // UK mobile
			return lengthProblem(digits, 11)
		default:
			return "Not a UK mobile number"
		}
	}
	prefix := ""
	for _, c := range countryPrefixes {
		if strings.HasPrefix(digits, c) && len(c) > len(prefix) {
			prefix = c
		}
	}
	switch prefix {
	case "":
		return "Not a valid country prefix"
	case "31":
		return lengthProblem(digits, 11)
	case "44":
		return lengthProblem(digits, 12)
	}
	if len(digits) < 8 {
		return "Not enough digits"
	}
	if len(digits) > 15 {
		return "Too many digits"
	}
	return ""
}

func lengthProblem(digits string, want int) string {
	switch {
	case len(digits) < want:
		return "Not enough digits"
	case len(digits) > want:
		return "Too many digits"
	}
	return ""
}

var rePlaceholder = regexp.MustCompile(`\(\(([^()]+)\)\)`)

// render fills ((placeholders)) from pers, matched case-insensitively and
// ignoring spaces as Notify does. It returns the names it could not fill.
func render(text string, pers map[string]any) (string, []string) {
	norm := make(map[string]any, len(pers))
	for k, v := range pers {
		norm[normName(k)] = v
	}
	var missing []string
	out := rePlaceholder.ReplaceAllStringFunc(text, func(m string) string {
		name := m[2 : len(m)-2]
		cond := ""
		if i := strings.Index(name, "??"); i >= 0 {
			name, cond = name[:i], name[i+2:]
		}
		v, ok := norm[normName(name)]
		if !ok {
			missing = append(missing, strings.TrimSpace(name))
			return m
		}
		if cond != "" {
			if truthy(v) {
				return cond
			}
			return ""
		}
		return format(v)
	})
	sort.Strings(missing)
	return out, dedup(missing)
}

func normName(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "")) }

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != "" && !strings.EqualFold(x, "no") && !strings.EqualFold(x, "false")
	}
	return true
}

func format(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []any:
		// Notify renders a list as a Markdown bullet list of its own.
		items := make([]string, len(x))
		for i, it := range x {
			items[i] = "* " + format(it)
		}
		return "\n\n" + strings.Join(items, "\n")
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprintf("%d", int64(x))
		}
		return fmt.Sprint(x)
	}
	return fmt.Sprint(v)
}

func dedup(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
