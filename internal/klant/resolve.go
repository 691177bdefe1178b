package klant

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/mijnservices/koerier/internal/brp"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/kvk"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/telemetry"
)

// DefaultLanguage is used when no registry says which language a recipient
// prefers (ISO 639-2/B).
const DefaultLanguage = "nld"

// DefaultCacheTTL is how long Open Klant and BRP answers are reused.
// Personal data may live in the cache only for minutes.
const DefaultCacheTTL = 5 * time.Minute

// Registry names used in event.Source.
const (
	RegistryOpenKlant    = "openklant"
	RegistryBRP          = "brp"
	RegistryKVK          = "kvk"
	RegistryBerichtenbox = "berichtenbox"
	RegistryRol          = "rol"
	RegistryDefault      = "default"
)

// Fact names: the keys of event.Recipient.Sources.
const (
	FactPartij           = "partij"
	FactName             = "name"
	FactLanguage         = "language"
	FactEmail            = "email"
	FactPhone            = "phone"
	FactPreferredChannel = "preferredChannel"
	FactContactpersonen  = "contactpersonen"
	FactPostalAddress    = "postalAddress"
	FactDeceased         = "deceased"
	FactNoPost           = "noPost"
	FactSecrecy          = "secrecy"
	FactCuratele         = "curatele"
	FactBerichtenbox     = "berichtenbox"
	FactUnknown          = "unknown"
)

// Need says which facts the route stage needs for a rule's channel plan.
// Lookups are lazy: BRP and KVK are asked only when Postal is set, the
// Berichtenbox only when Berichtenbox is set.
type Need struct {
	// Digital asks for email, phone and preferred channel (Open Klant; for
	// bedrijven also the contactpersonen).
	Digital bool
	// Postal asks for a postal address and the BRP flags (deceased, secrecy,
	// curatele) for inwoners, the KVK address for bedrijven.
	Postal bool
	// Berichtenbox asks whether an inwoner is subscribed to the berichttype.
	Berichtenbox bool
}

// SubscriptionChecker answers whether an inwoner is subscribed to the
// Berichtenbox for the configured berichttype (channels/berichtenbox
// Validator.ForBerichtType implements it).
type SubscriptionChecker interface {
	Subscribed(ctx context.Context, bsn string) (event.Tri, event.Source, error)
}

// ResolverOptions configure a Resolver. Every registry is optional; a
// missing one simply contributes no facts.
type ResolverOptions struct {
	Klant *Client
	// BRP gives inwoners' postal addresses and the deceased, secrecy and
	// curatele flags.
	BRP *brp.Client
	// KVK gives bedrijven's postal addresses when Open Klant has no
	// correspondentieadres.
	KVK          *kvk.Client
	Berichtenbox SubscriptionChecker
	// Cache keeps Open Klant and BRP answers; nil disables caching.
	Cache store.Cache
	// KlantCacheTTL and BRPCacheTTL say how long answers are reused; 0
	// disables caching of that registry (config applies DefaultCacheTTL).
	KlantCacheTTL time.Duration
	BRPCacheTTL   time.Duration
	// CacheKeySecret keys the HMAC that turns identifiers into cache keys,
	// so that a key does not reveal (or let anyone test for) a BSN.
	CacheKeySecret []byte
	Logger         *slog.Logger
}

// Resolver turns a Subject into a Recipient.
type Resolver struct {
	o ResolverOptions
}

// NewResolver returns a resolver.
func NewResolver(o ResolverOptions) *Resolver {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Resolver{o: o}
}

