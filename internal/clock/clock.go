// Package clock is Koerier's one source of time: the wall clock every
// component reads unless it is given another, a fake that tests move
// instead of waiting for the wall clock, and the one Europe/Amsterdam
// location that quiet hours, throttles, cut-offs and reminders are
// reckoned in.
//
// Components take a `func() time.Time` (nil means System), so that one
// clock can be handed to the router, the rules' timing, the store, the bus
// and the sandbox peers alike.
package clock

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // quiet hours must work on minimal images without zoneinfo
)

// Amsterdam is Europe/Amsterdam, loaded once from the embedded tz database,
// so it never silently falls back to UTC on an image without zoneinfo.
var Amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic("clock: load Europe/Amsterdam from the embedded tz database: " + err.Error())
	}
	return loc
}()

// TestWallClockEnv names the variable that moves System in test binaries
// only (never in koerier itself): set it to an RFC 3339 time and the whole
// test suite runs as if the machine's clock had been set to that time when
// the binary started. Go reads time through the vDSO, so LD_PRELOAD time
// fakers cannot do this; it is how we prove that no test depends on the
// hour, the day or a DST change (see README, Testing).
const TestWallClockEnv = "KOERIER_TEST_WALLCLOCK"

var systemOffset = func() time.Duration {
	v := os.Getenv(TestWallClockEnv)
	if v == "" || !testing.Testing() {
		return 0
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		panic(fmt.Sprintf("clock: %s=%q is not an RFC 3339 time: %v", TestWallClockEnv, v, err))
	}
	return time.Until(t)
}()

// System is the wall clock. Every component that is not handed a clock
// reads this one.
func System() time.Time {
	if systemOffset == 0 {
		return time.Now()
	}
	return time.Now().Add(systemOffset)
}

// Or returns now, or System when now is nil.
func Or(now func() time.Time) func() time.Time {
	if now == nil {
		return System
	}
	return now
}

// Fake is a clock a test sets and moves. From the time it was last set it
// runs on at the wall clock's pace, so that leases, polls and timeouts in
// the code under test still elapse, but where it stands (the hour, the day,
// a DST change) is the test's choice, not the machine's. Set and Advance
// jump it; it never depends on when the test runs.
type Fake struct {
	mu   sync.Mutex
	base time.Time // the fake time at mark
	mark time.Time // the real (monotonic) time at which base was set
}

// NewFake returns a Fake standing at t.
func NewFake(t time.Time) *Fake { return &Fake{base: t, mark: time.Now()} }

// Now is the fake's current time; use it (the method value) wherever a
// component takes a clock.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.base.Add(time.Since(f.mark))
}

// Set moves the fake to t (forwards or backwards).
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.base, f.mark = t, time.Now()
}

// Advance moves the fake forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.base = f.base.Add(time.Since(f.mark)).Add(d)
	f.mark = time.Now()
}

// WorkingDay is a fixed, ordinary moment for tests that are not about
// time: Tuesday 9 June 2026, 10:00 in Amsterdam (summer time), outside any
// quiet hours, far from midnight, a month end and a DST change.
var WorkingDay = time.Date(2026, time.June, 9, 10, 0, 0, 0, Amsterdam)
