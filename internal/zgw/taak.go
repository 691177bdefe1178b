package zgw

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // verloopdatum without a zone is Dutch local time, on any host

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
)

// ParsedTaak is a taak object normalised over the shapes found in the wild:
//
//   - Den Haag (v1): title, status, zaak (URL), formulier{type,value},
//     verloopdatum (ISO), identificatie{type,value}, the form data under
//     data; some producers nest the whole taak one level deeper, in
//     record.data.data.
//   - community / Nijmegen: titel, status, soort, koppeling{registratie,
//     uuid}, formtaak.formulier or portaalformulier.formulier{soort,value},
//     url.uri, verloopdatum as "YYYY-MM-DD HH:MM:SS" (Dutch local time),
//     identificatie{type,value}.
type ParsedTaak struct {
	Taak                 event.Taak
	Shape                string // "denhaag" or "community"
	IdentificatieType    string // bsn, kvk, ...
	IdentificatieValue   string
	KoppelingRegistratie string // zaak, product
	KoppelingUUID        string
	VerwerkerTaakID      string
}

// Taak statuses: open is the only one a citizen can act on.
const (
	TaakOpen     = "open"
	TaakAfgerond = "afgerond"
)

// closedTaak reports whether a status means the citizen is done.
func closedTaak(status string) bool {
	switch status {
	case "afgerond", "verwerkt", "gesloten":
		return true
	}
	return false
}

var amsterdam = clock.Amsterdam

// ParseVerloopdatum accepts RFC 3339 (with or without fraction), and
// "YYYY-MM-DD HH:MM:SS", "YYYY-MM-DDTHH:MM:SS" and "YYYY-MM-DD" in Dutch
// local time.
func ParseVerloopdatum(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04:05.999999", "2006-01-02T15:04:05.999999", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, amsterdam); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("zgw: verloopdatum %q is neither ISO 8601 nor YYYY-MM-DD HH:MM:SS", s)
}

type jsonObject map[string]json.RawMessage

func asObject(raw json.RawMessage) (jsonObject, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var m jsonObject
	if json.Unmarshal(raw, &m) != nil {
		return nil, false
	}
	return m, true
}

// str returns m[key] when it is a JSON string, else "".
func (m jsonObject) str(key string) string {
	raw, ok := m[key]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return strings.TrimSpace(s)
}

func (m jsonObject) obj(key string) jsonObject {
	o, _ := asObject(m[key])
	return o
}

// ParseTaak parses an object's record.data as a taak. Fields of the wrong
// JSON type are ignored rather than fatal; a taak without a status is an
// error.
func ParseTaak(obj Object) (ParsedTaak, error) {
	m, ok := asObject(obj.Record.Data)
	if !ok {
		return ParsedTaak{}, errors.New("zgw: taak: record.data is not a JSON object")
	}
	// Den Haag producers sometimes wrap the taak once more in data.
	for range 3 {
		if m.str("status") != "" || m.str("title") != "" || m.str("titel") != "" {
			break
		}
		inner := m.obj("data")
		if inner == nil {
			break
		}
		m = inner
	}
	p := ParsedTaak{Taak: event.Taak{URL: obj.URL}}
	p.Taak.Status = strings.ToLower(m.str("status"))
	if p.Taak.Status == "" {
		return ParsedTaak{}, errors.New("zgw: taak: no status in record.data")
	}
	if t := m.str("title"); t != "" {
		p.Shape = "denhaag"
		p.Taak.Titel = t
	} else {
		p.Shape = "community"
		p.Taak.Titel = m.str("titel")
	}
	p.Taak.Soort = m.str("soort")
	p.Taak.ZaakURL = m.str("zaak")
	if f := m.obj("formulier"); f != nil {
		p.Taak.FormulierURL = formulierValue(f)
	}
	for _, k := range []string{"formtaak", "portaalformulier"} {
		if f := m.obj(k).obj("formulier"); f != nil && p.Taak.FormulierURL == "" {
			p.Taak.FormulierURL = formulierValue(f)
		}
	}
	if u := m.obj("url"); u != nil && p.Taak.FormulierURL == "" {
		p.Taak.FormulierURL = u.str("uri")
	}
	if v := m.str("verloopdatum"); v != "" {
		t, err := ParseVerloopdatum(v)
		if err != nil {
			return ParsedTaak{}, err
		}
		p.Taak.Verloopdatum = t
	}
	if id := m.obj("identificatie"); id != nil {
		p.IdentificatieType = strings.ToLower(id.str("type"))
		p.IdentificatieValue = id.str("value")
	}
	if k := m.obj("koppeling"); k != nil {
		p.KoppelingRegistratie = k.str("registratie")
		p.KoppelingUUID = k.str("uuid")
	}
	p.VerwerkerTaakID = m.str("verwerker_taak_id")
	return p, nil
}