// Resolve finds out how to reach s. zaakIdentificatie (may be empty) makes
// a digitaal adres with that referentie win. An unknown subject is not an
// error: the Recipient comes back with Unknown set. Errors are classified
// with failure.Temporary / failure.Permanent.
func (r *Resolver) Resolve(ctx context.Context, s event.Subject, need Need, zaakIdentificatie string) (event.Recipient, error) {
	rec := event.Recipient{
		Subject:  s,
		Kind:     s.Kind,
		Language: DefaultLanguage,
		Sources:  map[string]event.Source{},
	}
	if rec.Kind == "" {
		if s.BSN == "" && (s.KVK != "" || s.Vestigingsnummer != "" || s.RSIN != "") {
			rec.Kind = event.KindBedrijf
		} else {
			rec.Kind = event.KindInwoner
		}
	}
	rec.Sources[FactLanguage] = event.Source{Registry: RegistryDefault, Note: "no registry gave a voorkeurstaal"}
	if s.Name != "" {
		rec.Name = s.Name
		rec.Sources[FactName] = event.Source{Registry: RegistryRol, Note: "name as given on the rol"}
	}

	known := false
	var asked []string
	var primary *Partij
	if r.o.Klant != nil {
		asked = append(asked, RegistryOpenKlant)
		p, found, err := r.fromOpenKlant(ctx, &rec, need, zaakIdentificatie)
		if err != nil {
			return event.Recipient{}, err
		}
		known, primary = found, p
	}

	if need.Postal {
		found, postalAsked, err := r.postal(ctx, &rec, primary)
		if err != nil {
			return event.Recipient{}, err
		}
		known = known || found
		asked = append(asked, postalAsked...)
	}

	s = rec.Subject // completed from the partij's identificatoren
	if need.Berichtenbox && r.o.Berichtenbox != nil {
		switch {
		case rec.Kind != event.KindInwoner:
			rec.Sources[FactBerichtenbox] = event.Source{Registry: RegistryBerichtenbox, Note: "the Berichtenbox is for inwoners only"}
		case s.BSN == "":
			rec.Sources[FactBerichtenbox] = event.Source{Registry: RegistryBerichtenbox, Note: "not asked: no BSN known"}
		default:
			tri, src, err := r.o.Berichtenbox.Subscribed(ctx, s.BSN)
			if err != nil {
				return event.Recipient{}, err
			}
			rec.Berichtenbox = tri
			rec.Sources[FactBerichtenbox] = src
		}
	}

	if !known {
		rec.Unknown = true
		note := "no registry asked knows this subject"
		if len(asked) == 0 {
			note = "no registry was asked (none configured for this subject and need)"
		}
		rec.Sources[FactUnknown] = event.Source{Registry: strings.Join(asked, ","), Note: note}
	}
	// Masked here as well as by the logging handler: a logger without the
	// masking handler must not leak either.
	r.o.Logger.DebugContext(ctx, "klant: resolved recipient",
		"kind", rec.Kind, "bsn", telemetry.MaskBSN(s.BSN), "email", telemetry.Mask(rec.Email), "phone", telemetry.Mask(rec.Phone),
		"preferred", rec.PreferredChannel, "berichtenbox", string(rec.Berichtenbox), "postal", rec.PostalAddress != nil,
		"unknown", rec.Unknown, "deceased", rec.Deceased, "contactpersonen", len(rec.Contactpersonen))
	return rec, nil
}

// fromOpenKlant fills the Open Klant facts. It returns the primary active
// partij (nil if none) and whether Open Klant knows the subject at all (an
// inactive partij counts as known).
func (r *Resolver) fromOpenKlant(ctx context.Context, rec *event.Recipient, need Need, zaakID string) (*Partij, bool, error) {
	s := rec.Subject
	partijen, how, err := r.findPartijen(ctx, s)
	if err != nil {
		return nil, false, err
	}
	if len(partijen) == 0 {
		return nil, false, nil
	}
	active := make([]Partij, 0, len(partijen))
	for _, p := range partijen {
		if p.Active() {
			active = append(active, p)
		}
	}
	if len(active) == 0 {
		// indicatieActief false: the partij's contact data must not be used.
		rec.Sources[FactPartij] = event.Source{Registry: RegistryOpenKlant, Record: partijen[0].URL,
			Note: "indicatieActief is false: Open Klant data not used"}
		return nil, true, nil
	}
	primary := orderPartijen(active)
	note := how
	if len(active) > 1 {
		urls := make([]string, len(active))
		for i, p := range active {
			urls[i] = p.URL
		}
		note += fmt.Sprintf("; %d partijen merged (primary first): %s", len(active), strings.Join(urls, " "))
	}
	rec.Sources[FactPartij] = event.Source{Registry: RegistryOpenKlant, Record: primary[0].URL, Note: note}
	completeSubject(rec, primary[0])

	// Name and language: from the first partij that has one.
	for _, p := range primary {
		if n := p.Name(); n != "" {
			rec.Name = n
			rec.Sources[FactName] = event.Source{Registry: RegistryOpenKlant, Record: p.URL, Note: "partijIdentificatie"}
			break
		}
	}
	for _, p := range primary {
		if p.IndicatieGeheimhouding != nil && *p.IndicatieGeheimhouding {
			rec.Secrecy = true
			rec.Sources[FactSecrecy] = event.Source{Registry: RegistryOpenKlant, Record: p.URL, Note: "indicatieGeheimhouding"}
			break
		}
	}
	for _, p := range primary {
		if t := strings.ToLower(strings.TrimSpace(p.Voorkeurstaal)); len(t) == 3 {
			rec.Language = t
			rec.Sources[FactLanguage] = event.Source{Registry: RegistryOpenKlant, Record: p.URL, Note: "voorkeurstaal"}
			break
		}
	}
	if !need.Digital {
		return &primary[0], true, nil
	}

	adressen, voorkeur, err := r.adressenOf(ctx, primary)
	if err != nil {
		return nil, true, err
	}
	applyChoice(rec, chooseAddresses(adressen, voorkeur, zaakID))

	if rec.Kind == event.KindBedrijf {
		if err := r.contactpersonen(ctx, rec, primary[0], zaakID); err != nil {
			return nil, true, err
		}
	}
	return &primary[0], true, nil
}

