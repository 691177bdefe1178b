package bench

import (
	"sort"
	"time"
)

// Percentile of sorted durations (q in [0,1]); 0 when empty.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(q*float64(len(sorted)-1))]
}

// Send is one message the Notify fake accepted, as the bench counts it.
type Send struct {
	Reference string
	At        time.Time
}

// Delivered sums up the sends against the n expected distinct references.
type Delivered struct {
	Distinct, Duplicates, Missing int
	// Last is the time of the last first-time send.
	Last time.Time
	// Quarters are events/s per quarter of the expected n, by the time of
	// each reference's first send; the first quarter counts from start.
	Quarters []float64
}

// Summarise counts distinct references, duplicates (a reference sent more
// than once) and missing ones (n minus distinct), and the rate per quarter.
func Summarise(sends []Send, n int, start time.Time) Delivered {
	var d Delivered
	seen := make(map[string]bool, len(sends))
	var firsts []time.Time
	for _, s := range sends {
		if seen[s.Reference] {
			d.Duplicates++
			continue
		}
		seen[s.Reference] = true
		firsts = append(firsts, s.At)
	}
	sort.Slice(firsts, func(i, j int) bool { return firsts[i].Before(firsts[j]) })
	d.Distinct = len(firsts)
	if d.Missing = n - d.Distinct; d.Missing < 0 {
		d.Missing = 0
	}
	if len(firsts) > 0 {
		d.Last = firsts[len(firsts)-1]
	}
	prev, prevIdx := start, 0
	for q := 1; q <= 4; q++ {
		idx := q * n / 4
		if idx > len(firsts) || idx <= prevIdx {
			break
		}
		at := firsts[idx-1]
		if secs := at.Sub(prev).Seconds(); secs > 0 {
			d.Quarters = append(d.Quarters, float64(idx-prevIdx)/secs)
		} else {
			d.Quarters = append(d.Quarters, 0)
		}
		prev, prevIdx = at, idx
	}
	return d
}
