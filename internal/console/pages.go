package console

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/telemetry"
	"github.com/mijnservices/koerier/rules"
)

// maxForm bounds a posted form (a pasted rules file is the largest).
const maxForm = 2 << 20

type navItem struct{ Path, Label string }

// page is what every template gets.
type page struct {
	Title   string
	Active  string
	Role    Role
	CSRF    string
	Nav     []navItem
	Message string
	Error   string
	Data    any
}

var funcs = map[string]any{
	// tijd shows a time in Amsterdam time, as everywhere in the console.
	"tijd": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.In(amsterdam).Format("02-01-2006 15:04:05")
	},
	"leeftijd": func(now, t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		d := now.Sub(t).Round(time.Minute)
		switch {
		case d < time.Minute:
			return "minder dan een minuut"
		case d < time.Hour:
			return fmt.Sprintf("%d min", int(d.Minutes()))
		case d < 48*time.Hour:
			return fmt.Sprintf("%d uur", int(d.Hours()))
		}
		return fmt.Sprintf("%d dagen", int(d.Hours()/24))
	},
	"mask": telemetry.Mask,
	"inc":  func(i int) int { return i + 1 },
}

func (c *Console) routes() {
	m := c.mux
	m.Handle("GET "+Prefix+"static/", http.StripPrefix(Prefix, http.FileServerFS(staticFS)))
	m.HandleFunc("GET "+Prefix+"{$}", c.home)
	m.HandleFunc("GET "+Prefix+"inloggen", c.loginForm)
	m.HandleFunc("POST "+Prefix+"inloggen", c.login)
	m.Handle("POST "+Prefix+"uitloggen", c.post(KCC, c.logout))
	m.Handle("GET "+Prefix+"overzicht", c.get(Beheerder, c.overview))
	m.Handle("GET "+Prefix+"regels", c.get(Beheerder, c.rulesPage))
	m.Handle("POST "+Prefix+"regels/herladen", c.post(Beheerder, c.reload))
	m.Handle("GET "+Prefix+"regeltester", c.get(KCC, c.tester))
	m.Handle("POST "+Prefix+"regeltester", c.post(KCC, c.tester))
	m.Handle("GET "+Prefix+"spoor", c.get(KCC, c.trail))
	m.Handle("POST "+Prefix+"spoor", c.post(KCC, c.trail))
	m.Handle("GET "+Prefix+"dode-brieven", c.get(Beheerder, c.deadLetters))
	m.Handle("GET "+Prefix+"dode-brieven/{uuid}", c.get(Beheerder, c.deadLetter))
	m.Handle("POST "+Prefix+"dode-brieven/opnieuw", c.post(Beheerder, c.replay))
	if c.o.PrintBatches != nil {
		m.Handle("GET "+Prefix+"printbatches", c.get(Beheerder, c.printBatches))
		m.Handle("GET "+Prefix+"printbatches/{id}/manifest", c.get(Beheerder, c.manifest))
	}
}

type handler func(w http.ResponseWriter, r *http.Request, s session) (*page, string)

// may says whether role may reach pages for min: a beheerder may do all a
// kcc may.
func may(role, min Role) bool { return role == Beheerder || role == min }

// get serves a page to a logged-in user with at least role min; without a
// login it redirects to the login page.
func (c *Console) get(min Role, h handler) http.Handler {
	return c.guard(min, false, h)
}

// post is get for a form: it also requires the session's CSRF token and a
// same-origin request.
func (c *Console) post(min Role, h handler) http.Handler {
	return c.guard(min, true, h)
}

