package clock

import (
	"testing"
	"time"
)

func TestFakeStandsWhereItIsSetAndRunsOn(t *testing.T) {
	f := NewFake(WorkingDay)
	if got := f.Now(); got.Before(WorkingDay) || got.Sub(WorkingDay) > time.Minute {
		t.Fatalf("Now = %v, want just after %v", got, WorkingDay)
	}
	night := time.Date(2026, time.October, 25, 2, 30, 0, 0, Amsterdam)
	f.Set(night)
	if got := f.Now(); got.Before(night) || got.Sub(night) > time.Minute {
		t.Fatalf("after Set: Now = %v, want just after %v", got, night)
	}
	f.Advance(6 * time.Hour)
	if got := f.Now(); got.Sub(night) < 6*time.Hour || got.Sub(night) > 6*time.Hour+time.Minute {
		t.Fatalf("after Advance: Now = %v, want 6h after %v", got, night)
	}
	a := f.Now()
	for !f.Now().After(a) {
		// It runs on: a poll loop under test must see time pass.
	}
}

func TestWorkingDayIsAnOrdinaryTuesdayMorning(t *testing.T) {
	if WorkingDay.Weekday() != time.Tuesday || WorkingDay.Hour() != 10 {
		t.Fatalf("WorkingDay = %v (%v)", WorkingDay, WorkingDay.Weekday())
	}
	if _, off := WorkingDay.Zone(); off != 2*3600 {
		t.Fatalf("WorkingDay offset = %d, want CEST (+2h)", off)
	}
}

func TestAmsterdamKnowsDST(t *testing.T) {
	// The last Sunday of October 2026: 03:00 CEST becomes 02:00 CET.
	before := time.Date(2026, time.October, 25, 0, 30, 0, 0, time.UTC).In(Amsterdam)
	after := time.Date(2026, time.October, 25, 1, 30, 0, 0, time.UTC).In(Amsterdam)
	if before.Hour() != 2 || after.Hour() != 2 {
		t.Fatalf("DST change: %v then %v, want 02:30 twice", before, after)
	}
}

func TestOrDefaultsToSystem(t *testing.T) {
	if Or(nil)().IsZero() {
		t.Fatal("Or(nil) gave the zero time")
	}
	f := NewFake(WorkingDay)
	if got := Or(f.Now)(); got.Year() != 2026 || got.Month() != time.June {
		t.Fatalf("Or(fake) = %v", got)
	}
}
