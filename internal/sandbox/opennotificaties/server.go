// Package opennotificaties is a fake Open Notificaties for tests and the
// demo: the Notificaties API's kanaal and abonnement resources (ZGW JWT
// checked), the callback validation Open Notificaties performs when an
// abonnement is created or updated, and delivery of published
// notifications to every matching abonnement's callback with its auth. It
// is a peer, not a dependency: production code never imports it.
//
// The callback validation follows open-zaak/open-notificaties
// src/nrc/api/validators.py: first CallbackURLAuthValidator posts the probe
// notification (kanaal "test") without Authorization and wants 401 or 403
// (else 400 on callbackUrl, code no-auth-on-callback-url); then
// CallbackURLValidator posts it with the abonnement's auth and wants exactly
// 204 (else 400 nonFieldErrors, code invalid-callback-url). Only then are
// the kanalen checked (kanaal_naam, inconsistent-abonnement-filters).
package opennotificaties

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpclient"
	"github.com/mijnservices/koerier/internal/sandbox/fault"
)

// ProbeNotification is the body Open Notificaties posts to a callback URL to
// validate it, verbatim from its validators.
var ProbeNotification = []byte(`{"kanaal": "test", "hoofdObject": "http://some.hoofdobject.nl/", "resource": "some_resource", "resourceUrl": "http://some.resource.nl/", "actie": "create", "aanmaakdatum": "2019-01-01T12:00:00Z", "kenmerken": {}}`)

// Kanaal is a kanaal (exchange) with the kenmerken abonnementen may filter on.
type Kanaal struct {
	URL              string   `json:"url"`
	Naam             string   `json:"naam"`
	DocumentatieLink string   `json:"documentatieLink"`
	Filters          []string `json:"filters"`
}

// FilterGroup is one kanaal of an abonnement with its filters.
type FilterGroup struct {
	Naam    string            `json:"naam"`
	Filters map[string]string `json:"filters"`
}

// Abonnement as the API renders it; Auth is write-only in the API but
// visible here for tests.
type Abonnement struct {
	URL               string        `json:"url"`
	CallbackURL       string        `json:"callbackUrl"`
	Auth              string        `json:"-"`
	Kanalen           []FilterGroup `json:"kanalen"`
	SendCloudevents   bool          `json:"sendCloudevents"`
	CloudeventFilters []any         `json:"cloudeventFilters"`
}

// Request is one recorded request to the fake.
type Request struct {
	Method string
	Path   string
	Header http.Header
}

// Delivery is one attempt to deliver a notification to a callback.
type Delivery struct {
	Abonnement string // abonnement URL
	Callback   string
	Attempt    int // 1-based
	Status     int // 0 when the request failed
	Err        string
	At         time.Time
}

// Server is the fake.
type Server struct {
	// Faults injects failures in front of the API (not in front of
	// callbacks).
	Faults fault.Injector
	// Client posts probes and notifications to callbacks (default: no
	// retries, 10s timeout, like Open Notificaties' requests call).
	Client *http.Client
	// NoCallbackAuthCheck switches off the unauthenticated probe, as
	// Open Notificaties' TEST_CALLBACK_AUTH=False does.
	NoCallbackAuthCheck bool
	// Now is the fake's clock for a JWT's iat and delivery times (default
	// clock.System).
	Now func() time.Time
	// RetryBackoff is the wait before each retry of a delivery that did not
	// get a 204 (Open Notificaties retries with exponential backoff); nil
	// delivers once.
	RetryBackoff []time.Duration

	mu           sync.Mutex
	base, prefix string
	clients      map[string]string
	kanalen      map[string]*Kanaal
	abonnementen map[string]*Abonnement
	order        []string
	reqs         []Request
	deliveries   []Delivery
	handler      http.Handler
	wg           sync.WaitGroup
}

