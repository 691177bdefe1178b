package printstraat_test

import (
	"archive/zip"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/mijnservices/koerier/channels/batch"
	"github.com/mijnservices/koerier/channels/printstraat"
	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
	fake "github.com/mijnservices/koerier/internal/sandbox/printstraat"
)

func channelWith(t *testing.T, p printstraat.Profile) *printstraat.Channel {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "templates"), 0o755)
	os.WriteFile(filepath.Join(dir, "templates", "besluit.nl.md"), []byte(letterNL), 0o644)
	p.Name, p.Cutoff = "default", "16:00 ma-vr"
	ch, err := printstraat.New(printstraat.Config{Sender: []string{"Gemeente Voorbeeld"}, TemplateDir: dir,
		Profiles: []printstraat.Profile{p}, Now: clock.NewFake(clock.WorkingDay).Now})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func twoLetters() batch.Sealed {
	nl := &event.PostalAddress{NameLine: "J. Jansen", Lines: []string{"Dorpsstraat 12", "1234 AB  VOORBEELD"}}
	return batch.Sealed{ID: "koerier-20260609-1600-1", Channel: "print", Profile: "default", Deliveries: []event.Delivery{
		del("d1", "templates/besluit.nl.md", "nld", nl), del("d2", "templates/besluit.nl.md", "nld", nl)}}
}

