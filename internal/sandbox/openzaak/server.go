// Package openzaak is a fake Open Zaak for tests and the demo: the Zaken,
// Catalogi, Besluiten and Documenten APIs' GET endpoints that Koerier reads,
// with response shapes from the specs, ZGW JWT checking (HS256), a Go
// seeding API, a demo seed, request recording and fault injection. It is a
// peer, not a dependency: production code never imports it.
package openzaak

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
)

// Collection paths, relative to the base URL.
const (
	PathZaken                         = "/zaken/api/v1/zaken"
	PathStatussen                     = "/zaken/api/v1/statussen"
	PathRollen                        = "/zaken/api/v1/rollen"
	PathResultaten                    = "/zaken/api/v1/resultaten"
	PathZaakinformatieobjecten        = "/zaken/api/v1/zaakinformatieobjecten"
	PathZaaktypen                     = "/catalogi/api/v1/zaaktypen"
	PathStatustypen                   = "/catalogi/api/v1/statustypen"
	PathResultaattypen                = "/catalogi/api/v1/resultaattypen"
	PathBesluittypen                  = "/catalogi/api/v1/besluittypen"
	PathBesluiten                     = "/besluiten/api/v1/besluiten"
	PathBesluitinformatieobjecten     = "/besluiten/api/v1/besluitinformatieobjecten"
	PathEnkelvoudiginformatieobjecten = "/documenten/api/v1/enkelvoudiginformatieobjecten"
)

var collections = []string{
	PathZaken, PathStatussen, PathRollen, PathResultaten, PathZaakinformatieobjecten,
	PathZaaktypen, PathStatustypen, PathResultaattypen, PathBesluittypen,
	PathBesluiten, PathBesluitinformatieobjecten, PathEnkelvoudiginformatieobjecten,
}

// Request is one recorded request.
type Request struct {
	Method string
	Path   string // relative to the base URL
	Query  url.Values
	Header http.Header
}

// Server is the fake. Set the base URL (SetBaseURL) before seeding: the
// url fields it serves and the references between objects are built from it.
type Server struct {
	// Faults injects failures in front of the fake.
	Faults fault.Injector
	// PageSize is the list page size (default 100), small in tests that
	// exercise pagination.
	PageSize int
	// Now is the fake's clock for checking a JWT's iat (default
	// clock.System), so that it agrees with the client's clock in a test
	// that moves time.
	Now func() time.Time

	mu      sync.Mutex
	base    string
	prefix  string // path of base
	clients map[string]string
	items   map[string]any      // collection + "/" + uuid → *T
	order   map[string][]string // collection → uuids in insertion order
	reqs    []Request
	handler http.Handler
}

// New returns a fake serving at baseURL (e.g. "https://openzaak.gemeente.example"
// or an httptest server's URL; "" to set it later) that accepts ZGW JWTs of
// the given client ids and secrets. With no clients, any request passes.
func New(baseURL string, clients map[string]string) *Server {
	s := &Server{clients: clients, items: map[string]any{}, order: map[string][]string{}}
	s.SetBaseURL(baseURL)
	s.handler = s.Faults.Wrap(http.HandlerFunc(s.serve))
	return s
}

// SetBaseURL sets the external base URL.
func (s *Server) SetBaseURL(baseURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base = strings.TrimSuffix(baseURL, "/")
	if u, err := url.Parse(s.base); err == nil {
		s.prefix = u.Path
	}
}

// BaseURL returns the external base URL.
func (s *Server) BaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

// API roots, for Koerier's configuration.
func (s *Server) ZakenRoot() string      { return s.BaseURL() + "/zaken/api/v1" }
func (s *Server) CatalogiRoot() string   { return s.BaseURL() + "/catalogi/api/v1" }
func (s *Server) BesluitenRoot() string  { return s.BaseURL() + "/besluiten/api/v1" }
func (s *Server) DocumentenRoot() string { return s.BaseURL() + "/documenten/api/v1" }

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	s.reqs = nil
	s.mu.Unlock()
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p := strings.TrimPrefix(r.URL.Path, s.prefix)
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: p, Query: r.URL.Query(), Header: r.Header.Clone()})
	s.mu.Unlock()
	s.handler.ServeHTTP(w, r)
}

func problem(w http.ResponseWriter, status int, code, title string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "https://openzaak.example/ref/fouten/" + code + "/", "code": code,
		"title": title, "status": status, "detail": title, "instance": "urn:uuid:" + uuid.NewString(),
	})
}

