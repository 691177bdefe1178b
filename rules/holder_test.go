package rules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/mijnservices/koerier/internal/event"
)

func ruleFile(name string) string {
	return strings.Replace(planRules, "  - name: alles\n", "  - name: "+name+"\n", 1)
}

func readGauges(t *testing.T, reader *sdkmetric.ManualReader) map[string]metricdata.DataPoint[int64] {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.DataPoint[int64]{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if g, ok := m.Data.(metricdata.Gauge[int64]); ok && len(g.DataPoints) > 0 {
				out[m.Name] = g.DataPoints[0]
			}
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for a condition
	}
}

func TestHolderReloadKeepsOldRulesOnBrokenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	write := func(src string) {
		t.Helper()
		// Write to a temporary file and rename, as a ConfigMap update or an
		// editor does, so that a reader never sees half a file.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(ruleFile("oud"))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	h, err := NewHolder(dir, HolderOptions{Meter: mp.Meter("rules")})
	if err != nil {
		t.Fatal(err)
	}
	first := h.Status()
	if !first.LastReloadSuccessful || first.Rules != 1 || len(first.Hash) != 64 {
		t.Fatalf("status after start: %+v", first)
	}

	// A router keeps deciding while the rules change under it.
	var decided, dropped atomic.Int64
	var sawNew atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &event.Recipient{Kind: "inwoner", Email: "a@example.org", PreferredChannel: "email"}
			in := Input{Event: &event.Event{Type: event.TypeZaakAangemaakt}, Recipient: r, Subject: event.Subject{Kind: "inwoner"}}
			for {
				select {
				case <-stop:
					return
				default:
				}
				d := h.Current().Decide(in)
				decided.Add(1)
				switch {
				case d.Skip || len(d.Plan) == 0:
					dropped.Add(1)
				case d.Rule == "nieuw":
					sawNew.Store(true)
				}
			}
		}()
	}

	write("version: 1\nrules:\n  - name: kapot\n    mesage: m\n")
	err = h.Reload()
	if err == nil {
		t.Fatal("a broken file reloaded without error")
	}
	st := h.Status()
	if st.LastReloadSuccessful || !strings.Contains(st.LastError, "rules.yaml:4:5: unknown key \"mesage\"") {
		t.Errorf("status after a failed reload: %+v", st)
	}
	if st.Hash != first.Hash || h.Current().Rules()[0].Name != "oud" {
		t.Errorf("the old rules were not kept: %+v", st)
	}
	g := readGauges(t, reader)
	if g["koerier_rules_last_reload_successful"].Value != 0 {
		t.Errorf("koerier_rules_last_reload_successful = %d, want 0", g["koerier_rules_last_reload_successful"].Value)
	}
	attrs := g["koerier_rules_hash"].Attributes
	oldHashAttr, _ := attrs.Value("hash")
	if oldHashAttr.AsString() != first.Hash[:12] {
		t.Errorf("koerier_rules_hash attribute = %q, want %q", oldHashAttr.AsString(), first.Hash[:12])
	}
	// The broken content is reported once, not on every poll.
	if h.CheckForChange() {
		t.Error("unchanged broken file reloaded again")
	}

	write(ruleFile("nieuw"))
	if !h.CheckForChange() {
		t.Fatal("a changed file was not reloaded")
	}
	st = h.Status()
	if !st.LastReloadSuccessful || st.LastError != "" || st.Hash == first.Hash || h.Current().Rules()[0].Name != "nieuw" {
		t.Errorf("status after a good reload: %+v", st)
	}
	g = readGauges(t, reader)
	if g["koerier_rules_last_reload_successful"].Value != 1 {
		t.Error("koerier_rules_last_reload_successful is not 1 after a good reload")
	}
	attrs = g["koerier_rules_hash"].Attributes
	if newAttr, _ := attrs.Value("hash"); newAttr.AsString() != st.Hash[:12] {
		t.Errorf("koerier_rules_hash attribute = %q, want %q", newAttr.AsString(), st.Hash[:12])
	}
	if got := g["koerier_rules_last_reload_success_timestamp_seconds"].Value; got != st.LoadedAt.Unix() {
		t.Errorf("koerier_rules_last_reload_success_timestamp_seconds = %d, want %d", got, st.LoadedAt.Unix())
	}
	waitFor(t, "a decision by the new rules", sawNew.Load)
	close(stop)
	wg.Wait()
	if decided.Load() == 0 || dropped.Load() != 0 {
		t.Errorf("decided %d, dropped %d; want no drops", decided.Load(), dropped.Load())
	}
}

func TestHolderWatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, []byte(ruleFile("een")), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := NewHolder(path, HolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Watch(ctx, 10*time.Millisecond)
	if err := os.WriteFile(path, []byte(ruleFile("twee")), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watcher to load the changed file", func() bool { return h.Current().Rules()[0].Name == "twee" })
}

func TestNewHolderFailsWithoutValidRules(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte("version: 1\nrules: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewHolder(path, HolderOptions{}); err == nil {
		t.Fatal("NewHolder accepted a file without rules")
	}
}
