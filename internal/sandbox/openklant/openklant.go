// Package openklant is a fake Open Klant 2 Klantinteracties API for tests and
// the demo: partijen (persoon, organisatie, contactpersoon) with their
// partij-identificatoren and digitale adressen, the list filters Koerier
// uses, `expand=digitaleAdressen`, pagination and `Authorization: Token`.
// It speaks the wire format of the published OpenAPI (see testdata) and
// shares no types with internal/klant, so that a misunderstanding of the
// API in one does not hide in the other.
package openklant

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/mijnservices/koerier/internal/sandbox/fault"
)

// DefaultToken is the token the fake accepts unless Options.Token says
// otherwise.
const DefaultToken = "sandbox-openklant-token"

// Options configure a fake.
type Options struct {
	// Token expected after "Token " in Authorization (default DefaultToken).
	Token string
	// BaseURL is the external API root the fake puts in `url` fields, e.g.
	// http://127.0.0.1:8123/klantinteracties/api/v1. Its path is stripped
	// from incoming requests. Can be set later with SetBaseURL.
	BaseURL string
	// PageSize is the default page size (default 100, as Open Klant).
	PageSize int
	// NoExpand ignores `expand`, as Open Klant releases before expand
	// support did: clients must then fetch digitale adressen one by one.
	NoExpand bool
}

// Request is one request the fake received.
type Request struct {
	Method        string
	Path          string
	Query         url.Values
	Authorization string
}

// Server is the fake. It is an http.Handler; fault rules are added through
// Faults.
type Server struct {
	Faults *fault.Injector

	mu       sync.Mutex
	token    string
	base     string
	pageSize int
	noExpand bool
	partijen []*partij // in creation order
	adressen map[string]*digitaalAdres
	idents   []*identificator
	// byUUID index partijen and identificatoren: a partijen search looks
	// up the identificatoren of every partij, which with koerier bench's
	// thousands of inwoners must not be a scan each.
	partijByID map[string]*partij
	identByID  map[string]*identificator
	requests   []Request
	// klantcontacten registered through POST /maak-klantcontact.
	klantcontacten []*Klantcontact
	handler        http.Handler
	uuidCount      int
}

// NewServer returns an empty fake; seed it with AddPersoon, AddOrganisatie,
// AddContactpersoon or SeedDemo.
func NewServer(o Options) *Server {
	if o.Token == "" {
		o.Token = DefaultToken
	}
	if o.PageSize == 0 {
		o.PageSize = 100
	}
	s := &Server{
		Faults:     &fault.Injector{},
		token:      o.Token,
		base:       strings.TrimRight(o.BaseURL, "/"),
		pageSize:   o.PageSize,
		noExpand:   o.NoExpand,
		adressen:   map[string]*digitaalAdres{},
		partijByID: map[string]*partij{},
		identByID:  map[string]*identificator{},
	}
	s.handler = s.Faults.Wrap(http.HandlerFunc(s.serve))
	return s
}

// SetBaseURL sets the external API root (when it is known only after the
// listener started, as with httptest.NewServer). Partijen seeded before
// carry the new URL too: URLs are rendered at answer time.
func (s *Server) SetBaseURL(u string) {
	s.mu.Lock()
	s.base = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// BaseURL returns the external API root.
func (s *Server) BaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

// Requests returns a copy of the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	s.requests = nil
	s.mu.Unlock()
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Adres is a digitaal adres to seed.
type Adres struct {
	// Soort as stored: "email", "telefoonnummer", "overig", or a pre-2.4
	// spelling such as "Email" or "Telefoon" to test tolerant readers.
	Soort        string
	Adres        string
	Omschrijving string
	Referentie   string
	Standaard    bool
	// Voorkeur makes this the partij's voorkeursDigitaalAdres.
	Voorkeur bool
}

// Persoon is an inwoner to seed.
type Persoon struct {
	BSN                                            string
	Voorletters, Voornaam, Voorvoegsel, Achternaam string
	Taal                                           string
	// Inactief sets indicatieActief false.
	Inactief bool
	// Geheim sets indicatieGeheimhouding.
	Geheim   bool
	Adressen []Adres
}

// Correspondentieadres is a postal address a partij gave.
type Correspondentieadres struct {
	Straatnaam                            string
	Huisnummer                            int
	Huisnummertoevoeging                  string
	Postcode                              string // "1234 AB"
	Stad                                  string
	Adresregel1, Adresregel2, Adresregel3 string
	Land                                  string // ISO 3166 alpha-2, for abroad
}

// Organisatie is a bedrijf (or one of its vestigingen) to seed.
type Organisatie struct {
	KVK string
	// Vestigingsnummer, when set, seeds a vestiging partij whose
	// vestigingsnummer identificator is a sub-identificator of the KVK
	// identificator of the organisatie seeded earlier with the same KVK.
	Vestigingsnummer string
	Naam             string
	Taal             string
	Inactief         bool
	Adressen         []Adres
	Correspondentie  *Correspondentieadres
}

// Contactpersoon is a person working for an organisatie.
type Contactpersoon struct {
	Voornaam, Voorvoegsel, Achternaam string
	Taal                              string
	Inactief                          bool
	Adressen                          []Adres
}

type partij struct {
	uuid        string
	soort       string
	taal        string
	actief      bool
	identIDs    []string // identificator uuids
	adresIDs    []string
	voorkeur    string // adres uuid
	contactnaam map[string]string
	naam        string
	werkteVoor  string // partij uuid
	post        *Correspondentieadres
	geheim      bool
}

type digitaalAdres struct {
	uuid, partij                           string
	soort, adres, omschrijving, referentie string
	standaard                              bool
}

type identificator struct {
	uuid, partij                                  string
	objecttype, soortObjectID, objectID, register string
	sub                                           string // identificator uuid
}

// newUUID gives deterministic UUIDs so that demo output and test failures
// are reproducible.
func (s *Server) newUUID() string {
	s.uuidCount++
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("koerier-sandbox-openklant-"+strconv.Itoa(s.uuidCount))).String()
}