func (c *Console) guard(min Role, isPost bool, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.sessionOf(r)
		if !ok {
			if isPost {
				c.refuse(w, http.StatusUnauthorized, "U bent niet (meer) ingelogd. Log opnieuw in.")
				return
			}
			http.Redirect(w, r, Prefix+"inloggen", http.StatusSeeOther)
			return
		}
		if !may(s.Role, min) {
			c.refuse(w, http.StatusForbidden, "Deze pagina is alleen voor beheerders.")
			return
		}
		if isPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseMultipartForm(maxForm); err != nil && err != http.ErrNotMultipart {
				c.refuse(w, http.StatusBadRequest, "Het formulier kon niet worden gelezen.")
				return
			}
			if !sameOrigin(r) || !hmacEqual(r.PostFormValue("csrf"), c.csrfToken(s)) {
				c.refuse(w, http.StatusForbidden, "Het formulier is verlopen of komt niet van deze console (CSRF-controle). Laad de pagina opnieuw.")
				return
			}
		}
		p, tmpl := h(w, r, s)
		if p == nil {
			return // answered already
		}
		p.Role, p.CSRF, p.Nav = s.Role, c.csrfToken(s), c.nav(s.Role)
		c.render(w, http.StatusOK, tmpl, p)
	})
}

func hmacEqual(a, b string) bool {
	return a != "" && len(a) == len(b) && subtleEq(a, b)
}

// sameOrigin refuses a POST whose Origin names another site (browsers send
// it on every cross-site POST); a missing Origin is left to the CSRF token.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	_, host, ok := strings.Cut(o, "://")
	return ok && host == r.Host
}

func (c *Console) nav(role Role) []navItem {
	if role != Beheerder {
		return []navItem{{"spoor", "Spoor"}, {"regeltester", "Regeltester"}}
	}
	n := []navItem{{"overzicht", "Overzicht"}, {"regels", "Regels"}, {"regeltester", "Regeltester"}, {"spoor", "Spoor"}, {"dode-brieven", "Dode brieven"}}
	if c.o.PrintBatches != nil {
		n = append(n, navItem{"printbatches", "Printbatches"})
	}
	return n
}

func (c *Console) render(w http.ResponseWriter, status int, name string, p *page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := c.tmpl.ExecuteTemplate(w, name, p); err != nil {
		c.log.Error("console: render", "template", name, "err", err)
	}
}

func (c *Console) refuse(w http.ResponseWriter, status int, msg string) {
	c.render(w, status, "fout", &page{Title: http.StatusText(status), Error: msg})
}

func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	s, ok := c.sessionOf(r)
	switch {
	case !ok:
		http.Redirect(w, r, Prefix+"inloggen", http.StatusSeeOther)
	case s.Role == Beheerder:
		http.Redirect(w, r, Prefix+"overzicht", http.StatusSeeOther)
	default:
		http.Redirect(w, r, Prefix+"spoor", http.StatusSeeOther)
	}
}

// The login form carries a random value that must equal a cookie set with
// it (double submit), so another site cannot log a browser in.
func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	c.showLogin(w, http.StatusOK, "")
}

func (c *Console) showLogin(w http.ResponseWriter, status int, msg string) {
	v := randomString()
	http.SetCookie(w, c.cookie(loginCookie, v, 600))
	c.render(w, status, "inloggen", &page{Title: "Inloggen", CSRF: v, Error: msg})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	ck, err := r.Cookie(loginCookie)
	if err != nil || !sameOrigin(r) || !hmacEqual(r.PostFormValue("csrf"), ck.Value) {
		c.showLogin(w, http.StatusForbidden, "Het formulier is verlopen (CSRF-controle). Probeer het opnieuw.")
		return
	}
	tok := r.PostFormValue("token")
	var role Role
	switch {
	case matches(tok, c.admin):
		role = Beheerder
	case matches(tok, c.kcc):
		role = KCC
	default:
		c.log.WarnContext(r.Context(), "console: login refused")
		c.showLogin(w, http.StatusUnauthorized, "Dit token wordt niet geaccepteerd.")
		return
	}
	s := session{Role: role, Who: who(role, tok), Expires: c.o.Now().Add(c.o.SessionTTL).Unix(), Nonce: randomString()}
	http.SetCookie(w, c.cookie(loginCookie, "", -1))
	http.SetCookie(w, c.cookie(sessionCookie, c.encodeSession(s), int(c.o.SessionTTL.Seconds())))
	c.audit(r, s, "login")
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s session) (*page, string) {
	http.SetCookie(w, c.cookie(sessionCookie, "", -1))
	c.audit(r, s, "logout")
	http.Redirect(w, r, Prefix+"inloggen", http.StatusSeeOther)
	return nil, ""
}

