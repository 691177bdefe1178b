// Package objecten is a fake Objecten API (v2) for tests and the demo:
// GET /api/v2/objects and /api/v2/objects/{uuid} with `Authorization: Token`,
// a seeding API, request recording and fault injection. Taak objects can be
// seeded in either real-world shape (see DenHaagTaak, CommunityTaak).
package objecten

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
)

// PathObjects is the objects collection, relative to the base URL.
const PathObjects = "/api/v2/objects"

// Object is an Objecten API object.
type Object struct {
	URL    string `json:"url"`
	UUID   string `json:"uuid"`
	Type   string `json:"type"`
	Record Record `json:"record"`
}

// Record is an object's current record.
type Record struct {
	Index          int             `json:"index"`
	TypeVersion    int             `json:"typeVersion"`
	Data           json.RawMessage `json:"data"`
	Geometry       any             `json:"geometry"`
	StartAt        string          `json:"startAt"`
	EndAt          *string         `json:"endAt"`
	RegistrationAt string          `json:"registrationAt"`
	CorrectionFor  *int            `json:"correctionFor"`
	CorrectedBy    *int            `json:"correctedBy"`
}

// Request is one recorded request.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
}

// Server is the fake. Set the base URL before seeding.
type Server struct {
	Faults fault.Injector

	mu      sync.Mutex
	base    string
	prefix  string
	token   string
	objects map[string]*Object
	order   []string
	reqs    []Request
	handler http.Handler
}

// New returns a fake at baseURL (e.g. "https://objecten.gemeente.example",
// or "" to set later) that accepts `Authorization: Token <token>`; an
// empty token accepts anything.
func New(baseURL, token string) *Server {
	s := &Server{token: token, objects: map[string]*Object{}}
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

// Root is the API root for Koerier's configuration.
func (s *Server) Root() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base + "/api/v2"
}

// Put stores data as the current record of object id (a new uuid when
// empty) of objecttype typeURL, bumping the record index like a PATCH
// does, and returns the object's URL.
func (s *Server) Put(id, typeURL string, data any) string {
	b, err := json.Marshal(data)
	if err != nil {
		panic("objecten: seed data does not encode: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		id = uuid.NewString()
	}
	o, ok := s.objects[id]
	if !ok {
		o = &Object{URL: s.base + PathObjects + "/" + id, UUID: id, Type: typeURL,
			Record: Record{TypeVersion: 1, StartAt: "2025-03-20", RegistrationAt: "2025-03-20"}}
		s.objects[id] = o
		s.order = append(s.order, id)
	}
	o.Record.Index++
	o.Record.Data = b
	return o.URL
}

// Delete removes an object.
func (s *Server) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objects, id)
	for i, x := range s.order {
		if x == id {
			s.order = append(s.order[:i:i], s.order[i+1:]...)
			break
		}
	}
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, s.prefix), Query: r.URL.Query(), Header: r.Header.Clone()})
	s.mu.Unlock()
	s.handler.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	// The Objecten API uses DRF token authentication: 401 with a
	// WWW-Authenticate challenge when the token is missing or wrong.
	if s.token != "" && r.Header.Get("Authorization") != "Token "+s.token {
		w.Header().Set("WWW-Authenticate", "Token")
		writeJSON(w, http.StatusUnauthorized, map[string]any{"detail": "Ongeldige token."})
		return
	}
	if r.Method != http.MethodGet {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"detail": "Methode niet toegestaan."})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, s.prefix), "/")
	if p == PathObjects {
		typ := r.URL.Query().Get("type")
		results := []Object{}
		for _, id := range s.order {
			if o := s.objects[id]; typ == "" || o.Type == typ {
				results = append(results, *o)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"count": len(results), "next": nil, "previous": nil, "results": results})
		return
	}
	if id, ok := strings.CutPrefix(p, PathObjects+"/"); ok {
		if o, ok := s.objects[id]; ok {
			writeJSON(w, http.StatusOK, o)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Niet gevonden."})
}

// DenHaagTaak builds record.data of a Den Haag (v1) taak object.
func DenHaagTaak(title, status, zaakURL, verloopdatum, bsn string) map[string]any {
	return map[string]any{
		"data":              map[string]any{"informatieverzoek": map[string]any{"deadline": verloopdatum, "toelichting": ""}},
		"zaak":              zaakURL,
		"title":             title,
		"status":            status,
		"formulier":         map[string]any{"type": "url", "value": "https://formulieren.gemeente.example/api/v2/objects/0db2a8a0-1ca8-4395-8a7a-c6293e33b4cd"},
		"verloopdatum":      verloopdatum,
		"identificatie":     map[string]any{"type": "bsn", "value": bsn},
		"verzonden_data":    map[string]any{},
		"verwerker_taak_id": "1809f547-d0be-48a9-bba4-a6d7d5f36ba5",
	}
}

// CommunityTaak builds record.data of a community (Nijmegen) taak object;
// verloopdatum as "YYYY-MM-DD HH:MM:SS", idType "bsn" or "kvk".
func CommunityTaak(titel, status, zaakUUID, verloopdatum, idType, idValue string) map[string]any {
	return map[string]any{
		"soort":             "formtaak",
		"titel":             titel,
		"status":            status,
		"eigenaar":          "gemeente",
		"formtaak":          map[string]any{"formulier": map[string]any{"soort": "url", "value": "https://formulieren.gemeente.example/#/form/uploadBijlage"}},
		"koppeling":         map[string]any{"uuid": zaakUUID, "registratie": "zaak"},
		"verloopdatum":      verloopdatum,
		"identificatie":     map[string]any{"type": idType, "value": idValue},
		"verwerker_taak_id": "bestand",
	}
}

// Notification returns the Notificaties API message the Objecten API would
// send for actie (create, update, partial_update, destroy) on the object at
// objectURL.
func (s *Server) Notification(actie, objectURL string, at time.Time) event.Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := event.Notification{Kanaal: "objecten", HoofdObject: objectURL, Resource: "object", ResourceURL: objectURL, Actie: actie, Aanmaakdatum: at.UTC(), Kenmerken: map[string]string{}}
	if o, ok := s.objects[objectURL[strings.LastIndexByte(objectURL, '/')+1:]]; ok {
		n.Kenmerken["objectType"] = o.Type
	}
	return n
}