func (s *Server) addPartij(p *partij, adressen []Adres) {
	p.uuid = s.newUUID()
	for _, a := range adressen {
		d := &digitaalAdres{uuid: s.newUUID(), partij: p.uuid, soort: a.Soort, adres: a.Adres,
			omschrijving: a.Omschrijving, referentie: a.Referentie, standaard: a.Standaard}
		s.adressen[d.uuid] = d
		p.adresIDs = append(p.adresIDs, d.uuid)
		if a.Voorkeur {
			p.voorkeur = d.uuid
		}
	}
	s.partijen = append(s.partijen, p)
	s.partijByID[p.uuid] = p
}

func (s *Server) addIdent(p *partij, objecttype, soort, id, register, sub string) *identificator {
	i := &identificator{uuid: s.newUUID(), partij: p.uuid, objecttype: objecttype, soortObjectID: soort,
		objectID: id, register: register, sub: sub}
	s.idents = append(s.idents, i)
	s.identByID[i.uuid] = i
	p.identIDs = append(p.identIDs, i.uuid)
	return i
}

// AddPersoon seeds a persoon and returns its partij URL. Several partijen
// for one BSN are allowed, as in real Open Klant data.
func (s *Server) AddPersoon(in Persoon) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &partij{soort: "persoon", taal: in.Taal, actief: !in.Inactief, geheim: in.Geheim, contactnaam: map[string]string{
		"voorletters": in.Voorletters, "voornaam": in.Voornaam, "voorvoegselAchternaam": in.Voorvoegsel, "achternaam": in.Achternaam,
	}}
	s.addPartij(p, in.Adressen)
	if in.BSN != "" {
		s.addIdent(p, "natuurlijk_persoon", "bsn", in.BSN, "brp", "")
	}
	return s.base + "/partijen/" + p.uuid
}

// AddOrganisatie seeds an organisatie (or vestiging) and returns its partij
// URL.
func (s *Server) AddOrganisatie(in Organisatie) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &partij{soort: "organisatie", taal: in.Taal, actief: !in.Inactief, naam: in.Naam, post: in.Correspondentie}
	s.addPartij(p, in.Adressen)
	if in.Vestigingsnummer != "" {
		var parent string
		for _, i := range s.idents {
			if i.soortObjectID == "kvk_nummer" && i.objectID == in.KVK {
				parent = i.uuid
				break
			}
		}
		s.addIdent(p, "vestiging", "vestigingsnummer", in.Vestigingsnummer, "hr", parent)
	} else if in.KVK != "" {
		s.addIdent(p, "niet_natuurlijk_persoon", "kvk_nummer", in.KVK, "hr", "")
	}
	return s.base + "/partijen/" + p.uuid
}

// AddContactpersoon seeds a contactpersoon working for the organisatie at
// orgURL and returns its partij URL.
func (s *Server) AddContactpersoon(orgURL string, in Contactpersoon) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &partij{soort: "contactpersoon", taal: in.Taal, actief: !in.Inactief, contactnaam: map[string]string{
		"voornaam": in.Voornaam, "voorvoegselAchternaam": in.Voorvoegsel, "achternaam": in.Achternaam,
	}, werkteVoor: orgURL[strings.LastIndexByte(orgURL, '/')+1:]}
	s.addPartij(p, in.Adressen)
	return s.base + "/partijen/" + p.uuid
}