// completeSubject fills what the rol did not say but the partij does: the
// kind, and the BSN or KVK number needed to ask BRP, KVK or the
// Berichtenbox about a subject known only by its partij URL.
func completeSubject(rec *event.Recipient, p Partij) {
	s := &rec.Subject
	if s.Kind == "" {
		switch p.SoortPartij {
		case SoortOrganisatie:
			rec.Kind = event.KindBedrijf
		case SoortPersoon, SoortContactpersoon:
			rec.Kind = event.KindInwoner
		}
		s.Kind = rec.Kind
	}
	if s.BSN == "" && rec.Kind == event.KindInwoner {
		s.BSN = p.Identificator(IDBSN)
	}
	if s.KVK == "" && rec.Kind == event.KindBedrijf {
		s.KVK = p.Identificator(IDKVK)
	}
}

func applyChoice(rec *event.Recipient, c choice) {
	if c.Email != nil {
		rec.Email = c.Email.Value
		rec.Sources[FactEmail] = event.Source{Registry: RegistryOpenKlant, Record: c.Email.Adres.URL, Note: c.Email.Reason}
	}
	if c.Phone != nil {
		rec.Phone = c.Phone.Value
		rec.Sources[FactPhone] = event.Source{Registry: RegistryOpenKlant, Record: c.Phone.Adres.URL, Note: c.Phone.Reason}
	}
	if c.Preferred != "" {
		rec.PreferredChannel = c.Preferred
		rec.Sources[FactPreferredChannel] = event.Source{Registry: RegistryOpenKlant, Record: c.PreferredRecord, Note: c.PreferredReason}
	}
	if len(c.Skipped) > 0 {
		src := rec.Sources[FactPartij]
		src.Note = strings.TrimPrefix(src.Note+"; unusable addresses: "+strings.Join(c.Skipped, ", "), "; ")
		rec.Sources[FactPartij] = src
	}
}

// orderPartijen puts the partijen for one subject in a deterministic order
// for merging: one with a voorkeursDigitaalAdres first (the citizen
// expressed a preference there), then by URL.
func orderPartijen(ps []Partij) []Partij {
	out := append([]Partij(nil), ps...)
	sort.SliceStable(out, func(i, j int) bool {
		vi, vj := out[i].VoorkeursDigitaalAdres != nil, out[j].VoorkeursDigitaalAdres != nil
		if vi != vj {
			return vi
		}
		return out[i].URL < out[j].URL
	})
	return out
}

// adressenOf returns the digitale adressen of the partijen in order, and the
// voorkeursDigitaalAdres URL of the first partij that has one. A server that
// ignores expand gets its addresses fetched one by one.
func (r *Resolver) adressenOf(ctx context.Context, ps []Partij) ([]DigitaalAdres, string, error) {
	var out []DigitaalAdres
	voorkeur := ""
	for _, p := range ps {
		if voorkeur == "" && p.VoorkeursDigitaalAdres != nil {
			voorkeur = p.VoorkeursDigitaalAdres.URL
		}
		if p.Expand != nil && (p.Expand.DigitaleAdressen != nil || len(p.DigitaleAdressen) == 0) {
			out = append(out, p.Expand.DigitaleAdressen...)
			continue
		}
		for _, fk := range p.DigitaleAdressen {
			d, err := r.o.Klant.DigitaalAdres(ctx, fk.URL)
			if err != nil {
				return nil, "", err
			}
			out = append(out, d)
		}
	}
	return out, voorkeur, nil
}

