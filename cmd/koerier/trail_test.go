package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/sandbox/openzaak"
	"github.com/mijnservices/koerier/internal/store"
)

// runCLI runs koerier with args and --config pointing at the harness's
// configuration, as an operator would beside the running router.
func runCLI(t *testing.T, h *harness, args ...string) (string, error) {
	t.Helper()
	raw, err := yaml.Marshal(h.app.Config())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "koerier.yaml")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs(append(args, "--config", path))
	err = root.Execute()
	return out.String(), err
}

func runTrailText(t *testing.T, h *harness, q trailQuery) string {
	t.Helper()
	var buf bytes.Buffer
	if err := runTrail(context.Background(), &buf, h.app.Config(), q); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestTrail follows one delivered email through the ledger by notification
// id, by BSN, by KVK and as the newest records, in text and JSON.
func TestTrail(t *testing.T) {
	for _, backend := range []string{"embedded", "scaled"} {
		t.Run(backend, func(t *testing.T) {
			h := startHarness(t, backend)
			oz, d := h.sb.OpenZaak, h.sb.Demo
			n := statusNotification(oz, d.ZaakInwoner, oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[0], h.clock.Now()))
			nb := statusNotification(oz, d.ZaakBedrijf, oz.SetStatus(d.ZaakBedrijf.URL, d.Statustypen[0], h.clock.Now()))
			for _, x := range []event.Notification{n, nb} {
				if code := h.post(t, x); code != http.StatusNoContent {
					t.Fatalf("post: HTTP %d", code)
				}
			}
			id, idb := httpapi.NotificationID(n), httpapi.NotificationID(nb)
			eventually(t, 20*time.Second, "both emails to be delivered", func() bool {
				return hasStatus(h.trail(t, id), "settle", event.OutcomeDelivered) && hasStatus(h.trail(t, idb), "settle", event.OutcomeDelivered)
			})
			sent := sentTo(h.sb, "jan.jansen@example.com")
			if len(sent) != 1 {
				t.Fatalf("Notify got %d emails for Jansen, want 1", len(sent))
			}

			byID := runTrailText(t, h, trailQuery{ID: id})
			for _, want := range []string{"notification " + id, "ingest", "enrich", "route", "deliver", "settle", "sent", "delivered",
				"channel email", "provider id " + sent[0].ID, "rule "} {
				if !strings.Contains(byID, want) {
					t.Errorf("trail %s lacks %q:\n%s", id, want, byID)
				}
			}
			if strings.Contains(byID, idb) {
				t.Errorf("trail %s shows the other notification %s", id, idb)
			}
			// Times are Dutch (CET or CEST, depending on the date).
			if !strings.Contains(byID, " CET") && !strings.Contains(byID, " CEST") {
				t.Errorf("trail times are not in Europe/Amsterdam:\n%s", byID)
			}

			cli, err := runCLI(t, h, "trail", "--bsn", openzaak.DemoBSNJansen)
			if err != nil || !strings.Contains(cli, "notification "+id) || strings.Contains(cli, openzaak.DemoBSNJansen) {
				t.Errorf("koerier trail --bsn: %v\n%s", err, cli)
			}

			byBSN := runTrailText(t, h, trailQuery{Subject: event.Subject{BSN: openzaak.DemoBSNJansen}})
			if !strings.Contains(byBSN, "notification "+id) || !strings.Contains(byBSN, "provider id "+sent[0].ID) {
				t.Errorf("trail --bsn does not find notification %s:\n%s", id, byBSN)
			}
			if strings.Contains(byBSN, idb) {
				t.Errorf("trail --bsn shows the bedrijf's notification:\n%s", byBSN)
			}
			if strings.Contains(byBSN, openzaak.DemoBSNJansen) || !strings.Contains(byBSN, "*****"+openzaak.DemoBSNJansen[5:]) {
				t.Errorf("trail --bsn must show the BSN masked, and only masked:\n%s", byBSN)
			}

			byKVK := runTrailText(t, h, trailQuery{Subject: event.Subject{KVK: openzaak.DemoKVKBakkerij}})
			if !strings.Contains(byKVK, "notification "+idb) || strings.Contains(byKVK, "notification "+id) {
				t.Errorf("trail --kvk does not show exactly the bedrijf's notification %s:\n%s", idb, byKVK)
			}

			none := runTrailText(t, h, trailQuery{Subject: event.Subject{BSN: "999991103"}})
			if !strings.HasPrefix(none, "No ledger records for BSN *****1103") {
				t.Errorf("trail of an unknown BSN said:\n%s", none)
			}

			var recent []store.Record
			if err := json.Unmarshal([]byte(runTrailText(t, h, trailQuery{Recent: 3, JSON: true})), &recent); err != nil {
				t.Fatal(err)
			}
			if len(recent) != 3 || recent[0].At.After(recent[2].At) {
				t.Fatalf("--recent 3 --json gave %d records (want 3, oldest first): %+v", len(recent), recent)
			}

			var recs []store.Record
			if err := json.Unmarshal([]byte(runTrailText(t, h, trailQuery{ID: sent[0].Reference, JSON: true})), &recs); err != nil {
				t.Fatal(err)
			}
			if len(recs) == 0 || !hasStatus(recs, "deliver", "sent") {
				t.Fatalf("trail by delivery id %s (Notify's reference) = %+v, want the deliver record", sent[0].Reference, recs)
			}
		})
	}
}

func TestTrailArguments(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"trail"}, "give one of"},
		{[]string{"trail", "abc", "--bsn", "999993653"}, "give one of"},
		{[]string{"trail", "--recent", "5", "--kvk", "69599084"}, "give one of"},
		{[]string{"trail", "a", "b"}, "accepts at most 1 arg"},
		{[]string{"trail", "abc", "--config", "/nonexistent/koerier.yaml"}, "nonexistent"},
		{[]string{"deadletter", "list", "--config", "/nonexistent/koerier.yaml"}, "nonexistent"},
	}
	for _, tt := range tests {
		root := newRootCmd()
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		root.SetArgs(tt.args)
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("koerier %v: error %v, want one containing %q", tt.args, err, tt.want)
		}
	}
}
