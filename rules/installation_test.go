package rules

import (
	"slices"
	"strings"
	"testing"

	"github.com/mijnservices/koerier/internal/event"
)

func TestRestrict(t *testing.T) {
	notifyOnly := func(ch string) bool { return ch == event.ChannelEmail || ch == event.ChannelSMS }
	tests := []struct {
		name              string
		plan              []string
		wantPlan          []string
		wantUndeliverable bool
	}{
		{"all configured", []string{"email", "sms"}, []string{"email", "sms"}, false},
		{"some dropped", []string{"email", "berichtenbox", "print"}, []string{"email"}, false},
		{"nothing left", []string{"berichtenbox", "print"}, []string{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := event.Decision{Rule: "r", Plan: tt.plan}
			Restrict(&d, notifyOnly)
			if !slices.Equal(d.Plan, tt.wantPlan) || d.Undeliverable != tt.wantUndeliverable || d.Skip != tt.wantUndeliverable {
				t.Fatalf("plan %v undeliverable %v skip %v, want %v %v", d.Plan, d.Undeliverable, d.Skip, tt.wantPlan, tt.wantUndeliverable)
			}
			if tt.wantUndeliverable && !strings.Contains(d.Reason, "onbezorgbaar") {
				t.Fatalf("reason %q does not say onbezorgbaar", d.Reason)
			}
		})
	}
	skip := event.Decision{Skip: true, Plan: []string{"print"}}
	Restrict(&skip, notifyOnly)
	if skip.Undeliverable {
		t.Fatal("a deliberate skip became undeliverable")
	}
}

func TestPlanGaps(t *testing.T) {
	rs, err := Load("../config/rules.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	all := func(string) bool { return true }
	if gaps := rs.PlanGaps(all); len(gaps) != 0 {
		t.Fatalf("with every channel configured: %v", gaps)
	}
	none := func(string) bool { return false }
	for _, g := range rs.PlanGaps(none) {
		if !g.Undeliverable() {
			t.Fatalf("with no channel configured, %s is not undeliverable", g)
		}
	}
}