// Demo identifiers seeded by SeedDemo.
const (
	DemoBSNEmail     = "999993653" // email, voorkeur email
	DemoBSNPhone     = "999990627" // phone only, voorkeur sms
	DemoBSNEnglish   = "999991103" // voorkeurstaal eng
	DemoBSNNoAddress = "999991139" // partij without digitale adressen
	DemoKVK          = "69599084"
)

// SeedDemo seeds the demo population.
func (s *Server) SeedDemo() {
	s.AddPersoon(Persoon{BSN: DemoBSNEmail, Voorletters: "J.", Voornaam: "Jan", Achternaam: "Jansen", Taal: "nld",
		Adressen: []Adres{{Soort: "email", Adres: "jan.jansen@example.com", Omschrijving: "privé", Standaard: true, Voorkeur: true}}})
	s.AddPersoon(Persoon{BSN: DemoBSNPhone, Voornaam: "Anna", Voorvoegsel: "de", Achternaam: "Vries", Taal: "nld",
		Adressen: []Adres{{Soort: "telefoonnummer", Adres: "0612345678", Omschrijving: "mobiel", Standaard: true, Voorkeur: true}}})
	s.AddPersoon(Persoon{BSN: DemoBSNEnglish, Voornaam: "Emily", Achternaam: "Clarke", Taal: "eng",
		Adressen: []Adres{{Soort: "email", Adres: "emily.clarke@example.org", Standaard: true, Voorkeur: true}}})
	s.AddPersoon(Persoon{BSN: DemoBSNNoAddress, Voornaam: "Piet", Achternaam: "Smit", Taal: "nld"})
	org := s.AddOrganisatie(Organisatie{KVK: DemoKVK, Naam: "Bakkerij De Korenschoof B.V.", Taal: "nld",
		Adressen: []Adres{{Soort: "email", Adres: "info@korenschoof.example", Standaard: true, Voorkeur: true}}})
	s.AddContactpersoon(org, Contactpersoon{Voornaam: "Sanne", Achternaam: "Bakker", Taal: "nld",
		Adressen: []Adres{{Soort: "email", Adres: "sanne@korenschoof.example", Standaard: true, Voorkeur: true},
			{Soort: "telefoonnummer", Adres: "+31201234567"}}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Authorization: r.Header.Get("Authorization")})
	base := s.base
	token := s.token
	s.mu.Unlock()

	auth := r.Header.Get("Authorization")
	if auth == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "Authenticatiegegevens zijn niet opgegeven."})
		return
	}
	got, ok := strings.CutPrefix(auth, "Token ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "Ongeldige token."})
		return
	}
	path := r.URL.Path
	if bu, err := url.Parse(base); err == nil && bu.Path != "" {
		path = strings.TrimPrefix(path, strings.TrimRight(bu.Path, "/"))
	}
	path = strings.TrimRight(path, "/")
	if r.Method == http.MethodPost && path == "/maak-klantcontact" {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"detail": err.Error()})
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.maak(w, body)
		return
	}
	if r.Method != http.MethodGet {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": "Methode \"" + r.Method + "\" niet toegestaan."})
		return
	}
	q := r.URL.Query()
	expand := expandSet(q.Get("expand"))
	s.mu.Lock()
	if s.noExpand {
		expand = map[string]bool{}
	}
	s.mu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case path == "/klantcontacten":
		s.listKlantcontacten(w, r)
	case path == "/partijen":
		var out []any
		for _, p := range s.partijen {
			if s.matchPartij(p, q) {
				out = append(out, s.renderPartij(p, expand))
			}
		}
		s.writePage(w, r, out)
	case strings.HasPrefix(path, "/partijen/"):
		p := s.partijByUUID(strings.TrimPrefix(path, "/partijen/"))
		if p == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Niet gevonden."})
			return
		}
		writeJSON(w, http.StatusOK, s.renderPartij(p, expand))
	case path == "/digitaleadressen":
		var out []any
		for _, p := range s.partijen {
			for _, id := range p.adresIDs {
				d := s.adressen[id]
				if v := q.Get("referentie"); v != "" && d.referentie != v {
					continue
				}
				if v := q.Get("soortDigitaalAdres"); v != "" && d.soort != v {
					continue
				}
				out = append(out, s.renderAdres(d))
			}
		}
		s.writePage(w, r, out)
	case strings.HasPrefix(path, "/digitaleadressen/"):
		d := s.adressen[strings.TrimPrefix(path, "/digitaleadressen/")]
		if d == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Niet gevonden."})
			return
		}
		writeJSON(w, http.StatusOK, s.renderAdres(d))
	case path == "/partij-identificatoren":
		var out []any
		for _, i := range s.idents {
			if v := q.Get("partijIdentificatorCodeSoortObjectId"); v != "" && i.soortObjectID != v {
				continue
			}
			if v := q.Get("partijIdentificatorObjectId"); v != "" && i.objectID != v {
				continue
			}
			if v := q.Get("partijIdentificatorCodeObjecttype"); v != "" && i.objecttype != v {
				continue
			}
			if v := q.Get("partijIdentificatorCodeRegister"); v != "" && i.register != v {
				continue
			}
			out = append(out, s.renderIdent(i))
		}
		s.writePage(w, r, out)
	case strings.HasPrefix(path, "/partij-identificatoren/"):
		i := s.identByUUID(strings.TrimPrefix(path, "/partij-identificatoren/"))
		if i == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Niet gevonden."})
			return
		}
		writeJSON(w, http.StatusOK, s.renderIdent(i))
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Niet gevonden."})
	}
}

