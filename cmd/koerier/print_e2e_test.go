package main

import (
	"archive/zip"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/channels/printstraat"
	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/sandbox/berichtenbox"
	"github.com/mijnservices/koerier/internal/sandbox/brp"
	"github.com/mijnservices/koerier/internal/sandbox/openklant"
	"github.com/mijnservices/koerier/internal/sandbox/openzaak"
)

// withPrint enables one print profile that writes into a folder, sealed
// at 16:00 on working days; the letter templates are config/letters.
func withPrint(dir string) func(*config.Config) {
	return func(c *config.Config) {
		c.Print = config.Print{Sender: []string{"Gemeente Voorbeeld", "Postbus 1", "1000 AA  VOORBEELD"}, Poll: 50 * time.Millisecond,
			Profiles: []config.PrintProfile{{Name: "default", Cutoff: "16:00 ma-vr", Dir: dir}}}
	}
}

// sealedLetters waits for a batch folder in dir and returns its manifest
// rows and its PDFs by file name.
func sealedLetters(t *testing.T, dir string) ([]printstraat.Row, map[string][]byte) {
	t.Helper()
	var final string
	eventually(t, 20*time.Second, "a sealed batch in the print folder", func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, "koerier-*", "manifest.json"))
		if len(m) > 0 {
			final = filepath.Dir(m[0])
			return true
		}
		return false
	})
	raw, err := os.ReadFile(filepath.Join(final, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []printstraat.Row
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatal(err)
	}
	pdfs := map[string][]byte{}
	zips, _ := filepath.Glob(filepath.Join(final, "*.zip"))
	for _, z := range zips {
		zr, err := zip.OpenReader(z)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			rc, _ := f.Open()
			pdfs[f.Name], _ = io.ReadAll(rc)
			rc.Close()
		}
		zr.Close()
	}
	return rows, pdfs
}

func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "letter.pdf")
	os.WriteFile(p, pdf, 0o644)
	out, err := exec.Command("pdftotext", "-layout", p, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestEndToEndPrintBesluitWithoutBerichtenbox(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext is missing (apt-get install poppler-utils)")
	}
	out := t.TempDir()
	h := startHarness(t, "embedded", withPrint(out))
	// Jan Jansen unsubscribes from the Berichtenbox: the besluit
	// (berichtenbox, print) becomes a letter.
	h.sb.Berichtenbox.Subscribe(berichtenbox.DemoBerichtType, openzaak.DemoBSNJansen, false)
	n := h.sb.OpenZaak.Notification("create", h.sb.Demo.Besluit.URL, h.clock.Now())
	h.post(t, n)
	id := httpapi.NotificationID(n)
	eventually(t, 20*time.Second, "the letter to wait in the print bucket", func() bool {
		for _, r := range h.trail(t, id) {
			if r.Stage == "deliver" && r.Channel == event.ChannelPrint {
				return true
			}
		}
		return false
	})
	time.Sleep(300 * time.Millisecond) // a few sealer polls before the cut-off: nothing sealed
	if m, _ := filepath.Glob(filepath.Join(out, "koerier-*")); len(m) > 0 {
		t.Fatalf("a batch was sealed before the cut-off: %v", m)
	}
	h.clock.Set(time.Date(2026, 6, 9, 16, 0, 30, 0, h.clock.Now().Location()))
	rows, pdfs := sealedLetters(t, out)
	if m, _ := filepath.Glob(filepath.Join(out, "koerier-20260609-16*")); len(m) != 1 {
		t.Errorf("batches %v, want one named after the 16:00 cut-off of 9 June", m)
	}
	// The rule sends a besluit to the initiator and the gemachtigde (Anna
	// de Vries, not in the Berichtenbox either): two letters.
	if len(rows) != 2 {
		t.Fatalf("manifest rows = %+v, want two letters", rows)
	}
	r := rows[0]
	if r.NameLine != "J. Jansen" {
		r = rows[1]
	}
	if r.NameLine != "J. Jansen" || r.Postcode != "1234AB" || r.Street != "Dorpsstraat" || r.HouseNumber != "1" || r.City != "ONS DORP" {
		t.Fatalf("manifest row = %+v, want BRP's address of J. Jansen", r)
	}
	text := pdfText(t, pdfs[r.File])
	for _, s := range []string{"J. Jansen", "Dorpsstraat 1", "1234 AB", "Besluit op uw aanvraag", h.sb.Demo.ZaakInwoner.Identificatie} {
		if !strings.Contains(text, s) {
			t.Errorf("letter text lacks %q:\n%s", s, text)
		}
	}
	if strings.Contains(text, openzaak.DemoBSNJansen) {
		t.Fatal("the letter shows the BSN")
	}
	eventually(t, 20*time.Second, "the handed-over outcome in the trail", func() bool {
		return hasStatus(h.trail(t, id), "settle", event.OutcomeHandedOver)
	})
}

