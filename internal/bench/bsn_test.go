package bench

import (
	"os"
	"testing"
	"time"
)

func TestValidBSN(t *testing.T) {
	// The sandbox's demo people are elfproef-valid test BSNs.
	for _, s := range []string{"999993653", "999990627", "999991164"} {
		if !ValidBSN(s) {
			t.Errorf("ValidBSN(%s) = false, want true", s)
		}
	}
	for _, s := range []string{"999993654", "12345678", "99999365a", "000000000"} {
		if ValidBSN(s) {
			t.Errorf("ValidBSN(%s) = true, want false", s)
		}
	}
}

func TestBSNsDistinctAndValid(t *testing.T) {
	got := BSNs(20000)
	if len(got) != 20000 {
		t.Fatalf("got %d BSNs, want 20000", len(got))
	}
	seen := map[string]bool{}
	for _, s := range got {
		if s >= "999990000" {
			t.Fatalf("BSN %s is in the 99999xxxx range of the sandbox's demo people", s)
		}
		if !ValidBSN(s) || seen[s] {
			t.Fatalf("BSN %s invalid or repeated", s)
		}
		seen[s] = true
	}
}

func TestSummarise(t *testing.T) {
	t0 := time.Unix(1000, 0)
	sends := []Send{{"a", t0.Add(1 * time.Second)}, {"b", t0.Add(2 * time.Second)}, {"a", t0.Add(3 * time.Second)},
		{"c", t0.Add(3 * time.Second)}}
	d := Summarise(sends, 4, t0)
	if d.Distinct != 3 || d.Duplicates != 1 || d.Missing != 1 {
		t.Fatalf("got %+v", d)
	}
	if len(d.Quarters) != 3 || d.Quarters[0] != 1 {
		t.Fatalf("quarters %v", d.Quarters)
	}
}

func TestProcSelf(t *testing.T) {
	pid := os.Getpid()
	if _, err := ProcCPU(pid); err != nil {
		t.Fatal(err)
	}
	if rss, err := PeakRSS(pid); err != nil || rss <= 0 {
		t.Fatalf("PeakRSS = %d, %v", rss, err)
	}
}
