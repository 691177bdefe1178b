package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/app"
	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/sandbox"
	"github.com/mijnservices/koerier/internal/sandbox/notify"
	"github.com/mijnservices/koerier/internal/sandbox/objecten"
	"github.com/mijnservices/koerier/internal/sandbox/openklant"
	"github.com/mijnservices/koerier/internal/sandbox/openzaak"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/telemetry"
	"github.com/mijnservices/koerier/rules"
)

func init() { register(newDemoCmd) }

const demoToken = "Token demo-notificaties-token"

func newDemoCmd() *cobra.Command {
	var rulesPath, dataDir, at string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline against fake peers and print the trail of each notification",
		Long: `Starts fakes of Open Zaak, Objecten, Open Klant 2, BRP and Notify NL on
loopback ports, runs Koerier on the embedded default (SQLite bus and store in
a temporary folder; no RabbitMQ or Redis), posts real-shaped ZGW
notifications to its webhook and prints, for each, the trail from the
ledger: notification → event → rule → channel → Notify NL id, or why it was
skipped.

The demo runs on the wall clock, so at night (21:00-08:00) the SMS of the
bounce scenario is held by the example rules' quiet hours, as it would be in
production. --at runs it as if it were another moment instead, e.g.
--at 2026-06-09T10:00 (Europe/Amsterdam time).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now, err := demoClock(at)
			if err != nil {
				return err
			}
			return runDemo(cmd.Context(), cmd.OutOrStdout(), rulesPath, dataDir, verbose, now)
		},
	}
	cmd.Flags().StringVar(&rulesPath, "rules", "config/rules.example.yaml", "rules file or folder to route with")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "folder for the bus and store files (default: a temporary folder, removed afterwards)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "also print Koerier's own log lines (masked)")
	cmd.Flags().StringVar(&at, "at", "", "run as if it were this moment, Europe/Amsterdam time (YYYY-MM-DDTHH:MM); default: now")
	return cmd
}

// demoClock is the wall clock, or a clock that starts at the --at moment.
func demoClock(at string) (func() time.Time, error) {
	if at == "" {
		return clock.System, nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04", at, clock.Amsterdam)
	if err != nil {
		return nil, fmt.Errorf("--at %q: want YYYY-MM-DDTHH:MM in Europe/Amsterdam time, e.g. 2026-06-09T10:00", at)
	}
	return clock.NewFake(t).Now, nil
}

func runDemo(ctx context.Context, out io.Writer, rulesPath, dataDir string, verbose bool, now func() time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if dataDir == "" {
		tmp, err := os.MkdirTemp("", "koerier-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dataDir = tmp
	}
	rs, err := rules.Load(rulesPath)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	tmpls := notifyTemplates(rs)

	// Bind Koerier's port first: the fake Notify must know where to post
	// delivery receipts.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	koerierURL := "http://" + ln.Addr().String()
	sb, err := sandbox.Start(sandbox.Options{NotifyCallbackURL: koerierURL + "/api/v1/callbacks/notify", NotifyTemplates: tmpls, Now: now})
	if err != nil {
		ln.Close()
		return err
	}
	defer sb.Close()
	seedDemoExtras(sb)

	cfg := config.Default()
	cfg.File = "(demo)"
	cfg.DataDir = dataDir
	cfg.Bus.SQLite.Path = filepath.Join(dataDir, "bus.db")
	cfg.Store.SQLitePath = filepath.Join(dataDir, "store.db")
	cfg.Bus.SQLite.PollInterval = 50 * time.Millisecond
	cfg.Server.Listen = ln.Addr().String()
	cfg.Server.NotificatiesTokens = []string{demoToken}
	cfg.Store.SubjectKey = "demo-subject-key"
	cfg.Rules.Path = rulesPath
	noWatch := time.Duration(0)
	cfg.Rules.WatchInterval = &noWatch
	sb.Configure(&cfg)
	// A print profile: letters wait for 16:00 on working days; the demo
	// flushes the batch itself at the end.
	printDir := filepath.Join(dataDir, "printstraat")
	cfg.Print = config.Print{Sender: []string{"Gemeente Ons Dorp", "Postbus 1", "1234 AA  ONS DORP"}, Poll: 200 * time.Millisecond,
		Profiles: []config.PrintProfile{{Name: "demo", Cutoff: "16:00 ma-vr", Dir: printDir}}}
	// The Berichtenbox through NotifyNL's messagebox: a besluit reaches a
	// subscribed inwoner there, with its PDF.
	cfg.Berichtenbox.Transport = config.BerichtenboxMessagebox
	if err := config.Finish(&cfg); err != nil {
		return err
	}

	logOut := io.Discard
	if verbose {
		logOut = os.Stderr
	}
	log := telemetry.NewLogger(logOut, "text", "info")
	a, err := app.New(ctx, cfg, log, now)
	if err != nil {
		ln.Close()
		return err
	}
	defer a.Close()
	a.UseListener(ln)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	defer func() { stop(); <-done }()

	fmt.Fprintf(out, "Koerier demo: router on %s (embedded SQLite bus and store in %s), rules %s\n", koerierURL, dataDir, rulesPath)
	fmt.Fprintf(out, "Clock: %s (Europe/Amsterdam)\n", now().In(clock.Amsterdam).Format("Monday 2006-01-02 15:04"))
	fmt.Fprintf(out, "Fake peers: Open Zaak %s, Open Klant %s, Notify NL %s\n\n", sb.OpenZaak.BaseURL(), sb.OpenKlant.BaseURL(), cfg.Notify.URL)

	for i, sc := range demoScenarios(sb, now) {
		fmt.Fprintf(out, "%d. %s\n", i+1, sc.title)
		var ids []string
		for _, n := range sc.notifications {
			body, _ := json.Marshal(n)
			status, err := postNotification(ctx, koerierURL, body)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "   notificatie  %s %s %s %s → HTTP %d\n", n.Kanaal, n.Resource, n.Actie, shortURL(n.ResourceURL), status)
			ids = append(ids, httpapi.NotificationID(n))
		}
		refs := map[string]bool{}
		for _, id := range uniq(ids) {
			recs := waitForTrail(ctx, a.Store(), id, sc.wait)
			printTrail(out, recs)
			for _, r := range recs {
				if r.DeliveryID != "" {
					refs[r.DeliveryID] = true
				}
			}
		}
		var got []string
		var box []notify.Sent
		for _, s := range sb.Notify.Sent() {
			if refs[s.Reference] {
				got = append(got, s.Type)
				if s.Type == "messagebox" {
					box = append(box, s)
				}
			}
		}
		fmt.Fprintf(out, "   → Notify NL ontving hiervoor %d bericht(en) %v\n", len(got), got)
		for _, b := range box {
			fmt.Fprintf(out, "   → in de Berichtenbox van BSN %s (berichttype %s): %q, %d PDF-bijlage(n), status %s\n",
				telemetry.Mask(b.To), b.MessageType, b.Subject, len(b.Attachments), b.Status)
		}
		fmt.Fprintln(out)
	}
	if err := demoFlushPrint(ctx, out, a, printDir); err != nil {
		return err
	}
	fmt.Fprintln(out, "Ontvangers zoals Koerier ze kent (koerier explain-recipient), met de bron van elk gegeven:")
	for _, subj := range []event.Subject{
		{Role: event.RoleInitiator, Kind: event.KindInwoner, BSN: openzaak.DemoBSNJansen},
		{Role: event.RoleInitiator, Kind: event.KindBedrijf, KVK: openklant.DemoKVK},
	} {
		var buf bytes.Buffer
		if err := explainRecipient(ctx, &buf, a.Recipients(), subj, ""); err != nil {
			return err
		}
		for _, l := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
			fmt.Fprintln(out, "   "+l)
		}
		fmt.Fprintln(out)
	}
	sent := sb.Notify.Sent()
	fmt.Fprintf(out, "Notify NL (fake) accepted %d message(s):\n", len(sent))
	for _, s := range sent {
		fmt.Fprintf(out, "   %s %-5s to %s, template %s, reference %s, status %s\n", s.ID, s.Type, telemetry.Mask(s.To), s.TemplateID, s.Reference, s.Status)
	}
	return nil
}

// demoFlushPrint seals the letters waiting for the print street now (as
// `koerier batch flush` does) and prints each batch's manifest.csv.
func demoFlushPrint(ctx context.Context, out io.Writer, a *app.App, dir string) error {
	s := a.Sealer()
	if s == nil {
		return nil
	}
	fmt.Fprintln(out, "Printstraat: de brieven wachten tot 16:00; koerier batch flush verzegelt de batch nu")
	bs, err := s.Flush(ctx, event.ChannelPrint, "")
	if err != nil {
		return fmt.Errorf("demo: flush the print batch: %w", err)
	}
	if len(bs) == 0 {
		fmt.Fprintln(out, "   (geen brieven)")
	}
	for _, b := range bs {
		fmt.Fprintf(out, "   batch %s: %d brief/brieven in %s\n", b.ID, b.Items, filepath.Join(dir, b.ID))
		raw, err := os.ReadFile(filepath.Join(dir, b.ID, "manifest.csv"))
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		for _, l := range strings.Split(strings.TrimRight(string(raw), "\n"), "\n") {
			fmt.Fprintln(out, "   manifest.csv  "+l)
		}
	}
	fmt.Fprintln(out)
	return nil
}

// notifyTemplates lists every Notify template the rules use, for the fake
// Notify, as a gemeente registers them in its Notify NL service.
func notifyTemplates(rs *rules.RuleSet) []notify.Template {
	var out []notify.Template
	seen := map[string]bool{}
	for _, msg := range rs.Messages() {
		for _, ch := range []string{event.ChannelEmail, event.ChannelSMS} {
			for _, lang := range []string{"nld", "eng"} {
				t, ok := rs.MessageTemplate(msg, ch, lang)
				if !ok || t.NotifyTemplate == "" || seen[t.NotifyTemplate] {
					continue
				}
				seen[t.NotifyTemplate] = true
				out = append(out, notify.Template{ID: t.NotifyTemplate, Type: ch, Version: 1, Name: msg,
					Subject: "Bericht over uw zaak ((zaak_identificatie))", Body: "Beste ((naam)), er is nieuws over uw zaak ((zaak_identificatie))."})
			}
		}
	}
	return out
}

// Extra demo people: one whose email bounces (to show a fallback) and one
// who reads English.
const (
	demoBSNBounce  = "999991164"
	demoBSNEnglish = openklant.DemoBSNEnglish
)

func seedDemoExtras(sb *sandbox.Sandbox) {
	sb.OpenKlant.AddPersoon(openklant.Persoon{BSN: demoBSNBounce, Voornaam: "Kees", Achternaam: "Bos", Taal: "nld",
		Adressen: []openklant.Adres{
			{Soort: "email", Adres: "kees.bos@bounce.example", Standaard: true, Voorkeur: true},
			{Soort: "telefoonnummer", Adres: "0687654321", Standaard: true},
		}})
}

type scenario struct {
	title         string
	notifications []event.Notification
	wait          time.Duration
}

func statusNotification(oz *openzaak.Server, zaak openzaak.Zaak, st openzaak.Status) event.Notification {
	// Open Notificaties stamps the notification when Open Zaak sets the
	// status; taking that time keeps the notification on the clock the
	// status was set by.
	at, err := time.Parse(time.RFC3339, st.DatumStatusGezet)
	if err != nil {
		at = clock.System()
	}
	return event.Notification{Kanaal: "zaken", HoofdObject: zaak.URL, Resource: "status", ResourceURL: st.URL, Actie: "create",
		Aanmaakdatum: at.UTC(), Kenmerken: map[string]string{"bronorganisatie": zaak.Bronorganisatie, "zaaktype": zaak.Zaaktype,
			"vertrouwelijkheidaanduiding": zaak.Vertrouwelijkheidaanduiding}}
}

func newDemoZaak(oz *openzaak.Server, d openzaak.Demo, ident, oms, bsn, naam string) openzaak.Zaak {
	z := oz.AddZaak(openzaak.Zaak{Identificatie: ident, Bronorganisatie: "002220647", VerantwoordelijkeOrganisatie: "002220647",
		Omschrijving: oms, Zaaktype: d.Zaaktype.URL, Registratiedatum: "2025-03-20", Startdatum: "2025-03-20"})
	oz.AddRol(openzaak.Rol{Zaak: z.URL, BetrokkeneType: "natuurlijk_persoon", OmschrijvingGeneriek: "initiator",
		Registratiedatum: "2025-03-20T09:00:00Z", BetrokkeneIdentificatie: openzaak.NatuurlijkPersoon(bsn, naam, "")})
	return z
}

func demoScenarios(sb *sandbox.Sandbox, clk func() time.Time) []scenario {
	oz, d := sb.OpenZaak, sb.Demo
	now := clk()
	first := oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[0], now)
	intern := oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[2], now)
	bedrijf := oz.SetStatus(d.ZaakBedrijf.URL, d.Statustypen[0], now)
	zb := newDemoZaak(oz, d, "ZAAK-2025-0000200", "Parkeervergunning Dorpsstraat", demoBSNBounce, "Kees")
	bounce := oz.SetStatus(zb.URL, d.Statustypen[0], now)
	ze := newDemoZaak(oz, d, "ZAAK-2025-0000201", "Parking permit Havenweg", demoBSNEnglish, "Emily")
	eng := oz.SetStatus(ze.URL, d.Statustypen[0], now)
	firstN := statusNotification(oz, d.ZaakInwoner, first)
	besluitN := oz.Notification("create", d.Besluit.URL, now)
	taakURL := sb.Objecten.Put("", objecten.DemoTaakObjecttype, objecten.DenHaagTaak("Aanvullende gegevens aanleveren", "open",
		d.ZaakInwoner.URL, now.Add(4*24*time.Hour).UTC().Format(time.RFC3339), openzaak.DemoBSNJansen))
	taakN := sb.Objecten.Notification("create", taakURL, now)
	taakBedrijfN := sb.Objecten.Notification("create", sb.Taken.TaakBedrijf, now)
	eind, res := oz.CloseZaak(d.ZaakInwoner.URL, d.Statustypen[3], d.Resultaattype, now)
	afsluiten := []event.Notification{
		oz.Notification("partial_update", d.ZaakInwoner.URL, now),
		oz.Notification("create", eind.URL, now),
		oz.Notification("create", res.URL, now),
	}
	return []scenario{
		{title: "Zaak aangemaakt voor een inwoner met e-mail als voorkeur", notifications: []event.Notification{firstN}, wait: 5 * time.Second},
		{title: "Dezelfde notificatie nog eens (Open Notificaties probeert opnieuw): er gaat geen tweede e-mail uit", notifications: []event.Notification{firstN}, wait: time.Second},
		{title: "Interne status (statustype informeren: nee): bewust overgeslagen", notifications: []event.Notification{statusNotification(oz, d.ZaakInwoner, intern)}, wait: 3 * time.Second},
		{title: "Zaak aangemaakt voor een bedrijf (KVK)", notifications: []event.Notification{statusNotification(oz, d.ZaakBedrijf, bedrijf)}, wait: 5 * time.Second},
		{title: "E-mail komt terug (bounce): terugval naar het volgende kanaal", notifications: []event.Notification{statusNotification(oz, zb, bounce)}, wait: 6 * time.Second},
		{title: "Engelstalige inwoner (voorkeurstaal eng)", notifications: []event.Notification{statusNotification(oz, ze, eng)}, wait: 5 * time.Second},
		{title: "Besluit genomen: formeel, dus alleen Berichtenbox of post (niet per e-mail)", notifications: []event.Notification{besluitN}, wait: 3 * time.Second},
		{title: "Taak toegewezen aan een inwoner (Objecten API, Den Haag-vorm), met herinneringen", notifications: []event.Notification{taakN}, wait: 5 * time.Second},
		{title: "Taak toegewezen aan een bedrijf (community-vorm, KVK)", notifications: []event.Notification{taakBedrijfN}, wait: 5 * time.Second},
		{title: "Zaak afgesloten (zaak_afsluiten: drie notificaties, één bericht)", notifications: afsluiten, wait: 5 * time.Second},
	}
}

func postNotification(ctx context.Context, base string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/notificaties", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", demoToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("demo: post notification: %w", err)
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// terminal reports whether a trail has come to rest: every delivery that was
// decided has a final record, or the trail ended in a skip or dead letter.
func terminal(recs []store.Record) bool {
	open := map[string]bool{}
	ended := false
	for _, r := range recs {
		switch r.Status {
		case "skipped", "deadletter", "undeliverable":
			ended = true
		case "decided":
			open[r.DeliveryID] = true
		case "sent":
			// Notify's delivery receipt (or bounce) is still to come.
			open[r.DeliveryID] = true
		case event.OutcomeDelivered, "fallback", "failed", event.OutcomePermanent:
			delete(open, r.DeliveryID)
			ended = true
		}
	}
	return ended && len(open) == 0
}

func waitForTrail(ctx context.Context, st store.Store, id string, wait time.Duration) []store.Record {
	deadline := time.Now().Add(wait)
	var recs []store.Record
	stable := 0
	for time.Now().Before(deadline) && ctx.Err() == nil {
		got, err := st.Trail(ctx, id)
		if err == nil {
			if len(got) == len(recs) && terminal(got) {
				stable++
				if stable >= 3 {
					return got
				}
			} else {
				stable = 0
			}
			recs = got
		}
		time.Sleep(100 * time.Millisecond)
	}
	return recs
}

func printTrail(out io.Writer, recs []store.Record) {
	if len(recs) == 0 {
		fmt.Fprintln(out, "   (nog geen spoor in het grootboek)")
		return
	}
	for _, r := range recs {
		line := r.Status
		switch {
		case r.Stage == "ingest":
			line = "ontvangen en duurzaam op de bus gezet"
		case r.Stage == "route" && r.Status == "decided":
			line = fmt.Sprintf("regel %s → kanaal %s", r.Rule, r.Channel)
		case r.Stage == "deliver" && r.Status == "sent":
			line = fmt.Sprintf("%s verzonden, Notify NL id %s", r.Channel, r.ProviderID)
		case r.Stage == "settle":
			line = fmt.Sprintf("%s: %s", r.Channel, r.Status)
		}
		fmt.Fprintf(out, "   %-12s %s\n", r.Stage, line)
		if r.Detail != "" && !(r.Stage == "deliver" && r.Status == "sent") {
			for _, l := range wrap(r.Detail, 100) {
				fmt.Fprintf(out, "   %-12s   %s\n", "", l)
			}
		}
	}
}

func wrap(s string, width int) []string {
	var lines []string
	for _, sentence := range strings.SplitAfter(s, ". ") {
		sentence = strings.TrimSpace(sentence)
		for len(sentence) > width {
			cut := strings.LastIndex(sentence[:width], " ")
			if cut <= 0 {
				cut = width
			}
			lines = append(lines, sentence[:cut])
			sentence = strings.TrimSpace(sentence[cut:])
		}
		if sentence != "" {
			lines = append(lines, sentence)
		}
	}
	return lines
}

func shortURL(u string) string {
	if i := strings.Index(u, "/api/"); i >= 0 {
		return "…" + u[i:]
	}
	return u
}

func uniq(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
