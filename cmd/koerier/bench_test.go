package main

import (
	"context"
	"io"
	"testing"
	"time"
)

// TestBenchEmbedded runs koerier bench end to end with a tiny N: the
// router in its own process on the embedded backend, every notification
// reaching the fake Notify exactly once.
func TestBenchEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a router process")
	}
	t.Setenv("TMPDIR", t.TempDir()) // the router log
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, peersOnly := range []bool{false, true} {
		res, err := runBench(ctx, benchOptions{N: 50, Concurrency: 8, Backend: "embedded", PeersOnly: peersOnly,
			Rules: "../../config/rules.example.yaml", Timeout: time.Minute}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s", res)
		if res.Accepted != 50 || res.Sent != 50 || res.Duplicates != 0 || res.Missing != 0 || res.TimedOut {
			t.Errorf("%s: accepted %d, sent %d, duplicates %d, missing %d, timed out %v; want 50, 50, 0, 0, false",
				res.Mode, res.Accepted, res.Sent, res.Duplicates, res.Missing, res.TimedOut)
		}
		if res.RouterCPUSecs <= 0 || res.PeakRSSMB <= 0 || len(res.QuartersPS) != 4 {
			t.Errorf("%s: router CPU %v, RSS %v, quarters %v: want all measured", res.Mode, res.RouterCPUSecs, res.PeakRSSMB, res.QuartersPS)
		}
	}
}
