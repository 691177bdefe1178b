package console

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/rules"
)

type fakeBackend struct{ replayed []ReplayFilter }

func (f *fakeBackend) Health(context.Context) []Check { return []Check{{Name: "bus", OK: true}} }
func (f *fakeBackend) Queues(context.Context) []Queue {
	return []Queue{{Topic: "koerier.deadletter", Pending: 1}}
}
func (f *fakeBackend) Recent(context.Context, int) ([]store.Record, error) {
	return nil, nil
}
func (f *fakeBackend) RulesStatus() rules.ReloadStatus                { return rules.ReloadStatus{Path: "r.yaml"} }
func (f *fakeBackend) Rules() (*rules.RuleSet, []rules.Source, error) { return nil, nil, nil }
func (f *fakeBackend) ReloadRules() error                             { return nil }
func (f *fakeBackend) HasChannel(string) bool                         { return true }
func (f *fakeBackend) Trail(_ context.Context, q TrailQuery) ([]store.Record, error) {
	return []store.Record{{TraceID: "n-1", Stage: "route", Status: "decided", Detail: "voor 999993653", At: time.Now()}}, nil
}
func (f *fakeBackend) DeadLetters(context.Context, int) ([]DeadLetter, error) {
	return []DeadLetter{{UUID: "u-1", Topic: "koerier.events", Reason: "kapot"}}, nil
}
func (f *fakeBackend) LookupRecipient(_ context.Context, s event.Subject) (event.Recipient, error) {
	return event.Recipient{Subject: s, Kind: s.Kind, Email: "j.jansen@example.org"}, nil
}
func (f *fakeBackend) Replay(_ context.Context, rf ReplayFilter) (ReplayResult, error) {
	f.replayed = append(f.replayed, rf)
	return ReplayResult{Replayed: 1}, nil
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// client logs in with token on a test server of the console.
func client(t *testing.T, srv *httptest.Server, token string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	body := get(t, c, srv.URL+"/console/inloggen")
	m := csrfRe.FindStringSubmatch(body)
	resp, err := c.PostForm(srv.URL+"/console/inloggen", url.Values{"csrf": {m[1]}, "token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m = csrfRe.FindStringSubmatch(string(b))
	if m == nil || strings.Contains(string(b), `id="token"`) {
		return c, ""
	}
	return c, m[1]
}

func get(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestAccess(t *testing.T) {
	fb := &fakeBackend{}
	srv := httptest.NewServer(New(Options{Backend: fb, AdminTokens: []string{"Bearer geheim"}, KCCTokens: []string{"kcc-geheim"}, InsecureCookie: true}))
	defer srv.Close()

	// Without a login: a page redirects to the login, a POST is refused.
	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _ := anon.Get(srv.URL + "/console/overzicht")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/inloggen" {
		t.Fatalf("anonymous GET: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = anon.PostForm(srv.URL+"/console/dode-brieven/opnieuw", url.Values{"uuid": {"u-1"}, "bevestigd": {"ja"}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous POST: %d", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("CSP %q", csp)
	}

	// A wrong token does not log in.
	if _, tok := client(t, srv, "fout"); tok != "" {
		t.Fatal("logged in with a wrong token")
	}

	// The beheerder logs in with the token without its scheme.
	c, csrf := client(t, srv, "geheim")
	if csrf == "" || !strings.Contains(get(t, c, srv.URL+"/console/overzicht"), "Gezondheid") {
		t.Fatal("beheerder does not see the overview")
	}
	// A POST without the CSRF token is refused and replays nothing.
	resp, _ = c.PostForm(srv.URL+"/console/dode-brieven/opnieuw", url.Values{"uuid": {"u-1"}, "bevestigd": {"ja"}})
	if resp.StatusCode != http.StatusForbidden || len(fb.replayed) != 0 {
		t.Fatalf("POST without CSRF: %d, replayed %v", resp.StatusCode, fb.replayed)
	}
	// Without confirmation nothing is replayed; with it, one.
	resp, _ = c.PostForm(srv.URL+"/console/dode-brieven/opnieuw", url.Values{"uuid": {"u-1"}, "csrf": {csrf}})
	if resp.StatusCode != http.StatusOK || len(fb.replayed) != 0 {
		t.Fatalf("unconfirmed replay: %d, replayed %v", resp.StatusCode, fb.replayed)
	}
	resp, _ = c.PostForm(srv.URL+"/console/dode-brieven/opnieuw", url.Values{"uuid": {"u-1"}, "csrf": {csrf}, "bevestigd": {"ja"}})
	if resp.StatusCode != http.StatusOK || len(fb.replayed) != 1 || fb.replayed[0].UUID != "u-1" {
		t.Fatalf("confirmed replay: %d, replayed %v", resp.StatusCode, fb.replayed)
	}

	// KCC reads the trail (masked) but not the overview.
	k, kcsrf := client(t, srv, "kcc-geheim")
	resp, _ = k.Get(srv.URL + "/console/overzicht")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("kcc on overzicht: %d", resp.StatusCode)
	}
	resp, _ = k.PostForm(srv.URL+"/console/spoor", url.Values{"q": {"999993653"}, "csrf": {kcsrf}})
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.Contains(string(b), "999993653") || !strings.Contains(string(b), "*****3653") {
		t.Fatalf("kcc trail by BSN: %d\n%s", resp.StatusCode, b)
	}
	// A BSN in a URL is refused.
	if body := get(t, k, srv.URL+"/console/spoor?id=999993653"); !strings.Contains(body, "niet via de adresbalk") {
		t.Fatal("BSN search by URL was not refused")
	}
}

type rulesBackend struct {
	fakeBackend
	rs *rules.RuleSet
}

func (b *rulesBackend) Rules() (*rules.RuleSet, []rules.Source, error) { return b.rs, nil, nil }

// The rule tester looks a recipient up live only when configured, and
// never shows the number it looked up.
func TestTesterLooksUpRecipient(t *testing.T) {
	rs, err := rules.Load("../../config/rules.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ev := `{"id": "e-1", "type": "zaak.aangemaakt", "zaak": {"identificatie": "ZAAK-1", "vertrouwelijkheidaanduiding": "openbaar"}}`
	for _, on := range []bool{false, true} {
		srv := httptest.NewServer(New(Options{Backend: &rulesBackend{rs: rs}, KCCTokens: []string{"k"}, InsecureCookie: true, RecipientLookup: on}))
		c, csrf := client(t, srv, "k")
		if got := strings.Contains(get(t, c, srv.URL+"/console/regeltester"), `id="lookup"`); got != on {
			t.Fatalf("lookup offered = %v with RecipientLookup %v", got, on)
		}
		resp, err := c.PostForm(srv.URL+"/console/regeltester", url.Values{"csrf": {csrf}, "event": {ev}, "lookup": {"999993653"}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(b)
		if strings.Contains(page, "999993653") || !strings.Contains(page, `id="uitleg"`) {
			t.Fatalf("RecipientLookup %v: the page shows the BSN or no explanation:\n%s", on, page)
		}
		if got := strings.Contains(page, "live opgezocht voor *****3653"); got != on {
			t.Fatalf("RecipientLookup %v: looked up = %v", on, got)
		}
		srv.Close()
	}
}