func TestEndToEndPrintBounceBecomesLetter(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext is missing (apt-get install poppler-utils)")
	}
	out := t.TempDir()
	h := startHarness(t, "embedded", withPrint(out))
	// Only an email address, which bounces; no phone, no Berichtenbox:
	// the plan (voorkeur, email, sms, berichtenbox, print) ends in a letter.
	const bsn = "999990019"
	h.sb.OpenKlant.AddPersoon(openklant.Persoon{BSN: bsn, Voornaam: "Sanne", Achternaam: "Visser", Taal: "nld",
		Adressen: []openklant.Adres{{Soort: "email", Adres: "sanne.visser@bounce.example", Standaard: true, Voorkeur: true}}})
	h.sb.BRP.Add(brp.Persoon{BSN: bsn, VolledigeNaam: "Sanne Visser", Aanschrijfwijze: "S. Visser", Aanhef: "Geachte mevrouw Visser",
		Adresregels: []string{"Havenweg 7 B", "4321 ZX  ONS DORP"}})
	oz, d := h.sb.OpenZaak, h.sb.Demo
	z := newDemoZaak(oz, d, "ZAAK-E2E-PRINT", "Kapvergunning", bsn, "Sanne")
	n := statusNotification(oz, z, oz.SetStatus(z.URL, d.Statustypen[0], h.clock.Now()))
	h.post(t, n)
	id := httpapi.NotificationID(n)
	eventually(t, 20*time.Second, "the email to bounce and the letter to wait in the print bucket", func() bool {
		for _, r := range h.trail(t, id) {
			if r.Stage == "deliver" && r.Channel == event.ChannelPrint {
				return true
			}
		}
		return false
	})
	if !hasStatus(h.trail(t, id), "settle", "fallback") {
		t.Fatal("no fallback record in the trail")
	}
	h.clock.Set(time.Date(2026, 6, 9, 16, 1, 0, 0, h.clock.Now().Location()))
	rows, pdfs := sealedLetters(t, out)
	if len(rows) != 1 || rows[0].NameLine != "S. Visser" || rows[0].Postcode != "4321ZX" || rows[0].HouseLetter != "B" {
		t.Fatalf("manifest = %+v", rows)
	}
	text := pdfText(t, pdfs[rows[0].File])
	for _, s := range []string{"S. Visser", "4321 ZX", "ZAAK-E2E-PRINT", "Wij hebben uw aanvraag ontvangen"} {
		if !strings.Contains(text, s) {
			t.Errorf("letter text lacks %q:\n%s", s, text)
		}
	}
	eventually(t, 20*time.Second, "the handed-over outcome in the trail", func() bool {
		return hasStatus(h.trail(t, id), "settle", event.OutcomeHandedOver)
	})
}

func TestBatchFlushSealsNow(t *testing.T) {
	out := t.TempDir()
	var cfg *config.Config
	h := startHarness(t, "embedded", withPrint(out), func(c *config.Config) { cfg = c })
	h.sb.Berichtenbox.Subscribe(berichtenbox.DemoBerichtType, openzaak.DemoBSNJansen, false)
	n := h.sb.OpenZaak.Notification("create", h.sb.Demo.Besluit.URL, h.clock.Now())
	h.post(t, n)
	id := httpapi.NotificationID(n)
	eventually(t, 20*time.Second, "two letters in the print bucket", func() bool {
		k := 0
		for _, r := range h.trail(t, id) {
			if r.Stage == "deliver" && r.Channel == event.ChannelPrint {
				k++
			}
		}
		return k == 2
	})
	var buf strings.Builder
	if err := flushBatches(context.Background(), &buf, *cfg, "print", "default"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "2/2 brieven") || !strings.Contains(buf.String(), "koerier-20260609-1000-1: 2 brieven in print/default") {
		t.Fatalf("flush printed:\n%s", buf.String())
	}
	if rows, _ := sealedLetters(t, out); len(rows) != 2 {
		t.Fatalf("manifest rows = %d, want 2", len(rows))
	}
	eventually(t, 20*time.Second, "the handed-over outcome in the trail", func() bool {
		return hasStatus(h.trail(t, id), "settle", event.OutcomeHandedOver)
	})
	buf.Reset()
	if err := flushBatches(context.Background(), &buf, *cfg, "print", ""); err != nil || !strings.Contains(buf.String(), "Niets te verzegelen") {
		t.Fatalf("a second flush: %v\n%s", err, buf.String())
	}
	if err := flushBatches(context.Background(), &buf, *cfg, "print", "nope"); err == nil {
		t.Fatal("flush of an unknown profile: no error")
	}
}