// formulierValue reads {type|soort: url, value}; an id (local form) is not
// a link a citizen can follow.
func formulierValue(f jsonObject) string {
	kind := f.str("type")
	if kind == "" {
		kind = f.str("soort")
	}
	if kind == "" || kind == "url" {
		return f.str("value")
	}
	return ""
}

// taakSubject maps identificatie{type,value} onto a subject.
func taakSubject(p ParsedTaak) (event.Subject, bool) {
	if p.IdentificatieValue == "" {
		return event.Subject{}, false
	}
	switch p.IdentificatieType {
	case "bsn":
		return event.Subject{Role: event.RoleTaak, Kind: event.KindInwoner, BSN: p.IdentificatieValue}, true
	case "kvk":
		return event.Subject{Role: event.RoleTaak, Kind: event.KindBedrijf, KVK: p.IdentificatieValue}, true
	}
	return event.Subject{}, false
}

// taakState is the last state Koerier saw of a taak, kept in the cache
// because an update notification does not say what changed. It holds no
// personal data: the identificatie is not part of it, not even hashed.
type taakState struct {
	Status       string    `json:"status"`
	Verloopdatum time.Time `json:"verloopdatum,omitzero"`
	Hash         string    `json:"hash"`
	// InboundID and Outcome let a redelivered notification get the same
	// answer as the first delivery instead of "nothing changed".
	InboundID string `json:"inboundId"`
	EventType string `json:"eventType,omitempty"`
	Skipped   string `json:"skipped,omitempty"`
}

// relevantHash covers what a citizen would notice, minus the status
// (compared on its own) and the identificatie (personal data).
func relevantHash(t event.Taak) string {
	h := sha256.Sum256([]byte(strings.Join([]string{t.Titel, t.Soort, t.Verloopdatum.UTC().Format(time.RFC3339Nano), t.ZaakURL, t.FormulierURL}, "\x00")))
	return hex.EncodeToString(h[:12])
}

// The taak lock outlives any sane request (so a crashed holder frees it),
// and a busy taak is retried soon.
const (
	taakLockTTL   = time.Minute
	taakBusyRetry = 5 * time.Second
)

func taakStateKey(objectURL string) string { return "zgw:taak:" + objectURL }

// TaakStateKey is the cache key of the last seen state of the taak object
// at objectURL, so that purging the taak's zaak can delete it.
func TaakStateKey(objectURL string) string { return taakStateKey(objectURL) }