func expandSet(v string) map[string]bool {
	m := map[string]bool{}
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			m[e] = true
		}
	}
	return m
}

func (s *Server) partijByUUID(id string) *partij { return s.partijByID[id] }

func (s *Server) identByUUID(id string) *identificator { return s.identByID[id] }

// matchPartij applies the partijen list filters Koerier uses. Like Django
// filters, identificator filters match when one identificator of the partij
// satisfies all of them together.
func (s *Server) matchPartij(p *partij, q url.Values) bool {
	if v := q.Get("soortPartij"); v != "" && p.soort != v {
		return false
	}
	if v := q.Get("indicatieActief"); v != "" && strconv.FormatBool(p.actief) != v {
		return false
	}
	soort, oid := q.Get("partijIdentificator__codeSoortObjectId"), q.Get("partijIdentificator__objectId")
	ot, reg := q.Get("partijIdentificator__codeObjecttype"), q.Get("partijIdentificator__codeRegister")
	subSoort, subID := q.Get("subIdentificatorVan__codeSoortObjectId"), q.Get("subIdentificatorVan__objectId")
	if soort == "" && oid == "" && ot == "" && reg == "" && subSoort == "" && subID == "" {
		return true
	}
	for _, id := range p.identIDs {
		i := s.identByUUID(id)
		if (soort != "" && i.soortObjectID != soort) || (oid != "" && i.objectID != oid) ||
			(ot != "" && i.objecttype != ot) || (reg != "" && i.register != reg) {
			continue
		}
		if subSoort != "" || subID != "" {
			parent := s.identByUUID(i.sub)
			if parent == nil || (subSoort != "" && parent.soortObjectID != subSoort) || (subID != "" && parent.objectID != subID) {
				continue
			}
		}
		return true
	}
	return false
}

func (s *Server) fk(kind, id string) map[string]string {
	return map[string]string{"uuid": id, "url": s.base + "/" + kind + "/" + id}
}

func (s *Server) renderPartij(p *partij, expand map[string]bool) map[string]any {
	adressen := []any{}
	for _, id := range p.adresIDs {
		adressen = append(adressen, s.fk("digitaleadressen", id))
	}
	idents := []any{}
	for _, id := range p.identIDs {
		idents = append(idents, s.renderIdent(s.identByUUID(id)))
	}
	var voorkeur any
	if p.voorkeur != "" {
		voorkeur = s.fk("digitaleadressen", p.voorkeur)
	}
	var ident map[string]any
	switch p.soort {
	case "organisatie":
		ident = map[string]any{"naam": p.naam}
	case "contactpersoon":
		ident = map[string]any{"contactnaam": p.contactnaam, "volledigeNaam": volledigeNaam(p.contactnaam)}
		if p.werkteVoor != "" {
			ident["werkteVoorPartij"] = s.fk("partijen", p.werkteVoor)
		} else {
			ident["werkteVoorPartij"] = nil
		}
	default:
		ident = map[string]any{"contactnaam": p.contactnaam, "volledigeNaam": volledigeNaam(p.contactnaam)}
	}
	out := map[string]any{
		"uuid":                    p.uuid,
		"url":                     s.base + "/partijen/" + p.uuid,
		"nummer":                  nil,
		"interneNotitie":          "",
		"betrokkenen":             []any{},
		"categorieRelaties":       []any{},
		"digitaleAdressen":        adressen,
		"voorkeursDigitaalAdres":  voorkeur,
		"vertegenwoordigden":      []any{},
		"rekeningnummers":         []any{},
		"voorkeursRekeningnummer": nil,
		"partijIdentificatoren":   idents,
		"soortPartij":             p.soort,
		"indicatieGeheimhouding":  geheim(p.geheim),
		"voorkeurstaal":           p.taal,
		"indicatieActief":         p.actief,
		"bezoekadres":             nil,
		"correspondentieadres":    renderPost(p.post),
		"partijIdentificatie":     ident,
	}
	if len(expand) > 0 {
		ex := map[string]any{}
		if expand["digitaleAdressen"] {
			list := []any{}
			for _, id := range p.adresIDs {
				list = append(list, s.renderAdres(s.adressen[id]))
			}
			ex["digitaleAdressen"] = list
		}
		if expand["betrokkenen"] {
			ex["betrokkenen"] = []any{}
		}
		if expand["categorieRelaties"] {
			ex["categorieRelaties"] = []any{}
		}
		out["_expand"] = ex
	}
	return out
}