// --- Overzicht

type stageCount struct {
	Stage, Status, Channel string
	N                      int
}

type overview struct {
	Health      []Check
	Queues      []Queue
	DeadLetters int
	Counts      []stageCount
	CountErr    string
	Rules       rules.ReloadStatus
	Now         time.Time
}

// recentWindow is how many ledger records the overview reads to count the
// last hour.
const recentWindow = 5000

func (c *Console) overview(w http.ResponseWriter, r *http.Request, s session) (*page, string) {
	ctx := r.Context()
	now := c.o.Now()
	o := overview{Health: c.o.Backend.Health(ctx), Queues: c.o.Backend.Queues(ctx), Rules: c.o.Backend.RulesStatus(), Now: now}
	for _, q := range o.Queues {
		if strings.HasSuffix(q.Topic, "deadletter") {
			o.DeadLetters = q.Pending
		}
	}
	recs, err := c.o.Backend.Recent(ctx, recentWindow)
	if err != nil {
		o.CountErr = err.Error()
	}
	counts := map[stageCount]int{}
	for _, rec := range recs {
		if now.Sub(rec.At) <= time.Hour {
			counts[stageCount{Stage: rec.Stage, Status: rec.Status, Channel: rec.Channel}]++
		}
	}
	for k, n := range counts {
		k.N = n
		o.Counts = append(o.Counts, k)
	}
	order := map[string]int{"ingest": 0, "enrich": 1, "route": 2, "deliver": 3, "settle": 4}
	sort.Slice(o.Counts, func(i, j int) bool {
		a, b := o.Counts[i], o.Counts[j]
		if order[a.Stage] != order[b.Stage] {
			return order[a.Stage] < order[b.Stage]
		}
		return a.Channel+a.Status < b.Channel+b.Status
	})
	return &page{Title: "Overzicht", Active: "overzicht", Data: o}, "overzicht"
}

// --- Regels

type sourceView struct {
	Name  string
	Lines []string
}

type rulesView struct {
	Status   rules.ReloadStatus
	Sources  []sourceView
	Warnings []string
	Messages []messageView
	Err      string
}

type messageView struct {
	Name      string
	Templates []string
}

func (c *Console) rulesPage(w http.ResponseWriter, r *http.Request, s session) (*page, string) {
	return &page{Title: "Regels", Active: "regels", Data: c.rulesView()}, "regels"
}

func (c *Console) rulesView() rulesView {
	v := rulesView{Status: c.o.Backend.RulesStatus()}
	rs, srcs, err := c.o.Backend.Rules()
	if err != nil {
		v.Err = err.Error()
	}
	for _, src := range srcs {
		v.Sources = append(v.Sources, sourceView{Name: src.Name, Lines: strings.Split(strings.TrimRight(string(src.Data), "\n"), "\n")})
	}
	if rs != nil {
		for _, w := range rs.Warnings() {
			v.Warnings = append(v.Warnings, w.Error())
		}
		for _, m := range rs.Messages() {
			mv := messageView{Name: m}
			for _, ch := range []string{"email", "sms", "berichtenbox", "print"} {
				for _, lang := range []string{"nld", "eng"} {
					if t, ok := rs.MessageTemplate(m, ch, lang); ok {
						mv.Templates = append(mv.Templates, fmt.Sprintf("%s (%s): %s", ch, lang, t.ID()))
					}
				}
			}
			v.Messages = append(v.Messages, mv)
		}
	}
	return v
}

