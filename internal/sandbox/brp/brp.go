// Package brp is a fake Haal Centraal BRP Personen bevragen v2 for tests and
// the demo: POST /personen with RaadpleegMetBurgerservicenummer, the API key
// header, request validation as BRP does it (an explicit fields list, no
// automatically delivered fields, at most 20 BSNs), field filtering,
// problem+json errors and fault injection. Its persons use synthetic BSNs.
package brp

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/mijnservices/koerier/internal/sandbox/fault"
)

// DefaultAPIKey is the key the fake accepts unless Options.APIKey is set.
const DefaultAPIKey = "sandbox-brp-key"

// Options configure the fake.
type Options struct {
	APIKey       string
	APIKeyHeader string // default X-API-KEY
}

// Persoon is a person to seed.
type Persoon struct {
	BSN           string
	VolledigeNaam string
	// Aanschrijfwijze is the composed name for the address block
	// (adressering.aanschrijfwijze.naam), Aanhef the salutation.
	Aanschrijfwijze string
	Aanhef          string
	Adresregels     []string // up to 3
	// LandCode/LandOmschrijving are set for an address abroad.
	LandCode, LandOmschrijving string
	// Opschorting is the reden opschorting bijhouding code: O, E, F, M, R.
	Opschorting          string
	OverlijdenDatum      string // yyyy-mm-dd
	Geheimhouding        bool
	Curatele             bool
	VerblijftNietOpAdres bool
}

// Request is one request the fake received.
type Request struct {
	Header http.Header
	Body   []byte
}

// Server is the fake BRP.
type Server struct {
	Faults *fault.Injector

	mu       sync.Mutex
	o        Options
	personen map[string]Persoon
	requests []Request
	handler  http.Handler
}

