// Package bench holds what `koerier bench` needs besides the router: a
// synthetic population for the sandbox fakes, the numbers it reports
// (percentiles, quarters, duplicates) and the /proc readings of the router
// process. Production code never imports it.
package bench

import "strconv"

const firstBSN = 999989999

// ValidBSN reports whether s is nine digits that pass the elfproef:
// sum(d_i * w_i) with weights 9..2 and -1 for the last digit is divisible
// by 11 (and not 0).
func ValidBSN(s string) bool {
	if len(s) != 9 {
		return false
	}
	sum := 0
	for i := 0; i < 9; i++ {
		d := int(s[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		w := 9 - i
		if i == 8 {
			w = -1
		}
		sum += d * w
	}
	return sum != 0 && sum%11 == 0
}

// BSNs returns n distinct elfproef-valid BSNs counting down from
// 999989999, just below the 99999xxxx test range: the sandbox's demo
// people live there, and one of them is deceased in the fake BRP (so a
// bench inwoner with that BSN would, rightly, get no message). They are
// synthetic and only ever reach the sandbox fakes.
func BSNs(n int) []string {
	out := make([]string, 0, n)
	for v := firstBSN; len(out) < n && v >= 100000000; v-- {
		s := strconv.Itoa(v)
		if ValidBSN(s) {
			out = append(out, s)
		}
	}
	return out
}