func (r *Resolver) contactpersonen(ctx context.Context, rec *event.Recipient, org Partij, zaakID string) error {
	// Listing contactpersonen pages through all of them (the API cannot
	// filter on werkteVoorPartij), so the answer is worth caching.
	cps, err := cached(ctx, r, r.o.KlantCacheTTL, "openklant|"+r.o.Klant.BaseURL()+"|contactpersonen|"+org.URL, func() ([]Partij, error) {
		return r.o.Klant.Contactpersonen(ctx, org)
	})
	if err != nil {
		return err
	}
	sort.SliceStable(cps, func(i, j int) bool { return cps[i].URL < cps[j].URL })
	for _, cp := range cps {
		if !cp.Active() {
			continue
		}
		sub := event.Recipient{
			Subject:  event.Subject{Kind: event.KindInwoner, PartijURL: cp.URL, Role: "contactpersoon"},
			Kind:     event.KindInwoner,
			Name:     cp.Name(),
			Language: rec.Language,
			Sources: map[string]event.Source{
				FactPartij: {Registry: RegistryOpenKlant, Record: cp.URL, Note: "contactpersoon of " + org.URL},
				FactName:   {Registry: RegistryOpenKlant, Record: cp.URL, Note: "partijIdentificatie"},
			},
		}
		if t := strings.ToLower(strings.TrimSpace(cp.Voorkeurstaal)); len(t) == 3 {
			sub.Language = t
			sub.Sources[FactLanguage] = event.Source{Registry: RegistryOpenKlant, Record: cp.URL, Note: "voorkeurstaal"}
		}
		adressen, voorkeur, err := r.adressenOf(ctx, []Partij{cp})
		if err != nil {
			return err
		}
		applyChoice(&sub, chooseAddresses(adressen, voorkeur, zaakID))
		rec.Contactpersonen = append(rec.Contactpersonen, sub)
	}
	if len(rec.Contactpersonen) > 0 {
		rec.Sources[FactContactpersonen] = event.Source{Registry: RegistryOpenKlant, Record: org.URL,
			Note: fmt.Sprintf("%d active contactpersonen with werkteVoorPartij this organisatie", len(rec.Contactpersonen))}
	}
	return nil
}

// findPartijen looks the subject up in Open Klant, most specific identifier
// first, through the cache. how says which lookup found them.
func (r *Resolver) findPartijen(ctx context.Context, s event.Subject) ([]Partij, string, error) {
	type lookup struct {
		how string
		key string
		run func() ([]Partij, error)
	}
	var ls []lookup
	k := r.o.Klant
	if s.PartijURL != "" {
		ls = append(ls, lookup{"by partij URL from the rol", "url|" + s.PartijURL, func() ([]Partij, error) {
			p, err := k.Partij(ctx, s.PartijURL)
			if errors.Is(err, ErrNotFound) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			return []Partij{p}, nil
		}})
	}
	if s.BSN != "" {
		ls = append(ls, lookup{"by bsn", "bsn|" + s.BSN, func() ([]Partij, error) { return k.PartijenByIdentificator(ctx, IDBSN, s.BSN) }})
	}
	if s.Vestigingsnummer != "" {
		ls = append(ls, lookup{"by vestigingsnummer", "vestiging|" + s.KVK + "|" + s.Vestigingsnummer, func() ([]Partij, error) {
			return k.PartijenByVestiging(ctx, s.KVK, s.Vestigingsnummer)
		}})
	}
	if s.KVK != "" {
		how := "by kvk_nummer"
		if s.Vestigingsnummer != "" {
			how = "by kvk_nummer (no partij for the vestiging)"
		}
		ls = append(ls, lookup{how, "kvk|" + s.KVK, func() ([]Partij, error) { return k.PartijenByIdentificator(ctx, IDKVK, s.KVK) }})
	}
	if s.RSIN != "" {
		ls = append(ls, lookup{"by rsin", "rsin|" + s.RSIN, func() ([]Partij, error) { return k.PartijenByIdentificator(ctx, IDRSIN, s.RSIN) }})
	}
	for _, l := range ls {
		ps, err := cached(ctx, r, r.o.KlantCacheTTL, "openklant|"+k.BaseURL()+"|"+l.key, l.run)
		if err != nil {
			return nil, "", err
		}
		if len(ps) > 0 {
			return ps, "found " + l.how, nil
		}
	}
	return nil, "", nil
}

// cached runs fetch through the cache. A cache failure never fails a
// resolution: it only costs a lookup.
func cached[T any](ctx context.Context, r *Resolver, ttl time.Duration, ident string, fetch func() (T, error)) (T, error) {
	if r.o.Cache == nil || ttl <= 0 {
		return fetch()
	}
	key := CacheKey(r.o.CacheKeySecret, ident)
	if b, ok, err := r.o.Cache.Get(ctx, key); err == nil && ok {
		var v T
		if json.Unmarshal(b, &v) == nil {
			return v, nil
		}
	} else if err != nil {
		r.o.Logger.WarnContext(ctx, "klant: cache get failed", "err", err)
	}
	v, err := fetch()
	if err != nil {
		return v, err
	}
	if b, err := json.Marshal(v); err == nil {
		if err := r.o.Cache.Set(ctx, key, b, ttl); err != nil {
			r.o.Logger.WarnContext(ctx, "klant: cache set failed", "err", err)
		}
	}
	return v, nil
}

// CacheKey derives a store key from an identifier (which may contain a BSN):
// "klant:" + hex(HMAC-SHA256(secret, ident)). With an empty secret a fixed
// domain string is used, which still keeps BSNs out of the keys.
func CacheKey(secret []byte, ident string) string {
	if len(secret) == 0 {
		secret = []byte("koerier/klant/cache/v1")
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ident))
	return "klant:" + hex.EncodeToString(m.Sum(nil))
}
