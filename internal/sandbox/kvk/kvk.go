// Package kvk is a fake of the KVK Handelsregister API (basisprofielen and
// vestigingsprofielen, `apikey` header) for tests and the demo. No spec was
// provided to the project for this API; the shape follows KVK's public
// developer documentation as described in testdata/README.md.
package kvk

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/mijnservices/koerier/internal/sandbox/fault"
)

// DefaultAPIKey is the key the fake accepts unless Options.APIKey is set.
const DefaultAPIKey = "sandbox-kvk-key"

// Options configure the fake.
type Options struct{ APIKey string }

// Adres is an address to seed.
type Adres struct {
	Straatnaam    string
	Huisnummer    int
	Huisletter    string
	Toevoeging    string
	Postbusnummer int
	Postcode      string // 1234AB
	Plaats        string
	Land          string // default Nederland
	Afgeschermd   bool
}

// Vestiging is a vestiging to seed.
type Vestiging struct {
	Nummer string
	Naam   string
	Hoofd  bool
	Bezoek *Adres
	Post   *Adres
}

// Bedrijf is a company to seed.
type Bedrijf struct {
	KVK         string
	Naam        string
	Vestigingen []Vestiging
}

// Server is the fake.
type Server struct {
	Faults *fault.Injector

	mu       sync.Mutex
	key      string
	bedrijf  map[string]Bedrijf
	requests []*http.Request
	handler  http.Handler
}

// NewServer returns an empty fake.
func NewServer(o Options) *Server {
	if o.APIKey == "" {
		o.APIKey = DefaultAPIKey
	}
	s := &Server{Faults: &fault.Injector{}, key: o.APIKey, bedrijf: map[string]Bedrijf{}}
	s.handler = s.Faults.Wrap(http.HandlerFunc(s.serve))
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Add seeds a company.
func (s *Server) Add(b Bedrijf) {
	s.mu.Lock()
	s.bedrijf[b.KVK] = b
	s.mu.Unlock()
}

// Requests returns the number of requests received.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Demo data; 69599084 is KVK's own test number.
const (
	DemoKVK            = "69599084"
	DemoHoofdvestiging = "000037178598"
	DemoVestiging      = "000038509504"
)

// SeedDemo seeds the demo company with a hoofdvestiging that has a postbus
// and a vestiging with only a bezoekadres.
func (s *Server) SeedDemo() {
	s.Add(Bedrijf{KVK: DemoKVK, Naam: "Bakkerij De Korenschoof B.V.", Vestigingen: []Vestiging{
		{Nummer: DemoHoofdvestiging, Naam: "Bakkerij De Korenschoof", Hoofd: true,
			Bezoek: &Adres{Straatnaam: "Korenstraat", Huisnummer: 5, Postcode: "1234AB", Plaats: "Ons Dorp"},
			Post:   &Adres{Postbusnummer: 100, Postcode: "1230AA", Plaats: "Ons Dorp"}},
		{Nummer: DemoVestiging, Naam: "Korenschoof Noord",
			Bezoek: &Adres{Straatnaam: "Molenweg", Huisnummer: 12, Huisletter: "a", Postcode: "1235CD", Plaats: "Ons Dorp"}},
	}})
}

func fout(w http.ResponseWriter, status int, code, omschrijving string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"fout": []map[string]string{{"code": code, "omschrijving": omschrijving}}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r)
	key := s.key
	s.mu.Unlock()
	if got := r.Header.Get("apikey"); got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(key)) != 1 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"Unauthorized"}`))
		return
	}
	path := strings.TrimRight(r.URL.Path, "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case strings.Contains(path, "/v1/basisprofielen/"):
		nr := path[strings.LastIndexByte(path, '/')+1:]
		if len(nr) != 8 {
			fout(w, http.StatusBadRequest, "IPD0004", "Het KvK-nummer "+nr+" is niet valide.")
			return
		}
		b, ok := s.bedrijf[nr]
		if !ok {
			fout(w, http.StatusNotFound, "IPD0005", "Het product is niet leverbaar.")
			return
		}
		out := map[string]any{
			"kvkNummer": b.KVK, "indNonMailing": "Nee", "naam": b.Naam,
			"handelsnamen": []map[string]any{{"naam": b.Naam, "volgorde": 0}},
			"_embedded":    map[string]any{},
			"links":        []map[string]string{{"rel": "self", "href": "/v1/basisprofielen/" + b.KVK}},
		}
		for _, v := range b.Vestigingen {
			if v.Hoofd {
				out["_embedded"] = map[string]any{"hoofdvestiging": renderVestiging(b, v)}
			}
		}
		writeJSON(w, out)
	case strings.Contains(path, "/v1/vestigingsprofielen/"):
		nr := path[strings.LastIndexByte(path, '/')+1:]
		if len(nr) != 12 {
			fout(w, http.StatusBadRequest, "IPD0006", "Het vestigingsnummer "+nr+" is niet valide.")
			return
		}
		for _, b := range s.bedrijf {
			for _, v := range b.Vestigingen {
				if v.Nummer == nr {
					writeJSON(w, renderVestiging(b, v))
					return
				}
			}
		}
		fout(w, http.StatusNotFound, "IPD0005", "Het product is niet leverbaar.")
	default:
		fout(w, http.StatusNotFound, "IPD0001", "Onbekende resource.")
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/hal+json")
	_ = json.NewEncoder(w).Encode(v)
}

func jaNee(b bool) string {
	if b {
		return "Ja"
	}
	return "Nee"
}

func renderVestiging(b Bedrijf, v Vestiging) map[string]any {
	adressen := []any{}
	for _, x := range []struct {
		typ string
		a   *Adres
	}{{"bezoekadres", v.Bezoek}, {"postadres", v.Post}} {
		if x.a != nil {
			adressen = append(adressen, renderAdres(x.typ, *x.a))
		}
	}
	return map[string]any{
		"vestigingsnummer":        v.Nummer,
		"kvkNummer":               b.KVK,
		"indNonMailing":           "Nee",
		"eersteHandelsnaam":       v.Naam,
		"indHoofdvestiging":       jaNee(v.Hoofd),
		"indCommercieleVestiging": "Ja",
		"adressen":                adressen,
		"links":                   []map[string]string{{"rel": "self", "href": "/v1/vestigingsprofielen/" + v.Nummer}},
	}
}

func renderAdres(typ string, a Adres) map[string]any {
	land := a.Land
	if land == "" {
		land = "Nederland"
	}
	out := map[string]any{"type": typ, "indAfgeschermd": jaNee(a.Afgeschermd), "land": land}
	if a.Afgeschermd {
		return out
	}
	if a.Postbusnummer > 0 {
		out["postbusnummer"] = a.Postbusnummer
		out["volledigAdres"] = "Postbus " + itoa(a.Postbusnummer) + " " + a.Postcode + " " + a.Plaats
	} else {
		sh := a.Straatnaam + " " + itoa(a.Huisnummer) + a.Huisletter
		if a.Toevoeging != "" {
			sh += "-" + a.Toevoeging
		}
		out["straatnaam"], out["huisnummer"], out["straatHuisnummer"] = a.Straatnaam, a.Huisnummer, sh
		if a.Huisletter != "" {
			out["huisletter"] = a.Huisletter
		}
		if a.Toevoeging != "" {
			out["huisnummerToevoeging"] = a.Toevoeging
		}
		out["volledigAdres"] = sh + " " + a.Postcode + " " + a.Plaats
	}
	out["postcode"], out["plaats"] = a.Postcode, a.Plaats
	out["postcodeWoonplaats"] = a.Postcode + " " + a.Plaats
	return out
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
