// Package spelling finds the word a person most likely meant, for the
// "did you mean" hints of the config and rules loaders.
package spelling

import "strings"

// Closest returns the known word nearest to got (case-insensitively, by
// edit distance) and that distance; the first of equals wins. With no
// known words it returns "" and -1.
func Closest(got string, known []string) (string, int) {
	best, bestD := "", -1
	g := strings.ToLower(got)
	for _, k := range known {
		if d := distance(g, k); bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	return best, bestD
}

// distance is the Levenshtein edit distance between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
