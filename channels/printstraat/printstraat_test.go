package printstraat_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mijnservices/koerier/channels/batch"
	"github.com/mijnservices/koerier/channels/printstraat"
	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
)

// needTool skips without a poppler tool, except under CI=true, where a
// missing tool is a failure.
func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (apt-get install poppler-utils): %v", name, err)
		}
		t.Skipf("%s is missing (apt-get install poppler-utils)", name)
	}
}

const letterNL = `# Besluit op uw aanvraag

Beste {{ .naam }},

Wij hebben een besluit genomen over uw zaak {{ .zaak_identificatie }} op {{ datum .besluit_datum }}.
`

func setup(t *testing.T) (*printstraat.Channel, string) {
	t.Helper()
	dir := t.TempDir()
	tpl := filepath.Join(dir, "rules", "templates")
	os.MkdirAll(tpl, 0o755)
	os.WriteFile(filepath.Join(tpl, "besluit.nl.md"), []byte(letterNL+strings.Repeat("\nEen lange alinea die de brief over meer dan één pagina laat lopen, met de uitleg over bezwaar en beroep. ", 60)), 0o644)
	os.WriteFile(filepath.Join(tpl, "besluit.en.md"), []byte("Dear {{ .naam }},\n\nA decision was made on case {{ .zaak_identificatie }}.\n"), 0o644)
	out := filepath.Join(dir, "out")
	os.MkdirAll(out, 0o755)
	clk := clock.NewFake(clock.WorkingDay)
	ch, err := printstraat.New(printstraat.Config{
		Sender:      []string{"Gemeente Voorbeeld", "Postbus 1", "1000 AA Voorbeeld"},
		TemplateDir: filepath.Join(dir, "rules"),
		Profiles:    []printstraat.Profile{{Name: "default", Cutoff: "16:00 ma-vr", Dir: out}},
		Now:         clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ch, out
}

func del(id, tpl, lang string, addr *event.PostalAddress) event.Delivery {
	return event.Delivery{ID: id, Channel: "print", TemplateID: tpl,
		Recipient:       event.Recipient{Language: lang, PostalAddress: addr},
		Personalisation: map[string]string{"naam": "J. Jansen", "zaak_identificatie": "ZAAK-2026-0042", "besluit_datum": "2026-06-01"}}
}

func TestHandWritesLettersAndManifest(t *testing.T) {
	needTool(t, "pdftotext")
	needTool(t, "pdfinfo")
	ch, out := setup(t)
	ctx := context.Background()
	nl := &event.PostalAddress{NameLine: "J. Jansen", Lines: []string{"Dorpsstraat 12 A-2", "1234 AB  VOORBEELD"}}
	ds := []event.Delivery{
		del("d1", "templates/besluit.nl.md", "nld", nl),
		del("d2", "templates/besluit.en.md", "eng", &event.PostalAddress{NameLine: "Mrs K. Smith", Lines: []string{"1 High Street", "Oxford OX1 1AA"}, Land: "Verenigd Koninkrijk"}),
		del("d3", "templates/missing.md", "nld", nl),
	}
	if _, err := ch.Profile(ctx, event.Delivery{Recipient: event.Recipient{Deceased: true, PostalAddress: nl}}); err == nil {
		t.Fatal("Profile of a deceased recipient: no error")
	}
	if _, err := ch.Profile(ctx, event.Delivery{}); err == nil {
		t.Fatal("Profile without an address: no error")
	}
	b := batch.Sealed{ID: "koerier-20260609-1600-1", Channel: "print", Profile: "default", Deliveries: ds}
	res, err := ch.Hand(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"d1": event.OutcomeHandedOver, "d2": event.OutcomeHandedOver, "d3": event.OutcomePermanent}
	for _, r := range res {
		if want[r.DeliveryID] != r.Status {
			t.Errorf("%s: %s (%s), want %s", r.DeliveryID, r.Status, r.Reason, want[r.DeliveryID])
		}
	}
	final := filepath.Join(out, b.ID)
	// manifest.csv: the exact header and one row per letter.
	f, _ := os.Open(filepath.Join(final, "manifest.csv"))
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(recs[0]) != fmt.Sprint(printstraat.ManifestColumns) || len(recs) != 3 {
		t.Fatalf("manifest.csv = %v", recs)
	}
	var rows []printstraat.Row
	raw, _ := os.ReadFile(filepath.Join(final, "manifest.json"))
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatal(err)
	}
	r := rows[0]
	if r.Postcode != "1234AB" || r.City != "VOORBEELD" || r.Street != "Dorpsstraat" || r.HouseNumber != "12" || r.HouseLetter != "A" || r.HouseNumberAddition != "2" || r.Pages < 2 {
		t.Fatalf("row of d1 = %+v", r)
	}
	if rows[1].Language != "eng" || rows[1].Country != "Verenigd Koninkrijk" {
		t.Fatalf("row of d2 = %+v", rows[1])
	}
	if sums, _ := os.ReadFile(filepath.Join(final, "SHA256SUMS")); !bytes.Contains(sums, []byte(b.ID+"-1.zip")) {
		t.Fatalf("SHA256SUMS = %s", sums)
	}
	// Read the PDFs back.
	zr, err := zip.OpenReader(filepath.Join(final, b.ID+"-1.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	pdfs := map[string][]byte{}
	for _, zf := range zr.File {
		rc, _ := zf.Open()
		pdfs[zf.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	p1 := filepath.Join(t.TempDir(), "d1.pdf")
	os.WriteFile(p1, pdfs["d1.pdf"], 0o644)
	info, _ := exec.Command("pdfinfo", p1).Output()
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^Pages:\s+%d$`, rows[0].Pages)).Match(info) {
		t.Fatalf("pdfinfo: %s; manifest says %d pages", info, rows[0].Pages)
	}
	fonts, _ := exec.Command("pdffonts", p1).Output()
	if strings.Contains(string(fonts), " no ") && !strings.Contains(string(fonts), "yes") {
		t.Fatalf("fonts not embedded: %s", fonts)
	}
	// The window: DefaultWindow in points (1 mm = 72/25.4 pt).
	pt := func(mm float64) string { return fmt.Sprint(int(mm * 72 / 25.4)) }
	w := printstraat.DefaultWindow
	win, err := exec.Command("pdftotext", "-f", "1", "-l", "1", "-x", pt(w.Left), "-y", pt(w.Top), "-W", pt(w.Width), "-H", pt(w.Height), p1, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"J. Jansen", "1234 AB"} {
		if !strings.Contains(string(win), s) {
			t.Fatalf("window text %q lacks %q", win, s)
		}
	}
	all, _ := exec.Command("pdftotext", p1, "-").Output()
	for _, s := range []string{"ZAAK-2026-0042", "Ons kenmerk: d1", "1 juni 2026", "Pagina 2 van", "9 juni 2026"} {
		if !strings.Contains(string(all), s) {
			t.Errorf("letter text lacks %q", s)
		}
	}
	p2 := filepath.Join(t.TempDir(), "d2.pdf")
	os.WriteFile(p2, pdfs["d2.pdf"], 0o644)
	en, _ := exec.Command("pdftotext", p2, "-").Output()
	for _, s := range []string{"Our reference: d2", "Page 1 of 1", "VERENIGD KONINKRIJK"} {
		if !strings.Contains(string(en), s) {
			t.Errorf("English letter lacks %q: %s", s, en)
		}
	}
	if bytes.Contains(raw, []byte("bsn")) {
		t.Fatal("manifest mentions a BSN")
	}
	// Handing over again (a sealer resumed after a crash) writes nothing new.
	res2, err := ch.Hand(ctx, b)
	if err != nil || len(res2) != 3 || res2[0].Status != event.OutcomeHandedOver || res2[2].Status != event.OutcomePermanent {
		t.Fatalf("second Hand = %+v, %v", res2, err)
	}
}

func TestRenderBodyMissingField(t *testing.T) {
	if _, err := printstraat.RenderBody("x", "Beste {{ .voornaam }}", map[string]string{"naam": "x"}); err == nil {
		t.Fatal("a missing field rendered without error")
	}
}
