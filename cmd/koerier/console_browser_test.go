package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/app"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
	"github.com/mijnservices/koerier/internal/sandbox/openzaak"
)

// ScreenshotsEnv names a folder to which TestConsoleInBrowser writes a
// screenshot of every page, for a person to look at; unset, it writes none.
const ScreenshotsEnv = "KOERIER_CONSOLE_SCREENSHOTS"

// chromiumPath finds Debian's chromium; under CI=true a missing browser
// fails the test instead of skipping it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed under CI=true (apt-get install chromium; .ci/run does)")
	}
	t.Skip("chromium is not installed")
	return ""
}

// browser starts a fresh headless Chromium for one test.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	// The first run starts the browser and must not have a timeout (it
	// would stop the browser); the steps after it do.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// TestConsoleInBrowser drives the console in real headless Chromium: the
// login, the overview, the rule tester against `koerier rules explain`, a
// dead letter replayed and delivered at the Notify fake, the trail by
// notification id and by BSN (never shown), a POST without CSRF token, and
// a page without a login.
func TestConsoleInBrowser(t *testing.T) {
	for _, backend := range []string{"embedded", "scaled"} {
		t.Run(backend, func(t *testing.T) { consoleInBrowser(t, backend) })
	}
}

func consoleInBrowser(t *testing.T, backend string) {
	h := startHarness(t, backend, func(c *config.Config) {
		c.Console.Enabled = true
		c.Console.KCCTokens = []string{"Bearer kcc-e2e"}
	})
	ctx := browser(t)
	// localhost, not 127.0.0.1: Chromium keeps a Secure cookie from plain
	// HTTP only on localhost, and the console's cookie is Secure unless
	// console.insecure_cookie says otherwise.
	base := strings.Replace(h.url, "127.0.0.1", "localhost", 1)
	shots := os.Getenv(ScreenshotsEnv)
	if backend != "embedded" {
		shots = "" // the pages look the same
	}
	shot := func(name string) {
		t.Helper()
		if shots == "" {
			return
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Every step is bounded, so a page that never shows what a step
	// waits for fails the test instead of hanging it.
	step := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 30*time.Second) }
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := step()
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			// Say where the browser is and what it shows.
			dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
			defer dcancel()
			loc, _ := chromedp.Run(dctx, chromedp.Location())
			body, _ := chromedp.Run(dctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("%s: %v\nthe browser is at %s and shows:\n%s", what, err, loc, body)
		}
	}
	read := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		sctx, cancel := step()
		defer cancel()
		s, err := chromedp.Run(sctx, a)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return s
	}
	text := func(sel string) string { t.Helper(); return read("read "+sel, chromedp.Text(chromedp.CSS(sel))) }
	html := func() string { t.Helper(); return read("read the page", chromedp.OuterHTML(chromedp.CSS("html"))) }
	location := func() string { t.Helper(); return read("read the location", chromedp.Location()) }

	// A delivery that Notify refuses with 403 becomes a dead letter.
	h.sb.NotifyFaults.Add(fault.Rule{PathPrefix: "/v2/notifications", Status: http.StatusForbidden})
	oz, d := h.sb.OpenZaak, h.sb.Demo
	n := statusNotification(oz, d.ZaakInwoner, oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[0], h.clock.Now()))
	if code := h.post(t, n); code != http.StatusNoContent {
		t.Fatalf("post: HTTP %d", code)
	}
	id := httpapi.NotificationID(n)
	eventually(t, 20*time.Second, "a dead letter", func() bool {
		dls, err := app.PeekDeadLetters(context.Background(), h.app.Config(), h.clock.Now, 10)
		return err == nil && len(dls) == 1
	})

	// Without a login a page sends the browser to the login form.
	run("open the overview", chromedp.Navigate(base+"/console/overzicht"), chromedp.WaitVisible(chromedp.CSS("#token")))
	if !strings.HasSuffix(location(), "/console/inloggen") {
		t.Fatalf("without a login the overview went to %s", location())
	}
	shot("inloggen")
	run("log in", chromedp.SendKeys(chromedp.CSS("#token"), "admin-e2e"), chromedp.Click(chromedp.CSS("#inloggen")),
		chromedp.WaitVisible(chromedp.CSS("#gezondheid")))
	if health := text("#gezondheid"); !strings.Contains(health, "in orde") || strings.Contains(health, "storing") {
		t.Fatalf("overview health:\n%s", health)
	}
	if n := text("#aantal-dode-brieven"); n != "1" {
		t.Fatalf("overview counts %s dead letters, want 1", n)
	}
	shot("overzicht")

	run("open the rules", chromedp.Navigate(base+"/console/regels"), chromedp.WaitVisible(chromedp.CSS("pre.bron")))
	if !strings.Contains(html(), "statuswijziging") {
		t.Fatal("the rules page does not show the rules file")
	}
	shot("regels")

	// The rule tester explains a shipped example exactly as the CLI does.
	now := h.clock.Now().In(time.FixedZone("", 3600)).Format(time.RFC3339)
	run("test an example", chromedp.Navigate(base+"/console/regeltester"), chromedp.WaitVisible(chromedp.CSS("#event")),
		chromedp.SetValue(chromedp.CSS("#now"), now), chromedp.Click(chromedp.CSS("#trim")),
		chromedp.Click(chromedp.CSS("#testen")), chromedp.WaitVisible(chromedp.CSS("#uitleg")))
	got := strings.TrimSpace(text("#uitleg"))
	cli, err := runKoerier(t, "rules", "explain", rulesFile, "--event", "../../config/examples/events/status-gewijzigd.json",
		"--recipient", "../../config/examples/recipients/status-gewijzigd.json", "--now", now)
	if err != nil {
		t.Fatalf("koerier rules explain: %v\n%s", err, cli)
	}
	var want []string
	for _, l := range strings.Split(cli, "\n") {
		if strings.HasPrefix(l, "==") || strings.HasPrefix(l, "  ") {
			want = append(want, l)
		}
	}
	if got != strings.TrimSpace(strings.Join(want, "\n")) {
		t.Fatalf("the rule tester explains\n%s\n\nkoerier rules explain says\n%s", got, strings.Join(want, "\n"))
	}
	if !strings.Contains(got, "Regel \"statuswijziging\"") {
		t.Fatalf("explanation without the matching rule:\n%s", got)
	}
	shot("regeltester")

	// A POST without the CSRF token is refused, even with the session
	// cookie: the reload form on Regels, its token taken out. (A fetch
	// would be simpler, but the CSP forbids the page any connection.)
	run("post the reload form without its CSRF token", chromedp.Navigate(base+"/console/regels"), chromedp.WaitVisible(chromedp.CSS("form[action$=herladen] button")),
		chromedp.Func(func(c context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`document.querySelector("form[action$=herladen] input[name=csrf]").remove(), true`)(c, tg)
			return err
		}),
		chromedp.Click(chromedp.CSS("form[action$=herladen] button")), chromedp.WaitVisible(chromedp.CSS("p.fout")))
	if msg := text("p.fout"); !strings.Contains(msg, "CSRF") {
		t.Fatalf("POST without CSRF token: %q", msg)
	}
	if st := h.app.Rules().Status(); st.LastAttempt.After(st.LoadedAt) {
		t.Fatal("the rules were reloaded by a POST without CSRF token")
	}

	// Dode brieven: fix the cause, replay with confirmation, delivered.
	run("open the dead letters", chromedp.Navigate(base+"/console/dode-brieven"), chromedp.WaitVisible(chromedp.CSS("#dode-brieven")))
	if page := html(); !strings.Contains(page, "channel-error") || strings.Contains(page, openzaak.DemoBSNJansen) {
		t.Fatal("the dead letter list lacks the reason or shows the BSN")
	}
	shot("dode-brieven")
	h.sb.NotifyFaults.Clear()
	run("ask to replay", chromedp.Click(chromedp.CSS("button.opnieuw")), chromedp.WaitVisible(chromedp.CSS("#bevestigen")))
	shot("dode-brieven-bevestigen")
	if len(h.sb.Notify.Sent()) != 0 {
		t.Fatal("replayed before the confirmation")
	}
	run("confirm", chromedp.Click(chromedp.CSS("#bevestigen")), chromedp.WaitVisible(chromedp.CSS(".melding")))
	if msg := text(".melding"); !strings.HasPrefix(msg, "1 opnieuw aangeboden") {
		t.Fatalf("replay result: %q", msg)
	}
	eventually(t, 20*time.Second, "the replayed email at Notify", func() bool {
		return len(sentTo(h.sb, "jan.jansen@example.com")) == 1
	})
	eventually(t, 20*time.Second, "the delivery settled", func() bool {
		return hasStatus(h.trail(t, id), "settle", event.OutcomeDelivered)
	})

	// Spoor by notification id, then by BSN, which is never shown.
	run("search by id", chromedp.Navigate(base+"/console/spoor"), chromedp.WaitVisible(chromedp.CSS("#q")),
		chromedp.SendKeys(chromedp.CSS("#q"), id), chromedp.Click(chromedp.CSS("#zoeken")), chromedp.WaitVisible(chromedp.CSS("#spoor")))
	if tr := text("#spoor"); !strings.Contains(tr, "deadletter") || !strings.Contains(tr, event.OutcomeDelivered) {
		t.Fatalf("trail by id:\n%s", tr)
	}
	shot("spoor")
	run("search by BSN", chromedp.Navigate(base+"/console/spoor"), chromedp.WaitVisible(chromedp.CSS("#q")), chromedp.SendKeys(chromedp.CSS("#q"), openzaak.DemoBSNJansen), chromedp.Click(chromedp.CSS("#zoeken")),
		chromedp.WaitVisible(chromedp.CSS("#gezocht")))
	if page := html(); strings.Contains(page, openzaak.DemoBSNJansen) || !strings.Contains(page, `id="spoor"`) || !strings.Contains(page, "*****3653") {
		t.Fatalf("trail by BSN shows the BSN or finds nothing:\n%s", page)
	}
	if strings.Contains(location(), openzaak.DemoBSNJansen) {
		t.Fatal("the BSN is in the URL")
	}

	// After logging out a page is refused again.
	run("log out", chromedp.Click(chromedp.CSS(".uitloggen button")), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.Navigate(base+"/console/spoor"), chromedp.WaitVisible(chromedp.CSS("#token")))
	if !strings.HasSuffix(location(), "/console/inloggen") {
		t.Fatalf("after logging out the trail went to %s", location())
	}
	for _, secret := range []string{openzaak.DemoBSNJansen, "admin-e2e"} {
		if strings.Contains(h.logs.String(), secret) {
			t.Fatalf("the log holds %q", secret)
		}
	}
	if !strings.Contains(h.logs.String(), `"msg":"audit: deadletter replay"`) {
		t.Fatal("the replay is not in the audit log")
	}
}
