package batch

import (
	"fmt"
	"strings"
	"time"

	"github.com/mijnservices/koerier/internal/clock"
)

// Schedule says when a bucket is due: Prev is the latest cut-off at or
// before t. A bucket is sealed once per cut-off.
type Schedule interface {
	Prev(t time.Time) time.Time
}

// Every is a schedule with a cut-off every d (Berichtenbox: every few
// minutes), aligned to the Unix epoch.
func Every(d time.Duration) Schedule { return every(d) }

type every time.Duration

func (e every) Prev(t time.Time) time.Time { return t.Truncate(time.Duration(e)) }

// Cutoff is a daily schedule in Europe/Amsterdam.
type Cutoff struct {
	times []int // minutes after midnight, ascending
	days  [7]bool
	spec  string
}

var dayNames = map[string]time.Weekday{"zo": time.Sunday, "ma": time.Monday, "di": time.Tuesday, "wo": time.Wednesday,
	"do": time.Thursday, "vr": time.Friday, "za": time.Saturday}

// ParseCutoff reads a cut-off such as "16:00 ma-vr", "09:00,16:00 ma,wo,vr"
// or "16:00" (every day): times in Europe/Amsterdam, then Dutch day
// abbreviations (ma di wo do vr za zo), single or as a range.
func ParseCutoff(spec string) (*Cutoff, error) {
	c := &Cutoff{spec: spec}
	f := strings.Fields(spec)
	if len(f) == 0 || len(f) > 2 {
		return nil, fmt.Errorf("cut-off %q: want times and days, such as \"16:00 ma-vr\"", spec)
	}
	for _, hm := range strings.Split(f[0], ",") {
		t, err := time.Parse("15:04", hm)
		if err != nil {
			return nil, fmt.Errorf("cut-off %q: %q is not a time HH:MM", spec, hm)
		}
		c.times = append(c.times, t.Hour()*60+t.Minute())
	}
	if len(f) == 1 {
		for i := range c.days {
			c.days[i] = true
		}
		return c, nil
	}
	for _, part := range strings.Split(f[1], ",") {
		from, to, rng := strings.Cut(part, "-")
		a, ok1 := dayNames[from]
		b, ok2 := a, true
		if rng {
			b, ok2 = dayNames[to]
		}
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("cut-off %q: %q is not a day or range of days (ma di wo do vr za zo)", spec, part)
		}
		for d := a; ; d = (d + 1) % 7 {
			c.days[d] = true
			if d == b {
				break
			}
		}
	}
	return c, nil
}

// MustCutoff is ParseCutoff for specs known to be valid (tests, defaults).
func MustCutoff(spec string) *Cutoff {
	c, err := ParseCutoff(spec)
	if err != nil {
		panic(err)
	}
	return c
}

func (c *Cutoff) String() string { return c.spec }

// Prev implements Schedule; the zero time when there was none in the past
// eight days (no days chosen).
func (c *Cutoff) Prev(t time.Time) time.Time {
	l := t.In(clock.Amsterdam)
	y, m, d := l.Date()
	for back := 0; back <= 8; back++ {
		day := time.Date(y, m, d-back, 0, 0, 0, 0, clock.Amsterdam)
		if !c.days[day.Weekday()] {
			continue
		}
		for i := len(c.times) - 1; i >= 0; i-- {
			at := time.Date(day.Year(), day.Month(), day.Day(), c.times[i]/60, c.times[i]%60, 0, 0, clock.Amsterdam)
			if !at.After(t) {
				return at
			}
		}
	}
	return time.Time{}
}

// Name is the default batch name prefix: koerier-<YYYYMMDD>-<HHMM> in
// Europe/Amsterdam; the store appends -<seq>.
func Name(t time.Time) string {
	return "koerier-" + t.In(clock.Amsterdam).Format("20060102-1504")
}