// New returns a fake serving at baseURL (the part before /api/v1; "" to set
// it later with SetBaseURL) that accepts ZGW JWTs of the given client ids
// and secrets. With no clients, any request passes. The kanalen zaken,
// besluiten, objecten and documenten exist with the kenmerken Open Zaak and
// the Objecten API send.
func New(baseURL string, clients map[string]string) *Server {
	s := &Server{clients: clients, kanalen: map[string]*Kanaal{}, abonnementen: map[string]*Abonnement{}}
	s.SetBaseURL(baseURL)
	s.AddKanaal("zaken", "bronorganisatie", "zaaktype", "zaaktype.catalogus", "vertrouwelijkheidaanduiding")
	s.AddKanaal("besluiten", "verantwoordelijkeOrganisatie", "besluittype", "besluittype.catalogus")
	s.AddKanaal("objecten", "objectType")
	s.AddKanaal("documenten", "bronorganisatie", "informatieobjecttype", "informatieobjecttype.catalogus", "vertrouwelijkheidaanduiding")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/kanaal", s.listKanalen)
	mux.HandleFunc("GET /api/v1/abonnement", s.listAbonnementen)
	mux.HandleFunc("POST /api/v1/abonnement", s.createAbonnement)
	mux.HandleFunc("GET /api/v1/abonnement/{uuid}", s.getAbonnement)
	mux.HandleFunc("PUT /api/v1/abonnement/{uuid}", s.updateAbonnement)
	mux.HandleFunc("DELETE /api/v1/abonnement/{uuid}", s.deleteAbonnement)
	mux.HandleFunc("POST /api/v1/notificaties", s.postNotificatie)
	s.handler = s.Faults.Wrap(s.authenticated(mux))
	return s
}

// SetBaseURL sets the external base URL (without /api/v1).
func (s *Server) SetBaseURL(baseURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base = strings.TrimSuffix(baseURL, "/")
	s.prefix = ""
	if u, err := url.Parse(s.base); err == nil {
		s.prefix = strings.TrimSuffix(u.Path, "/")
	}
	for _, k := range s.kanalen {
		k.URL = s.base + "/api/v1/kanaal/" + uuidOf(k.URL)
	}
	for id, a := range s.abonnementen {
		a.URL = s.base + "/api/v1/abonnement/" + id
	}
}

// APIRoot is the Notificaties API root, for Koerier's configuration.
func (s *Server) APIRoot() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base + "/api/v1"
}

// AddKanaal registers a kanaal with the kenmerken it may be filtered on.
func (s *Server) AddKanaal(naam string, filters ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kanalen[naam] = &Kanaal{
		URL: s.base + "/api/v1/kanaal/" + uuid.NewString(), Naam: naam,
		DocumentatieLink: "https://example.com/kanalen/" + naam, Filters: append([]string{}, filters...),
	}
}

// Abonnementen returns the abonnementen, oldest first, with their auth.
func (s *Server) Abonnementen() []Abonnement {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Abonnement, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, cloneAbonnement(s.abonnementen[id]))
	}
	return out
}

// Requests returns the API requests received so far (not the callbacks).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Deliveries returns every delivery attempt so far, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// Wait blocks until notifications posted through the API (delivered in
// the background, as Open Notificaties does) have been delivered.
func (s *Server) Wait() { s.wg.Wait() }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, s.prefix), Header: r.Header.Clone()})
	prefix := s.prefix
	s.mu.Unlock()
	if prefix != "" {
		r2 := r.Clone(r.Context())
		r2.URL.Path = strings.TrimPrefix(r.URL.Path, prefix)
		r2.URL.RawPath = ""
		r = r2
	}
	s.handler.ServeHTTP(w, r)
}

func (s *Server) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return httpclient.New(httpclient.Options{RetryMax: -1, Timeout: 10 * time.Second})
}