// objectNotified handles kanaal objecten.
func (e *Enricher) objectNotified(ctx context.Context, in event.Inbound) (Result, error) {
	n := in.Notification
	ot := n.Kenmerken["objectType"]
	if !contains(e.cfg.TaakObjecttypen, ot) {
		return Result{Skipped: ReasonGeenTaakObjecttype, Detail: fmt.Sprintf("objectType %q is not a configured taak objecttype", ot)}, nil
	}
	if n.Resource != "object" || (n.Actie != "create" && n.Actie != "update" && n.Actie != "partial_update") {
		return notSupported(n), nil
	}
	if e.cfg.Claims != nil {
		lock := "zgw:taak-lock:" + n.ResourceURL
		first, err := e.cfg.Claims.Claim(ctx, lock, taakLockTTL)
		if err != nil {
			return Result{}, failure.Temporary(fmt.Errorf("zgw: lock taak: %w", err))
		}
		if !first {
			return Result{}, failure.Later(ReasonTaakBezet, taakBusyRetry, fmt.Errorf("zgw: taak %s is being handled by another replica", n.ResourceURL))
		}
		// Released with a fresh context: the work is done or failed, and
		// either way the next notification for this taak may go ahead.
		defer func() { _ = e.cfg.Claims.Release(context.WithoutCancel(ctx), lock) }()
	}
	var obj Object
	if err := e.client.Get(ctx, n.ResourceURL, nil, &obj); err != nil {
		return Result{}, fmt.Errorf("zgw: get object: %w", err)
	}
	if obj.URL == "" {
		obj.URL = n.ResourceURL
	}
	p, err := ParseTaak(obj)
	if err != nil {
		return Result{Skipped: ReasonTaakOnleesbaar, Detail: err.Error()}, nil
	}
	subj, ok := taakSubject(p)
	if !ok {
		return Result{Skipped: ReasonTaakZonderIdentificatie, Detail: fmt.Sprintf("taak %s has identificatie type %q without a bsn or kvk value", obj.URL, p.IdentificatieType)}, nil
	}

	key := taakStateKey(obj.URL)
	var prev *taakState
	if b, ok, err := e.cache.Get(ctx, key); err != nil {
		return Result{}, failure.Temporary(fmt.Errorf("zgw: read taak state: %w", err))
	} else if ok {
		var s taakState
		if json.Unmarshal(b, &s) == nil {
			prev = &s
		}
	}
	cur := taakState{Status: p.Taak.Status, Verloopdatum: p.Taak.Verloopdatum, Hash: relevantHash(p.Taak), InboundID: in.ID}
	switch {
	case prev != nil && prev.InboundID == in.ID:
		cur.EventType, cur.Skipped = prev.EventType, prev.Skipped
	case prev == nil || closedTaak(prev.Status) && !closedTaak(cur.Status):
		if closedTaak(cur.Status) || cur.Status != TaakOpen {
			cur.Skipped = ReasonTaakNietOpen
		} else {
			cur.EventType = event.TypeTaakToegewezen
		}
	case closedTaak(cur.Status) && !closedTaak(prev.Status):
		cur.EventType = event.TypeTaakAfgerond
	case cur.Hash != prev.Hash && !closedTaak(cur.Status):
		cur.EventType = event.TypeTaakGewijzigd
	default:
		cur.Skipped = ReasonTaakOngewijzigd
	}
	if b, err := json.Marshal(cur); err == nil {
		if err := e.cache.Set(ctx, key, b, e.cfg.TaakStateTTL); err != nil {
			return Result{}, failure.Temporary(fmt.Errorf("zgw: write taak state: %w", err))
		}
	}
	if cur.Skipped != "" {
		return Result{Skipped: cur.Skipped, Detail: fmt.Sprintf("taak %s status %q", obj.URL, cur.Status)}, nil
	}
	ev, err := e.taakEvent(ctx, in, p, subj, cur.EventType, eventID(cur.EventType, obj.URL, in.ID))
	if err != nil {
		return Result{}, err
	}
	res := Result{Events: []event.Event{ev}}
	if cur.Status == TaakOpen {
		res.Timers = e.timers(p.Taak)
	}
	return res, nil
}

func (e *Enricher) taakEvent(ctx context.Context, in event.Inbound, p ParsedTaak, subj event.Subject, typ, id string) (event.Event, error) {
	t := p.Taak
	if t.ZaakURL == "" && p.KoppelingRegistratie == "zaak" && p.KoppelingUUID != "" {
		if root := e.zakenRoot(); root != "" {
			t.ZaakURL = root + "/zaken/" + p.KoppelingUUID
		}
	}
	ev := event.Event{
		ID:         id,
		Type:       typ,
		OccurredAt: occurredAt(in, e.cfg.Now()),
		InboundID:  in.ID,
		Source:     in.Source,
		Taak:       &t,
		Subjects:   []event.Subject{subj},
	}
	// The zaak is context for rules and templates, not a condition: a zaak
	// elsewhere (not on the allow-list) or gone is left out.
	if t.ZaakURL != "" && e.client.allow.Check(t.ZaakURL) == nil {
		zaak, zt, err := e.zaakEnZaaktype(ctx, t.ZaakURL)
		switch {
		case err == nil:
			ev.Zaak = zaakEvent(zaak)
			ev.Zaaktype = &event.Zaaktype{URL: zt.URL, Identificatie: zt.Identificatie, Omschrijving: zt.Omschrijving}
		case NotFound(err):
		default:
			return event.Event{}, err
		}
	}
	return ev, nil
}