// NewServer returns an empty fake.
func NewServer(o Options) *Server {
	if o.APIKey == "" {
		o.APIKey = DefaultAPIKey
	}
	if o.APIKeyHeader == "" {
		o.APIKeyHeader = "X-API-KEY"
	}
	s := &Server{Faults: &fault.Injector{}, o: o, personen: map[string]Persoon{}}
	s.handler = s.Faults.Wrap(http.HandlerFunc(s.serve))
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Add seeds a person.
func (s *Server) Add(p Persoon) {
	s.mu.Lock()
	s.personen[p.BSN] = p
	s.mu.Unlock()
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Demo BSNs seeded by SeedDemo (all synthetic, elfproef-valid).
const (
	DemoNormal   = "999993653"
	DemoNormal2  = "999990627"
	DemoAbroad   = "999991103"
	DemoDeceased = "999991139"
	DemoSecrecy  = "999991164" // geheimhouding and curatele
	DemoFout     = "999991206" // opschorting F
)

// SeedDemo seeds the demo persons.
func (s *Server) SeedDemo() {
	s.Add(Persoon{BSN: DemoNormal, VolledigeNaam: "Jan Jansen", Aanschrijfwijze: "J. Jansen", Aanhef: "Geachte heer Jansen",
		Adresregels: []string{"Dorpsstraat 1", "1234 AB  ONS DORP"}})
	s.Add(Persoon{BSN: DemoNormal2, VolledigeNaam: "Anna de Vries", Aanschrijfwijze: "A. de Vries", Aanhef: "Geachte mevrouw De Vries",
		Adresregels: []string{"Kerkplein 12 A", "5678 CD  ONS DORP"}})
	s.Add(Persoon{BSN: DemoAbroad, VolledigeNaam: "Emily Clarke", Aanschrijfwijze: "E. Clarke", Aanhef: "Geachte mevrouw Clarke",
		Adresregels: []string{"10 Baker Street", "London NW1 6XE"}, LandCode: "6039", LandOmschrijving: "Verenigd Koninkrijk", Opschorting: "E"})
	s.Add(Persoon{BSN: DemoDeceased, VolledigeNaam: "Piet Smit", Opschorting: "O", OverlijdenDatum: "2025-03-01"})
	s.Add(Persoon{BSN: DemoSecrecy, VolledigeNaam: "Kees Bos", Aanschrijfwijze: "K. Bos", Aanhef: "Geachte heer Bos",
		Adresregels: []string{"Molenweg 3", "1234 AB  ONS DORP"}, Geheimhouding: true, Curatele: true})
	s.Add(Persoon{BSN: DemoFout, VolledigeNaam: "Karel Dijk", Opschorting: "F"})
}

var (
	bsnPattern   = regexp.MustCompile(`^[0-9]{9}$`)
	fieldPattern = regexp.MustCompile(`^[a-zA-Z0-9\._]{1,200}$`)
	// autoDelivered may not be asked for in fields.
	autoDelivered = []string{"inOnderzoek", "geheimhoudingPersoonsgegevens", "opschortingBijhouding", "rni", "verificatie"}
	// persoonFields are the top-level properties of Persoon in the spec.
	persoonFields = map[string]bool{"aNummer": true, "burgerservicenummer": true, "datumEersteInschrijvingGBA": true,
		"geslacht": true, "uitsluitingKiesrecht": true, "europeesKiesrecht": true, "leeftijd": true, "naam": true,
		"nationaliteiten": true, "geboorte": true, "overlijden": true, "verblijfplaats": true, "immigratie": true,
		"gemeenteVanInschrijving": true, "datumInschrijvingInGemeente": true, "adressering": true,
		"indicatieCurateleRegister": true, "indicatieGezagMinderjarige": true, "gezag": true, "verblijfstitel": true,
		"kinderen": true, "ouders": true, "partners": true}
)

type invalidParam struct {
	Name   string `json:"name"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

func problem(w http.ResponseWriter, status int, title, code string, params []invalidParam) {
	body := map[string]any{
		"type":     "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
		"title":    title,
		"status":   status,
		"instance": "/haalcentraal/api/brp/personen",
		"code":     code,
	}
	if len(params) > 0 {
		body["invalidParams"] = params
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	s.requests = append(s.requests, Request{Header: r.Header.Clone(), Body: raw})
	key, header := s.o.APIKey, s.o.APIKeyHeader
	s.mu.Unlock()

	if got := r.Header.Get(header); got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(key)) != 1 {
		problem(w, http.StatusUnauthorized, "Niet correct geauthenticeerd.", "authentication", nil)
		return
	}
	if r.Method != http.MethodPost || !strings.HasSuffix(strings.TrimRight(r.URL.Path, "/"), "/personen") {
		problem(w, http.StatusNotFound, "Opgevraagde resource bestaat niet.", "notFound", nil)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		problem(w, http.StatusUnsupportedMediaType, "Unsupported Media Type", "unsupported", nil)
		return
	}
	var q struct {
		Type                string   `json:"type"`
		Burgerservicenummer []string `json:"burgerservicenummer"`
		Fields              []string `json:"fields"`
	}
	if err := json.Unmarshal(raw, &q); err != nil {
		problem(w, http.StatusBadRequest, "De foutieve parameter(s) zijn: body.", "paramsValidation", nil)
		return
	}
	var bad []invalidParam
	if q.Type != "RaadpleegMetBurgerservicenummer" {
		bad = append(bad, invalidParam{"type", "value", "Waarde is geen geldige zoek type."})
	}
	if len(q.Burgerservicenummer) == 0 {
		bad = append(bad, invalidParam{"burgerservicenummer", "required", "Parameter is verplicht."})
	}
	if len(q.Burgerservicenummer) > 20 {
		bad = append(bad, invalidParam{"burgerservicenummer", "maxItems", "Array bevat meer dan 20 items."})
	}
	for i, b := range q.Burgerservicenummer {
		if !bsnPattern.MatchString(b) {
			bad = append(bad, invalidParam{fmt.Sprintf("burgerservicenummer[%d]", i), "pattern", "Waarde voldoet niet aan patroon ^[0-9]{9}$."})
		}
	}
	if len(q.Fields) == 0 {
		bad = append(bad, invalidParam{"fields", "required", "Parameter is verplicht."})
	}
	if len(q.Fields) > 130 {
		bad = append(bad, invalidParam{"fields", "maxItems", "Array bevat meer dan 130 items."})
	}
	for i, f := range q.Fields {
		top := strings.SplitN(f, ".", 2)[0]
		switch {
		case !fieldPattern.MatchString(f):
			bad = append(bad, invalidParam{fmt.Sprintf("fields[%d]", i), "pattern", "Waarde voldoet niet aan patroon ^[a-zA-Z0-9\\._]{1,200}$."})
		case isAutoDelivered(f):
			bad = append(bad, invalidParam{fmt.Sprintf("fields[%d]", i), "field", "Parameter bevat een niet toegestane veldnaam."})
		case !persoonFields[top]:
			bad = append(bad, invalidParam{fmt.Sprintf("fields[%d]", i), "field", "Parameter bevat een niet bestaande veldnaam."})
		}
	}
	if len(bad) > 0 {
		problem(w, http.StatusBadRequest, "Een of meerdere parameters zijn niet correct.", "paramsValidation", bad)
		return
	}
	personen := []any{}
	s.mu.Lock()
	for _, b := range q.Burgerservicenummer {
		if p, ok := s.personen[b]; ok {
			personen = append(personen, prune(render(p), q.Fields))
		}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "RaadpleegMetBurgerservicenummer", "personen": personen})
}

func isAutoDelivered(f string) bool {
	for _, a := range autoDelivered {
		if f == a || strings.HasPrefix(f, a+".") || strings.HasSuffix(f, "."+a) || strings.Contains(f, "."+a+".") {
			return true
		}
	}
	return false
}

var opschortingOmschrijving = map[string]string{
	"O": "overlijden", "E": "emigratie", "F": "fout", "M": "ministerieel besluit", "R": "pl is aangelegd in de rni",
}

func datum(d string) map[string]any {
	return map[string]any{"type": "Datum", "datum": d, "langFormaat": d}
}

func render(p Persoon) map[string]any {
	m := map[string]any{"burgerservicenummer": p.BSN}
	if p.VolledigeNaam != "" {
		m["naam"] = map[string]any{"volledigeNaam": p.VolledigeNaam}
	}
	if p.Geheimhouding {
		m["geheimhoudingPersoonsgegevens"] = true
	}
	if p.Curatele {
		m["indicatieCurateleRegister"] = true
	}
	if p.Opschorting != "" {
		o := map[string]any{"reden": map[string]string{"code": p.Opschorting, "omschrijving": opschortingOmschrijving[p.Opschorting]}}
		if p.OverlijdenDatum != "" {
			o["datum"] = datum(p.OverlijdenDatum)
		}
		m["opschortingBijhouding"] = o
	}
	if p.OverlijdenDatum != "" {
		m["overlijden"] = map[string]any{"datum": datum(p.OverlijdenDatum)}
	}
	a := map[string]any{}
	for i, l := range p.Adresregels {
		if i < 3 && l != "" {
			a[fmt.Sprintf("adresregel%d", i+1)] = l
		}
	}
	if p.LandCode != "" {
		a["land"] = map[string]string{"code": p.LandCode, "omschrijving": p.LandOmschrijving}
	}
	if p.Aanhef != "" {
		a["aanhef"] = p.Aanhef
	}
	if p.Aanschrijfwijze != "" {
		a["aanschrijfwijze"] = map[string]string{"naam": p.Aanschrijfwijze}
	}
	if p.VerblijftNietOpAdres {
		a["indicatieVastgesteldVerblijftNietOpAdres"] = true
	}
	if len(a) > 0 {
		m["adressering"] = a
	}
	return m
}

// prune keeps the requested field paths and the automatically delivered
// fields, as BRP does.
func prune(full map[string]any, fields []string) map[string]any {
	out := map[string]any{}
	for _, a := range autoDelivered {
		if v, ok := full[a]; ok {
			out[a] = v
		}
	}
	for _, f := range fields {
		copyPath(full, out, strings.Split(f, "."))
	}
	return out
}

func copyPath(src, dst map[string]any, path []string) {
	v, ok := src[path[0]]
	if !ok {
		return
	}
	if len(path) == 1 {
		dst[path[0]] = v
		return
	}
	sub, ok := v.(map[string]any)
	if !ok {
		if sm, ok2 := v.(map[string]string); ok2 {
			sub = map[string]any{}
			for k, x := range sm {
				sub[k] = x
			}
		} else {
			return
		}
	}
	d, ok := dst[path[0]].(map[string]any)
	if !ok {
		d = map[string]any{}
		dst[path[0]] = d
	}
	copyPath(sub, d, path[1:])
	if len(d) == 0 {
		delete(dst, path[0])
	}
}