// authenticated checks the ZGW JWT like Open Notificaties: 401 without a
// bearer token, 403 when it does not verify with its client's secret.
func (s *Server) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(s.clients) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			problem(w, http.StatusUnauthorized, "not_authenticated", "Authenticatiegegevens zijn niet opgegeven.", nil)
			return
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
			problem(w, http.StatusForbidden, "permission_denied", "Je hebt geen toestemming om deze actie uit te voeren.", nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type invalidParam struct {
	Name   string `json:"name"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// problem writes a vng-api-common error document.
func problem(w http.ResponseWriter, status int, code, title string, params []invalidParam) {
	typ := code
	if status == http.StatusBadRequest {
		typ = "ValidationError"
	}
	body := map[string]any{
		"type": "http://notificaties.example/ref/fouten/" + typ + "/", "code": code, "title": title,
		"status": status, "detail": title, "instance": "urn:uuid:" + uuid.NewString(),
	}
	if params != nil {
		body["detail"] = ""
		body["invalidParams"] = params
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func invalid(w http.ResponseWriter, params ...invalidParam) {
	problem(w, http.StatusBadRequest, "invalid", "Invalid input.", params)
}

func (s *Server) listKanalen(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	out := make([]Kanaal, 0, len(s.kanalen))
	for _, k := range s.kanalen {
		out = append(out, *k)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Kanaal) int { return strings.Compare(a.Naam, b.Naam) })
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listAbonnementen(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Abonnementen())
}

func (s *Server) getAbonnement(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a, ok := s.abonnementen[r.PathValue("uuid")]
	var out Abonnement
	if ok {
		out = cloneAbonnement(a)
	}
	s.mu.Unlock()
	if !ok {
		problem(w, http.StatusNotFound, "not_found", "Niet gevonden.", nil)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteAbonnement(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	id := r.PathValue("uuid")
	_, ok := s.abonnementen[id]
	if ok {
		delete(s.abonnementen, id)
		s.order = slices.DeleteFunc(s.order, func(x string) bool { return x == id })
	}
	s.mu.Unlock()
	if !ok {
		problem(w, http.StatusNotFound, "not_found", "Niet gevonden.", nil)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) createAbonnement(w http.ResponseWriter, r *http.Request) {
	a, ok := s.validateAbonnement(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	id := uuid.NewString()
	a.URL = s.base + "/api/v1/abonnement/" + id
	s.abonnementen[id] = &a
	s.order = append(s.order, id)
	out := cloneAbonnement(&a)
	s.mu.Unlock()
	w.Header().Set("Location", out.URL)
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) updateAbonnement(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("uuid")
	s.mu.Lock()
	_, exists := s.abonnementen[id]
	s.mu.Unlock()
	if !exists {
		problem(w, http.StatusNotFound, "not_found", "Niet gevonden.", nil)
		return
	}
	a, ok := s.validateAbonnement(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	a.URL = s.base + "/api/v1/abonnement/" + id
	s.abonnementen[id] = &a
	out := cloneAbonnement(&a)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// validateAbonnement decodes and validates a create or update body in Open
// Notificaties' order: fields (with the unauthenticated probe), then the
// authenticated probe, then the kanalen.
func (s *Server) validateAbonnement(w http.ResponseWriter, r *http.Request) (Abonnement, bool) {
	var in struct {
		CallbackURL     string        `json:"callbackUrl"`
		Auth            *string       `json:"auth"`
		Kanalen         []FilterGroup `json:"kanalen"`
		SendCloudevents bool          `json:"sendCloudevents"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		problem(w, http.StatusBadRequest, "parse_error", "JSON parse error.", nil)
		return Abonnement{}, false
	}
	var params []invalidParam
	u, err := url.Parse(in.CallbackURL)
	switch {
	case in.CallbackURL == "":
		params = append(params, invalidParam{"callbackUrl", "required", "Dit veld is vereist."})
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(in.CallbackURL) > 200:
		params = append(params, invalidParam{"callbackUrl", "invalid", "Voer een geldige URL in."})
	case !s.NoCallbackAuthCheck && u.Host != "webhook.site":
		status, err := s.probe(r.Context(), in.CallbackURL, "")
		if err != nil {
			problem(w, http.StatusInternalServerError, "error", "Er is een serverfout opgetreden: "+err.Error(), nil)
			return Abonnement{}, false
		}
		if status != http.StatusUnauthorized && status != http.StatusForbidden {
			params = append(params, invalidParam{"callbackUrl", "no-auth-on-callback-url", "De opgegeven callback URL is niet beveiligd met autorisatie."})
		}
	}
	if in.Auth == nil {
		params = append(params, invalidParam{"auth", "required", "Dit veld is vereist."})
	}
	if params != nil {
		invalid(w, params...)
		return Abonnement{}, false
	}
	status, err := s.probe(r.Context(), in.CallbackURL, *in.Auth)
	if err != nil {
		problem(w, http.StatusInternalServerError, "error", "Er is een serverfout opgetreden: "+err.Error(), nil)
		return Abonnement{}, false
	}
	if status != http.StatusNoContent {
		invalid(w, invalidParam{"nonFieldErrors", "invalid-callback-url", "De opgegeven callback URL kan geen notificaties ontvangen."})
		return Abonnement{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, g := range in.Kanalen {
		k, ok := s.kanalen[g.Naam]
		if !ok {
			invalid(w, invalidParam{"naam", "kanaal_naam", "Kanaal met deze naam bestaat niet."})
			return Abonnement{}, false
		}
		if len(g.Filters) > 0 && !consistentNames(k.Filters, slices.Collect(maps.Keys(g.Filters))) {
			invalid(w, invalidParam{"filters", "inconsistent-abonnement-filters", "abonnement filters aren't consistent with kanaal filters"})
			return Abonnement{}, false
		}
		if g.Filters == nil {
			in.Kanalen[i].Filters = map[string]string{}
		}
	}
	if in.Kanalen == nil {
		in.Kanalen = []FilterGroup{}
	}
	return Abonnement{CallbackURL: in.CallbackURL, Auth: *in.Auth, Kanalen: in.Kanalen, SendCloudevents: in.SendCloudevents}, true
}

// probe posts ProbeNotification as Open Notificaties does (requests.post
// with json=...), with the Authorization header only when auth is set, and
// returns the status.
func (s *Server) probe(ctx context.Context, callback, auth string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, callback, bytes.NewReader(ProbeNotification))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.client().Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// matches reports whether a filter group takes a notification, as Open
// Notificaties' FilterGroup.match_pattern does: the kanaal matches and every
// filter whose kenmerk the notification has equals it ("*" matches any
// value); a filter on a kenmerk the notification lacks is ignored.
func (g FilterGroup) matches(n event.Notification) bool {
	if g.Naam != n.Kanaal {
		return false
	}
	for k, v := range g.Filters {
		if got, ok := n.Kenmerken[k]; ok && v != "*" && v != got {
			return false
		}
	}
	return true
}

// consistentNames is Open Notificaties' Kanaal.match_filter_names: the
// names (abonnement filters, or a notification's kenmerken) must be a subset
// or a superset of the kanaal's filter names.
func consistentNames(kanaal []string, names []string) bool {
	subset, superset := true, true
	for _, n := range names {
		if !slices.Contains(kanaal, n) {
			subset = false
		}
	}
	for _, k := range kanaal {
		if !slices.Contains(names, k) {
			superset = false
		}
	}
	return subset || superset
}

// Publish delivers n to every abonnement with a matching kanaal and filters,
// as Open Notificaties does: POST the notification as JSON with the
// abonnement's auth as Authorization; only 204 counts as delivered; others
// are retried after each RetryBackoff step. It returns the last attempt per
// abonnement.
func (s *Server) Publish(ctx context.Context, n event.Notification) []Delivery {
	body, err := json.Marshal(n)
	if err != nil {
		panic("opennotificaties: marshal notification: " + err.Error())
	}
	return s.deliver(ctx, n, body)
}

func (s *Server) deliver(ctx context.Context, n event.Notification, body []byte) []Delivery {
	var targets []Abonnement
	for _, a := range s.Abonnementen() {
		if slices.ContainsFunc(a.Kanalen, func(g FilterGroup) bool { return g.matches(n) }) {
			targets = append(targets, a)
		}
	}
	out := make([]Delivery, 0, len(targets))
	for _, a := range targets {
		var d Delivery
		for attempt := 1; ; attempt++ {
			d = s.post(ctx, a, body, attempt)
			if d.Status == http.StatusNoContent || attempt > len(s.RetryBackoff) || ctx.Err() != nil {
				break
			}
			t := time.NewTimer(s.RetryBackoff[attempt-1])
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		out = append(out, d)
	}
	return out
}

func (s *Server) post(ctx context.Context, a Abonnement, body []byte, attempt int) Delivery {
	d := Delivery{Abonnement: a.URL, Callback: a.CallbackURL, Attempt: attempt, At: clock.Or(s.Now)().UTC()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.CallbackURL, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", a.Auth)
		var resp *http.Response
		resp, err = s.client().Do(req)
		if err == nil {
			d.Status = resp.StatusCode
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	if err != nil {
		d.Err = err.Error()
	}
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
	return d
}

// postNotificatie is POST /api/v1/notificaties, as a source (Open Zaak)
// publishes: validated, answered 201 with the message, delivered in the
// background.
func (s *Server) postNotificatie(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		problem(w, http.StatusBadRequest, "parse_error", "JSON parse error.", nil)
		return
	}
	var n event.Notification
	if err := json.Unmarshal(body, &n); err != nil {
		problem(w, http.StatusBadRequest, "parse_error", "JSON parse error.", nil)
		return
	}
	var params []invalidParam
	for name, v := range map[string]string{"kanaal": n.Kanaal, "hoofdObject": n.HoofdObject, "resource": n.Resource, "resourceUrl": n.ResourceURL, "actie": n.Actie} {
		if v == "" {
			params = append(params, invalidParam{name, "required", "Dit veld is vereist."})
		}
	}
	if n.Aanmaakdatum.IsZero() {
		params = append(params, invalidParam{"aanmaakdatum", "required", "Dit veld is vereist."})
	}
	if params != nil {
		slices.SortFunc(params, func(a, b invalidParam) int { return strings.Compare(a.Name, b.Name) })
		invalid(w, params...)
		return
	}
	s.mu.Lock()
	k, ok := s.kanalen[n.Kanaal]
	var known []string
	if ok {
		known = k.Filters
	}
	s.mu.Unlock()
	if !ok {
		invalid(w, invalidParam{"kanaal", "message_kanaal", "Kanaal met deze naam bestaat niet."})
		return
	}
	if !consistentNames(known, slices.Collect(maps.Keys(n.Kenmerken))) {
		invalid(w, invalidParam{"kenmerken", "kenmerken_inconsistent", "Kenmerken aren't consistent with kanaal filters"})
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		s.deliver(ctx, n, body)
	}()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(body)
}

func cloneAbonnement(a *Abonnement) Abonnement {
	out := *a
	out.Kanalen = make([]FilterGroup, len(a.Kanalen))
	for i, g := range a.Kanalen {
		f := make(map[string]string, len(g.Filters))
		for k, v := range g.Filters {
			f[k] = v
		}
		out.Kanalen[i] = FilterGroup{Naam: g.Naam, Filters: f}
	}
	if out.CloudeventFilters == nil {
		out.CloudeventFilters = []any{}
	}
	return out
}

func uuidOf(u string) string {
	if i := strings.LastIndexByte(u, '/'); i >= 0 {
		return u[i+1:]
	}
	return u
}