// authorize checks the ZGW JWT: 401 without a bearer token, 403 when the
// token does not verify with the secret of its client_id.
func (s *Server) authorize(r *http.Request) (int, string) {
	if len(s.clients) == 0 {
		return 0, ""
	}
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return http.StatusUnauthorized, "Authenticatiegegevens zijn niet opgegeven."
	}
	_, err := jwt.Parse(tok, func(t *jwt.Token) (any, error) {
		c, _ := t.Claims.(jwt.MapClaims)
		id, _ := c["client_id"].(string)
		if id == "" {
			id, _ = c["iss"].(string)
		}
		secret, ok := s.clients[id]
		if !ok {
			return nil, fmt.Errorf("unknown client_id")
		}
		return []byte(secret), nil
	}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuedAt(), jwt.WithTimeFunc(clock.Or(s.Now)))
	if err != nil {
		return http.StatusForbidden, "Je hebt geen toestemming om deze actie uit te voeren."
	}
	return 0, ""
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if status, msg := s.authorize(r); status != 0 {
		code := "not_authenticated"
		if status == http.StatusForbidden {
			code = "permission_denied"
		}
		problem(w, status, code, msg)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		problem(w, http.StatusMethodNotAllowed, "method_not_allowed", "Methode niet toegestaan.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, s.prefix), "/")
	// A document's content (Documenten API: enkelvoudiginformatieobjecten/{uuid}/download).
	if id, ok := strings.CutPrefix(p, PathEnkelvoudiginformatieobjecten+"/"); ok && strings.HasSuffix(id, "/download") {
		eio, ok := s.items[PathEnkelvoudiginformatieobjecten+"/"+strings.TrimSuffix(id, "/download")].(*EnkelvoudigInformatieObject)
		if !ok || eio.Content == nil {
			problem(w, http.StatusNotFound, "not_found", "Niet gevonden.")
			return
		}
		w.Header().Set("Content-Type", eio.Formaat)
		w.Header().Set("Content-Length", strconv.Itoa(len(eio.Content)))
		_, _ = w.Write(eio.Content)
		return
	}
	for _, col := range collections {
		if p == col {
			s.list(w, r, col)
			return
		}
		if id, ok := strings.CutPrefix(p, col+"/"); ok && !strings.Contains(id, "/") {
			v, ok := s.render(col, id)
			if !ok {
				problem(w, http.StatusNotFound, "not_found", "Niet gevonden.")
				return
			}
			writeJSON(w, http.StatusOK, v)
			return
		}
	}
	problem(w, http.StatusNotFound, "not_found", "Niet gevonden.")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// list filters on any top-level string field named by a query parameter
// (zaak, omschrijvingGeneriek, zaaktype, besluit, informatieobject,
// betrokkeneType, ...), which covers the filters Koerier uses.
func (s *Server) list(w http.ResponseWriter, r *http.Request, col string) {
	q := r.URL.Query()
	var results []any
	zaakFilter := q.Get("zaak")
	for _, id := range s.order[col] {
		if z, ok := rawZaak(s.items[col+"/"+id]); ok && zaakFilter != "" && z != zaakFilter {
			continue // cheap pre-filter; the generic filter below would drop it too
		}
		v, _ := s.render(col, id)
		b, _ := json.Marshal(v)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		keep := true
		for k, vals := range q {
			if k == "page" || k == "pageSize" || k == "expand" || k == "status" && col == PathStatustypen {
				continue
			}
			if f, ok := m[k].(string); ok && f != vals[0] {
				keep = false
			}
		}
		if keep {
			results = append(results, m)
		}
	}
	size := s.PageSize
	if size <= 0 {
		size = 100
	}
	page, _ := strconv.Atoi(q.Get("page"))
	if page < 1 {
		page = 1
	}
	start, end := (page-1)*size, page*size
	if start > len(results) {
		start = len(results)
	}
	if end > len(results) {
		end = len(results)
	}
	link := func(pg int) any {
		if pg < 1 || (pg-1)*size >= len(results) {
			return nil
		}
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("page", strconv.Itoa(pg))
		return s.base + col + "?" + nq.Encode()
	}
	out := map[string]any{"count": len(results), "next": link(page + 1), "previous": nil, "results": results[start:end]}
	if page > 1 {
		out["previous"] = link(page - 1)
	}
	if out["results"] == nil || len(results[start:end]) == 0 {
		out["results"] = []any{}
	}
	writeJSON(w, http.StatusOK, out)
}

// rawZaak is the zaak URL of the objects that carry one, so that a ?zaak=
// filter skips the others without rendering and JSON round-tripping each
// (koerier bench seeds thousands of zaken, and every rollen list would
// otherwise cost the fake time proportional to all of them).
func rawZaak(v any) (string, bool) {
	switch o := v.(type) {
	case *Rol:
		return o.Zaak, true
	case *Status:
		return o.Zaak, true
	case *Resultaat:
		return o.Zaak, true
	case *ZaakInformatieObject:
		return o.Zaak, true
	}
	return "", false
}

// add stores v (a pointer) under col with the given or a new uuid and
// returns its URL.
func (s *Server) add(col, id string, v any) (string, string) {
	if id == "" {
		id = uuid.NewString()
	}
	key := col + "/" + id
	if _, exists := s.items[key]; !exists {
		s.order[col] = append(s.order[col], id)
	}
	s.items[key] = v
	return s.base + col + "/" + id, id
}

// Delete removes the object at rawURL (any collection).
func (s *Server) Delete(rawURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.TrimPrefix(rawURL, s.base)
	delete(s.items, key)
	for _, col := range collections {
		if id, ok := strings.CutPrefix(key, col+"/"); ok {
			ids := s.order[col]
			for i, x := range ids {
				if x == id {
					s.order[col] = append(ids[:i:i], ids[i+1:]...)
					break
				}
			}
		}
	}
}

func uuidOf(rawURL string) string {
	return rawURL[strings.LastIndexByte(rawURL, '/')+1:]
}

// each calls f for every object of col, in insertion order.
func (s *Server) each(col string, f func(v any)) {
	for _, id := range s.order[col] {
		f(s.items[col+"/"+id])
	}
}

// render returns a copy of the object with computed fields filled in.
func (s *Server) render(col, id string) (any, bool) {
	v, ok := s.items[col+"/"+id]
	if !ok {
		return nil, false
	}
	switch o := v.(type) {
	case *Zaak:
		z := *o
		z.Rollen, z.Zaakinformatieobjecten = []string{}, []string{}
		var last *Status
		s.each(PathStatussen, func(v any) {
			if st := v.(*Status); st.Zaak == z.URL && (last == nil || st.DatumStatusGezet >= last.DatumStatusGezet) {
				last = st
			}
		})
		if last != nil {
			u := last.URL
			z.Status = &u
			if st, ok := s.items[PathStatustypen+"/"+uuidOf(last.Statustype)].(*StatusType); ok && s.isEindstatus(st) && len(last.DatumStatusGezet) >= 10 {
				d := last.DatumStatusGezet[:10]
				z.Einddatum = &d
			}
		}
		s.each(PathResultaten, func(v any) {
			if r := v.(*Resultaat); r.Zaak == z.URL {
				u := r.URL
				z.Resultaat = &u
			}
		})
		s.each(PathRollen, func(v any) {
			if r := v.(*Rol); r.Zaak == z.URL {
				z.Rollen = append(z.Rollen, r.URL)
			}
		})
		s.each(PathZaakinformatieobjecten, func(v any) {
			if r := v.(*ZaakInformatieObject); r.Zaak == z.URL {
				z.Zaakinformatieobjecten = append(z.Zaakinformatieobjecten, r.URL)
			}
		})
		return z, true
	case *Status:
		st := *o
		var latest string
		s.each(PathStatussen, func(v any) {
			if x := v.(*Status); x.Zaak == st.Zaak && x.DatumStatusGezet > latest {
				latest = x.DatumStatusGezet
			}
		})
		st.IndicatieLaatstGezetteStatus = st.DatumStatusGezet == latest
		return st, true
	case *StatusType:
		st := *o
		st.IsEindstatus = s.isEindstatus(o)
		return st, true
	case *ZaakType:
		zt := *o
		zt.Statustypen, zt.Resultaattypen, zt.Besluittypen = []string{}, []string{}, []string{}
		s.each(PathStatustypen, func(v any) {
			if x := v.(*StatusType); x.Zaaktype == zt.URL {
				zt.Statustypen = append(zt.Statustypen, x.URL)
			}
		})
		s.each(PathResultaattypen, func(v any) {
			if x := v.(*ResultaatType); x.Zaaktype == zt.URL {
				zt.Resultaattypen = append(zt.Resultaattypen, x.URL)
			}
		})
		s.each(PathBesluittypen, func(v any) {
			if x := v.(*BesluitType); contains(x.Zaaktypen, zt.URL) {
				zt.Besluittypen = append(zt.Besluittypen, x.URL)
			}
		})
		return zt, true
	case *Rol:
		return *o, true
	case *Resultaat:
		return *o, true
	case *ZaakInformatieObject:
		return *o, true
	case *ResultaatType:
		return *o, true
	case *BesluitType:
		return *o, true
	case *Besluit:
		return *o, true
	case *BesluitInformatieObject:
		return *o, true
	case *EnkelvoudigInformatieObject:
		return *o, true
	}
	return v, true
}

// isEindstatus is computed as the Catalogi API does: the statustype with
// the highest volgnummer of its zaaktype.
func (s *Server) isEindstatus(st *StatusType) bool {
	var nums []int
	s.each(PathStatustypen, func(v any) {
		if x := v.(*StatusType); x.Zaaktype == st.Zaaktype {
			nums = append(nums, x.Volgnummer)
		}
	})
	sort.Ints(nums)
	return len(nums) > 0 && nums[len(nums)-1] == st.Volgnummer
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