// geheim renders indicatieGeheimhouding, which is null when not given.
func geheim(b bool) any {
	if b {
		return true
	}
	return nil
}

func renderPost(a *Correspondentieadres) any {
	if a == nil {
		return nil
	}
	var nr any
	if a.Huisnummer > 0 {
		nr = a.Huisnummer
	}
	return map[string]any{
		"nummeraanduidingId": "", "straatnaam": a.Straatnaam, "huisnummer": nr,
		"huisnummertoevoeging": a.Huisnummertoevoeging, "postcode": a.Postcode, "stad": a.Stad,
		"adresregel1": a.Adresregel1, "adresregel2": a.Adresregel2, "adresregel3": a.Adresregel3, "land": a.Land,
	}
}

func volledigeNaam(c map[string]string) string {
	var parts []string
	for _, k := range []string{"voornaam", "voorvoegselAchternaam", "achternaam"} {
		if c[k] != "" {
			parts = append(parts, c[k])
		}
	}
	return strings.Join(parts, " ")
}

func (s *Server) renderAdres(d *digitaalAdres) map[string]any {
	return map[string]any{
		"uuid":                    d.uuid,
		"url":                     s.base + "/digitaleadressen/" + d.uuid,
		"verstrektDoorBetrokkene": nil,
		"verstrektDoorPartij":     s.fk("partijen", d.partij),
		"adres":                   d.adres,
		"soortDigitaalAdres":      d.soort,
		"isStandaardAdres":        d.standaard,
		"omschrijving":            d.omschrijving,
		"referentie":              d.referentie,
		"verificatieDatum":        nil,
	}
}

func (s *Server) renderIdent(i *identificator) map[string]any {
	var sub any
	if i.sub != "" {
		sub = s.fk("partij-identificatoren", i.sub)
	}
	return map[string]any{
		"uuid":                      i.uuid,
		"url":                       s.base + "/partij-identificatoren/" + i.uuid,
		"identificeerdePartij":      s.fk("partijen", i.partij),
		"anderePartijIdentificator": "",
		"partijIdentificator": map[string]string{
			"codeObjecttype":    i.objecttype,
			"codeSoortObjectId": i.soortObjectID,
			"objectId":          i.objectID,
			"codeRegister":      i.register,
		},
		"subIdentificatorVan": sub,
	}
}

// writePage answers a paginated list with DRF's page/pageSize semantics.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, all []any) {
	q := r.URL.Query()
	size := s.pageSize
	if v, err := strconv.Atoi(q.Get("pageSize")); err == nil && v > 0 {
		size = min(v, 500)
	}
	page := 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || (n-1)*size >= max(len(all), 1) {
			writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Ongeldige pagina."})
			return
		}
		page = n
	}
	lo, hi := (page-1)*size, min(page*size, len(all))
	results := all[lo:hi]
	if results == nil {
		results = []any{}
	}
	link := func(n int) any {
		if n < 1 || (n-1)*size >= len(all) {
			return nil
		}
		u := *r.URL
		qq := u.Query()
		qq.Set("page", strconv.Itoa(n))
		u.RawQuery = qq.Encode()
		bu, _ := url.Parse(s.base)
		rel := strings.TrimPrefix(u.Path, bu.Path)
		return s.base + rel + "?" + u.RawQuery
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"count": len(all), "next": link(page + 1), "previous": link(page - 1), "results": results,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("API-version", "0.9.0")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		_, _ = fmt.Fprint(w, "{}")
	}
}