// zakenRoot is the first configured Zaken API root, to resolve a
// community taak's koppeling{registratie: zaak, uuid}.
func (e *Enricher) zakenRoot() string {
	for _, a := range e.cfg.APIs {
		r := strings.TrimSuffix(a.Root, "/")
		if strings.HasSuffix(r, "/zaken/api/v1") {
			return r
		}
	}
	return ""
}

// timers lists the reminders for an open taak with a verloopdatum, those
// still in the future. Their ids are deterministic, so re-listing them on
// every taak event is harmless: the router's dedup drops repeats.
func (e *Enricher) timers(t event.Taak) []event.Inbound {
	if t.Verloopdatum.IsZero() {
		return nil
	}
	now := e.cfg.Now()
	var out []event.Inbound
	for _, d := range e.cfg.HerinneringDagen {
		due := t.Verloopdatum.AddDate(0, 0, -d)
		if !due.After(now) {
			continue
		}
		v := t.Verloopdatum.UTC()
		out = append(out, event.Inbound{
			ID:         eventID("timer", event.TimerTaakHerinnering, t.URL, v.Format(time.RFC3339Nano), fmt.Sprint(d)),
			Source:     event.SourceScheduler,
			ReceivedAt: now.UTC(),
			DueAt:      due.UTC(),
			Timer:      &event.Timer{Kind: event.TimerTaakHerinnering, ObjectURL: t.URL, DaysBefore: d, Verloopdatum: v},
		})
	}
	return out
}

// herinnering handles a due taak reminder: it re-fetches the taak and emits
// taak.herinnering only when it is still open with the same verloopdatum.
func (e *Enricher) herinnering(ctx context.Context, in event.Inbound) (Result, error) {
	tm := in.Timer
	if tm.Kind != event.TimerTaakHerinnering {
		return Result{Skipped: ReasonNietOndersteund, Detail: fmt.Sprintf("timer kind %q", tm.Kind)}, nil
	}
	var obj Object
	if err := e.client.Get(ctx, tm.ObjectURL, nil, &obj); err != nil {
		return Result{}, fmt.Errorf("zgw: get object: %w", err)
	}
	if obj.URL == "" {
		obj.URL = tm.ObjectURL
	}
	p, err := ParseTaak(obj)
	if err != nil {
		return Result{Skipped: ReasonTaakOnleesbaar, Detail: err.Error()}, nil
	}
	if p.Taak.Status != TaakOpen || !p.Taak.Verloopdatum.Equal(tm.Verloopdatum) {
		return Result{Skipped: ReasonHerinneringVervallen, Detail: fmt.Sprintf("taak %s is %q with verloopdatum %s; the reminder was for an open taak due %s", obj.URL, p.Taak.Status, p.Taak.Verloopdatum.Format(time.RFC3339), tm.Verloopdatum.Format(time.RFC3339))}, nil
	}
	subj, ok := taakSubject(p)
	if !ok {
		return Result{Skipped: ReasonTaakZonderIdentificatie, Detail: fmt.Sprintf("taak %s has no bsn or kvk", obj.URL)}, nil
	}
	p.Taak.Herinnering = tm.DaysBefore
	ev, err := e.taakEvent(ctx, in, p, subj, event.TypeTaakHerinnering,
		eventID(event.TypeTaakHerinnering, obj.URL, tm.Verloopdatum.UTC().Format(time.RFC3339Nano), fmt.Sprint(tm.DaysBefore)))
	if err != nil {
		return Result{}, err
	}
	return Result{Events: []event.Event{ev}}, nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