func (c *Console) reload(w http.ResponseWriter, r *http.Request, s session) (*page, string) {
	err := c.o.Backend.ReloadRules()
	st := c.o.Backend.RulesStatus()
	c.audit(r, s, "rules reload", "ok", err == nil, "hash", st.Hash)
	p := &page{Title: "Regels", Active: "regels", Data: c.rulesView()}
	if err != nil {
		p.Error = "De regels zijn niet herladen; de vorige regels blijven gelden:\n" + err.Error()
	} else {
		p.Message = "De regels zijn herladen (" + short(st.Hash) + ")."
	}
	return p, "regels"
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// --- Regeltester

type example struct{ Name, Event, Recipient string }

type testerView struct {
	Examples  []string
	Example   string
	Event     string
	Recipient string
	Rules     string
	Now       string
	Trim      bool
	Result    []rules.Explained
	Problems  []string
	Ran       bool
	RulesName string
	// Lookup offers the live look-up; LookedUp says for whom it was done
	// (masked).
	Lookup   bool
	LookedUp string
}

func (c *Console) examples() []example {
	if c.o.Examples == nil {
		return nil
	}
	names, _ := fs.Glob(c.o.Examples, "events/*.json")
	var out []example
	for _, n := range names {
		ev, _ := fs.ReadFile(c.o.Examples, n)
		ex := example{Name: strings.TrimSuffix(path.Base(n), ".json"), Event: string(ev)}
		if rc, err := fs.ReadFile(c.o.Examples, "recipients/"+path.Base(n)); err == nil {
			ex.Recipient = string(rc)
		}
		out = append(out, ex)
	}
	return out
}

func (c *Console) tester(w http.ResponseWriter, r *http.Request, s session) (*page, string) {
	v := testerView{Trim: true, Lookup: c.o.RecipientLookup}
	exs := c.examples()
	for _, e := range exs {
		v.Examples = append(v.Examples, e.Name)
	}
	p := &page{Title: "Regeltester", Active: "regeltester", Data: &v}
	if r.Method != http.MethodPost {
		if len(exs) > 0 {
			v.Example, v.Event, v.Recipient = exs[0].Name, exs[0].Event, exs[0].Recipient
		}
		return p, "regeltester"
	}
	v.Event, v.Recipient, v.Rules, v.Now = r.PostFormValue("event"), r.PostFormValue("recipient"), r.PostFormValue("rules"), strings.TrimSpace(r.PostFormValue("now"))
	v.Trim = r.PostFormValue("trim") == "ja"
	if r.PostFormValue("load") != "" {
		// "Voorbeeld laden": fill the form, decide nothing yet.
		v.Example = r.PostFormValue("example")
		for _, e := range exs {
			if e.Name == v.Example {
				v.Event, v.Recipient = e.Event, e.Recipient
			}
		}
		return p, "regeltester"
	}
	v.Ran = true
	rs, _, err := c.o.Backend.Rules()
	v.RulesName = "de regels die nu gelden"
	if strings.TrimSpace(v.Rules) != "" {
		v.RulesName = "de bewerkte regels hieronder"
		rs, err = rules.LoadSources(rules.Source{Name: "bewerkte-regels.yaml", Data: []byte(v.Rules)})
	}
	if err != nil {
		v.Problems = append(v.Problems, splitErrors(err)...)
	}
	var ev event.Event
	if err := rules.Decode("gebeurtenis", []byte(v.Event), &ev); err != nil {
		v.Problems = append(v.Problems, splitErrors(err)...)
	}
	var rcpt *event.Recipient
	if strings.TrimSpace(v.Recipient) != "" {
		rcpt = &event.Recipient{}
		if err := rules.Decode("ontvanger", []byte(v.Recipient), rcpt); err != nil {
			v.Problems = append(v.Problems, splitErrors(err)...)
		}
	}
	if id := strings.TrimSpace(r.PostFormValue("lookup")); id != "" && c.o.RecipientLookup {
		var subj event.Subject
		switch {
		case bsnRe.MatchString(id):
			subj = event.Subject{Role: event.RoleInitiator, Kind: event.KindInwoner, BSN: id}
		case kvkRe.MatchString(id):
			subj = event.Subject{Role: event.RoleInitiator, Kind: event.KindBedrijf, KVK: id}
		default:
			v.Problems = append(v.Problems, "Opzoeken kan met een BSN (9 cijfers) of een KVK-nummer (8 cijfers).")
		}
		if subj.Kind != "" {
			c.audit(r, s, "recipient lookup", "kind", subj.Kind)
			got, err := c.o.Backend.LookupRecipient(r.Context(), subj)
			if err != nil {
				v.Problems = append(v.Problems, "De ontvanger kon niet worden opgezocht: "+telemetry.Mask(err.Error()))
			} else {
				rcpt = &got
				v.LookedUp = telemetry.Mask(id)
			}
		}
	}
	now := c.o.Now()
	if v.Now != "" {
		t, err := time.Parse(time.RFC3339, v.Now)
		if err != nil {
			v.Problems = append(v.Problems, fmt.Sprintf("Moment %q is geen tijd als 2026-01-05T22:30:00+01:00.", v.Now))
		}
		now = t
	}
	if len(v.Problems) > 0 || rs == nil {
		return p, "regeltester"
	}
	in := rules.ExplainInput{Event: &ev, Recipient: rcpt, Now: now}
	if v.Trim {
		in.Has = c.o.Backend.HasChannel
	}
	v.Result = rs.Explain(in)
	return p, "regeltester"
}

func splitErrors(err error) []string {
	if es, ok := err.(rules.Errors); ok {
		out := make([]string, len(es))
		for i, e := range es {
			out[i] = e.Error()
		}
		return out
	}
	return []string{err.Error()}
}

// --- Spoor

type trailView struct {
	Query   string
	Kind    string
	Records []store.Record
	Ran     bool
	Masked  string
}

var (
	bsnRe = regexp.MustCompile(`^[0-9]{9}$`)
	kvkRe = regexp.MustCompile(`^[0-9]{8}$`)
)

// trail searches on POST (a BSN must not end up in a URL, a proxy log or
// the browser history); GET ?id= serves links by id from other pages.
func (c *Console) trail(w http.ResponseWriter, r *http.Request, s session) (*page, string) {
	v := trailView{}
	p := &page{Title: "Spoor", Active: "spoor", Data: &v}
	q := strings.TrimSpace(r.URL.Query().Get("id"))
	if r.Method == http.MethodPost {
		q = strings.TrimSpace(r.PostFormValue("q"))
	}
	if q == "" {
		return p, "spoor"
	}
	v.Ran = true
	var tq TrailQuery
	switch {
	case bsnRe.MatchString(q):
		if r.Method != http.MethodPost {
			p.Error = "Zoek op BSN met het formulier, niet via de adresbalk."
			return p, "spoor"
		}
		tq.Subject = event.Subject{Kind: event.KindInwoner, BSN: q}
		v.Kind, v.Masked = "BSN", telemetry.Mask(q)
	case kvkRe.MatchString(q):
		tq.Subject = event.Subject{Kind: event.KindBedrijf, KVK: q}
		v.Kind, v.Masked = "KVK-nummer", q
	case strings.HasPrefix(q, "http://") || strings.HasPrefix(q, "https://") || strings.HasPrefix(strings.ToUpper(q), "ZAAK-"):
		tq.Text = q
		v.Kind, v.Masked = "zaak", q
	default:
		tq.ID = q
		v.Kind, v.Masked = "id", q
	}
	v.Query = v.Masked
	recs, err := c.o.Backend.Trail(r.Context(), tq)
	if err != nil {
		p.Error = "Het spoor kon niet worden gelezen: " + err.Error()
	}
	for i := range recs {
		recs[i].Detail = telemetry.Mask(recs[i].Detail)
	}
	v.Records = recs
	return p, "spoor"
}

// --- Dode brieven

// maxDeadLetters bounds the list.
const maxDeadLetters = 200

type deadView struct {
	Letters []DeadLetter
	Letter  *DeadLetter
	Now     time.Time
	Confirm *ReplayFilter
	Count   int
	Result  *ReplayResult
}

func (c *Console) deadLetters(w http.ResponseWriter, r *http.Request, s session) (*page, string) {
	v := deadView{Now: c.o.Now()}
	p := &page{Title: "Dode brieven", Active: "dode-brieven", Data: &v}
	ls, err := c.o.Backend.DeadLetters(r.Context(), maxDeadLetters)
	if err != nil {
		p.Error = "De dode brieven konden niet worden gelezen: " + err.Error()
	}
	v.Letters = ls
	return p, "dode-brieven"
}

func (c *Console) deadLetter(w http.ResponseWriter, r *http.Request, s session) (*page, string) {
	v := deadView{Now: c.o.Now()}
	p := &page{Title: "Dode brief", Active: "dode-brieven", Data: &v}
	ls, err := c.o.Backend.DeadLetters(r.Context(), maxDeadLetters)
	if err != nil {
		p.Error = err.Error()
	}
	for i := range ls {
		if ls[i].UUID == r.PathValue("uuid") {
			v.Letter = &ls[i]
		}
	}
	if v.Letter == nil && p.Error == "" {
		p.Error = "Deze dode brief is er niet (meer): misschien is hij al opnieuw aangeboden."
	}
	return p, "dode-brief"
}

// replay first shows what would be replayed and asks to confirm; only a
// post with bevestigd=ja replays.
func (c *Console) replay(w http.ResponseWriter, r *http.Request, s session) (*page, string) {
	f := ReplayFilter{UUID: strings.TrimSpace(r.PostFormValue("uuid")), Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	v := deadView{Now: c.o.Now()}
	p := &page{Title: "Dode brieven", Active: "dode-brieven", Data: &v}
	if r.PostFormValue("bevestigd") != "ja" {
		ls, err := c.o.Backend.DeadLetters(r.Context(), maxDeadLetters)
		if err != nil {
			p.Error = err.Error()
		}
		for _, l := range ls {
			if selected(l, f) {
				v.Letters = append(v.Letters, l)
			}
		}
		v.Confirm, v.Count = &f, len(v.Letters)
		return p, "bevestig"
	}
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	res, err := c.o.Backend.Replay(ctx, f)
	c.audit(r, s, "deadletter replay", "uuid", f.UUID, "reason_filter", f.Reason, "replayed", res.Replayed, "err", errString(err))
	if err != nil {
		p.Error = "Opnieuw aanbieden is afgebroken: " + err.Error()
	}
	v.Result = &res
	ls, _ := c.o.Backend.DeadLetters(r.Context(), maxDeadLetters)
	v.Letters = ls
	p.Message = fmt.Sprintf("%d opnieuw aangeboden, %d blijven staan, %d opnieuw mislukt.", res.Replayed, res.Left, res.FailedAgain)
	return p, "dode-brieven"
}

func selected(l DeadLetter, f ReplayFilter) bool {
	if f.UUID != "" {
		return l.UUID == f.UUID
	}
	return strings.Contains(strings.ToLower(l.Reason), strings.ToLower(f.Reason))
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// --- Printbatches

func (c *Console) printBatches(w http.ResponseWriter, r *http.Request, s session) (*page, string) {
	bs, err := c.o.PrintBatches.List(r.Context())
	p := &page{Title: "Printbatches", Active: "printbatches", Data: bs}
	if err != nil {
		p.Error = err.Error()
	}
	return p, "printbatches"
}

func (c *Console) manifest(w http.ResponseWriter, r *http.Request, s session) (*page, string) {
	name, data, err := c.o.PrintBatches.Manifest(r.Context(), r.PathValue("id"))
	if err != nil {
		return &page{Title: "Printbatches", Active: "printbatches", Error: err.Error()}, "fout"
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", path.Base(name)))
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(data)
	return nil, ""
}