func TestSFTPSink(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := ssh.NewSignerFromKey(priv)
	srv, err := fake.StartSFTP(fake.SFTPOptions{User: "koerier", Password: "geheim", AuthorizedKey: signer.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	remote := t.TempDir()
	ctx := context.Background()
	b := twoLetters()

	// Another host key: refused before anything is sent.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherSigner, _ := ssh.NewSignerFromKey(other)
	wrong := channelWith(t, printstraat.Profile{SFTP: &printstraat.SFTP{Addr: srv.Addr, User: "koerier", Password: "geheim", Dir: remote,
		HostKey: string(ssh.MarshalAuthorizedKey(otherSigner.PublicKey()))}})
	if _, err := wrong.Hand(ctx, b); err == nil || !strings.Contains(err.Error(), "host key") {
		t.Fatalf("Hand with a wrong pinned host key: %v", err)
	}
	// A dropped connection: an error, the batch stays for the next tick.
	pw := channelWith(t, printstraat.Profile{SFTP: &printstraat.SFTP{Addr: srv.Addr, User: "koerier", Password: "geheim", Dir: remote, HostKey: srv.HostKey}})
	srv.DropNext(1)
	if _, err := pw.Hand(ctx, b); err == nil {
		t.Fatal("Hand over a dropped connection: no error")
	}
	res, err := pw.Hand(ctx, b)
	if err != nil || len(res) != 2 || res[0].Status != event.OutcomeHandedOver {
		t.Fatalf("Hand = %+v, %v", res, err)
	}
	final := filepath.Join(remote, b.ID)
	for _, f := range []string{b.ID + "-1.zip", "manifest.csv", "manifest.json", "SHA256SUMS"} {
		if _, err := os.Stat(filepath.Join(final, f)); err != nil {
			t.Errorf("remote batch lacks %s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(remote, "."+b.ID+".tmp")); !os.IsNotExist(err) {
		t.Errorf("temporary folder left behind: %v", err)
	}
	// Key auth, and idempotent by batch id: the batch there is not rewritten.
	stamp, _ := os.Stat(filepath.Join(final, "manifest.json"))
	keyed := channelWith(t, printstraat.Profile{SFTP: &printstraat.SFTP{Addr: srv.Addr, User: "koerier", Key: pem.EncodeToMemory(block), Dir: remote, HostKey: srv.HostKey}})
	res, err = keyed.Hand(ctx, b)
	if err != nil || len(res) != 2 || res[1].Status != event.OutcomeHandedOver {
		t.Fatalf("second Hand = %+v, %v", res, err)
	}
	if again, _ := os.Stat(filepath.Join(final, "manifest.json")); !again.ModTime().Equal(stamp.ModTime()) {
		t.Fatal("the second Hand rewrote the batch")
	}
	if _, err := printstraat.New(printstraat.Config{Profiles: []printstraat.Profile{{Name: "x", Cutoff: "16:00 ma-vr",
		SFTP: &printstraat.SFTP{Addr: srv.Addr, User: "u", Password: "p", Dir: "/x"}}}}); err == nil {
		t.Fatal("an SFTP profile without a host key was accepted")
	}
}

func TestRESTSink(t *testing.T) {
	ps := fake.NewServer()
	ps.APIKeyHeader, ps.APIKey = "X-Api-Key", "sleutel"
	srv := httptest.NewServer(ps)
	defer srv.Close()
	ch := channelWith(t, printstraat.Profile{REST: &printstraat.REST{Endpoint: srv.URL + fake.LettersPath,
		APIKeyHeader: "X-Api-Key", APIKey: "sleutel", Backoff: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}}})
	ps.Faults.Add(fault.Rule{Status: 429, Times: 2})
	ps.Faults.Add(fault.Rule{Status: 503, Times: 1})
	ps.Faults.Add(fault.Rule{Status: 400, Times: 1, Body: `{"detail":"adres onleesbaar"}`})
	ctx := context.Background()
	b := twoLetters()
	res, err := ch.Hand(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != event.OutcomePermanent || !strings.Contains(res[0].Reason, "400") || !strings.Contains(res[0].Reason, "adres onleesbaar") {
		t.Fatalf("d1 = %+v, want permanent after 429, 429, 503, 400", res[0])
	}
	if res[1].Status != event.OutcomeHandedOver {
		t.Fatalf("d2 = %+v", res[1])
	}
	got := ps.Letters()
	if len(got) != 1 || got[0].IdempotencyKey != "d2" || got[0].Filename != "d2.pdf" || got[0].NotificationID != "d2" || !strings.HasPrefix(string(got[0].PDF), "%PDF-") {
		t.Fatalf("letters = %+v", got)
	}
	// A resumed batch posts again; the Idempotency-Key keeps one of each.
	if _, err := ch.Hand(ctx, b); err != nil {
		t.Fatal(err)
	}
	if n := len(ps.Letters()); n != 2 || ps.Posts() != 3 {
		t.Fatalf("after a resume: %d letters from %d posts, want 2 from 3", n, ps.Posts())
	}
	// 5xx until the retries are spent: an error, nothing settled.
	ps.Faults.Add(fault.Rule{Status: 500})
	if _, err := ch.Hand(ctx, b); err == nil {
		t.Fatal("Hand with a print street down: no error")
	}
	// A wrong key is a 401: permanent.
	ps.Faults.Clear()
	bad := channelWith(t, printstraat.Profile{REST: &printstraat.REST{Endpoint: srv.URL + fake.LettersPath, APIKeyHeader: "X-Api-Key", APIKey: "fout"}})
	res, err = bad.Hand(ctx, b)
	if err != nil || res[0].Status != event.OutcomePermanent {
		raw, _ := json.Marshal(res)
		t.Fatalf("wrong key: %s, %v", raw, err)
	}
}

func TestPostageAndEnvelope(t *testing.T) {
	needTool(t, "pdftotext")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "letters"), 0o755)
	os.WriteFile(filepath.Join(dir, "letters", "besluit.nl.md"), []byte(letterNL), 0o644)
	out := t.TempDir()
	big := printstraat.Window{Left: 110, Top: 60, Width: 80, Height: 30}
	ch, err := printstraat.New(printstraat.Config{Sender: []string{"Gemeente Voorbeeld"}, TemplateDir: dir, Envelopes: map[string]printstraat.Window{"rechts": big},
		Profiles: []printstraat.Profile{{Name: "default", Cutoff: "16:00 ma-vr", Dir: out}}, Now: clock.NewFake(clock.WorkingDay).Now})
	if err != nil {
		t.Fatal(err)
	}
	nl := &event.PostalAddress{NameLine: "J. Jansen", Lines: []string{"Dorpsstraat 12", "1234 AB  VOORBEELD"}}
	d1 := del("d1", "besluit", "nld", nl)
	d1.Postage, d1.Envelope = "aangetekend", "rechts"
	d2 := del("d2", "besluit", "nld", nl)
	d2.Envelope = "onbekend"
	b := batch.Sealed{ID: "koerier-20260609-1600-2", Profile: "default", Deliveries: []event.Delivery{d1, d2}}
	res, err := ch.Hand(context.Background(), b)
	if err != nil || res[0].Status != event.OutcomeHandedOver || res[1].Status != event.OutcomePermanent || !strings.Contains(res[1].Reason, "onbekend") {
		t.Fatalf("Hand = %+v, %v", res, err)
	}
	raw, _ := os.ReadFile(filepath.Join(out, b.ID, "manifest.json"))
	var rows []printstraat.Row
	json.Unmarshal(raw, &rows)
	if len(rows) != 1 || rows[0].Postage != "aangetekend" {
		t.Fatalf("manifest = %s", raw)
	}
	zr, err := zip.OpenReader(filepath.Join(out, b.ID, b.ID+"-1.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	rc, _ := zr.File[0].Open()
	pdf, _ := io.ReadAll(rc)
	rc.Close()
	p := filepath.Join(t.TempDir(), "d1.pdf")
	os.WriteFile(p, pdf, 0o644)
	pt := func(mm float64) string { return fmt.Sprint(int(mm * 72 / 25.4)) }
	win, _ := exec.Command("pdftotext", "-f", "1", "-l", "1", "-x", pt(big.Left), "-y", pt(big.Top), "-W", pt(big.Width), "-H", pt(big.Height), p, "-").Output()
	if !strings.Contains(string(win), "J. Jansen") || !strings.Contains(string(win), "1234 AB") {
		t.Fatalf("the right-hand window holds %q", win)
	}
}
