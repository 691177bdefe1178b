package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/mijnservices/koerier/internal/event"
)

// EventRequest is the body of POST /api/v1/events, the route by which a
// system that is not ZGW (a "shadow administration": belastingen, parkeren,
// a form engine) still informs citizens and companies through Koerier. The
// same schema is in events.schema.json.
//
//	{
//	  "type": "extern.aanslag_opgelegd",          // required; dotted, lower case
//	  "subject": {"bsn": "999993653"},            // required; or {"kvk": "12345678", "vestigingsnummer": "000012345678"}
//	  "zaak": "ZAAK-2025-0001",                   // optional; zaak URL or identificatie
//	  "personalisation": {"bedrag": "€ 123,45"},  // optional; string values only
//	  "idempotencyKey": "aanslag-2025-778812",    // required; unique per source system
//	  "occurredAt": "2025-03-15T10:01:07Z"        // optional; lenient date-time, default: time received
//	}
//
// The Authorization header names the source system (Options.SourceTokens);
// the dedup key is sha256(source|idempotencyKey), so the same key sent twice
// by one system is one event, and two systems cannot collide. Answers: 202
// with {"id": ..., "status": "accepted"|"duplicate"}, 400 problem naming
// every bad field, 401/403, 413, 503 when the bus refuses (retry later).
type EventRequest struct {
	Type            string            `json:"type"`
	Subject         EventSubject      `json:"subject"`
	Zaak            string            `json:"zaak,omitempty"`
	Personalisation map[string]string `json:"personalisation,omitempty"`
	IdempotencyKey  string            `json:"idempotencyKey"`
	OccurredAt      string            `json:"occurredAt,omitempty"`
}

// EventSubject is who an external event is about: an inwoner (bsn) or a
// bedrijf (kvk, optionally one vestiging).
type EventSubject struct {
	BSN              string `json:"bsn,omitempty"`
	KVK              string `json:"kvk,omitempty"`
	Vestigingsnummer string `json:"vestigingsnummer,omitempty"`
}

var (
	reEventType = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_-]+)+$`)
	reKVK       = regexp.MustCompile(`^[0-9]{8}$`)
	reVestiging = regexp.MustCompile(`^[0-9]{12}$`)
)

const (
	maxEventType       = 100
	maxIdempotencyKey  = 200
	maxZaakRef         = 1000
	maxPersonalisation = 50
	maxPersonalValue   = 2000
)

// ValidBSN reports whether s is nine digits that pass the BSN elfproef
// (9·d1 + 8·d2 + … + 2·d8 − 1·d9 divisible by 11, and not all zeros).
func ValidBSN(s string) bool {
	if len(s) != 9 {
		return false
	}
	sum := 0
	for i := 0; i < 9; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		w := 9 - i
		if i == 8 {
			w = -1
		}
		sum += w * int(c-'0')
	}
	return sum != 0 && sum%11 == 0
}

// ParseEvent decodes and validates an EventRequest into an event.External
// for the given source system; now is the default occurredAt. Failures are
// a *ValidationError naming every bad field (never echoing a value: a
// mistyped BSN is still personal data).
func ParseEvent(body []byte, sourceSystem string, now time.Time) (event.External, error) {
	var req EventRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return event.External{}, &ValidationError{Params: []InvalidParam{{
			Name: "nonFieldErrors", Code: "parse_error",
			Reason: "The body is not a JSON object of the events schema: " + typeErrorField(err) + ".",
		}}}
	}
	var verr ValidationError
	ext := event.External{
		Type:            strings.TrimSpace(req.Type),
		Zaak:            strings.TrimSpace(req.Zaak),
		Personalisation: req.Personalisation,
		IdempotencyKey:  strings.TrimSpace(req.IdempotencyKey),
		SourceSystem:    sourceSystem,
	}
	switch {
	case ext.Type == "":
		verr.add("type", CodeRequired, "type is required.")
	case len(ext.Type) > maxEventType || !reEventType.MatchString(ext.Type):
		verr.add("type", CodeInvalid, "type must be a dotted lower-case name such as extern.aanslag_opgelegd, at most 100 characters.")
	}
	ext.Subject = parseSubject(req.Subject, "subject", &verr)
	if len(ext.Zaak) > maxZaakRef {
		verr.add("zaak", CodeMaxLen, fmt.Sprintf("zaak is longer than %d characters.", maxZaakRef))
	}
	switch {
	case ext.IdempotencyKey == "":
		verr.add("idempotencyKey", CodeRequired, "idempotencyKey is required.")
	case len(ext.IdempotencyKey) > maxIdempotencyKey:
		verr.add("idempotencyKey", CodeMaxLen, fmt.Sprintf("idempotencyKey is longer than %d characters.", maxIdempotencyKey))
	}
	if len(req.Personalisation) > maxPersonalisation {
		verr.add("personalisation", CodeMaxLen, fmt.Sprintf("personalisation has more than %d keys.", maxPersonalisation))
	}
	for k, v := range req.Personalisation {
		if len(v) > maxPersonalValue {
			verr.add("personalisation."+k, CodeMaxLen, fmt.Sprintf("value is longer than %d characters.", maxPersonalValue))
		}
	}
	ext.OccurredAt = now.UTC()
	if req.OccurredAt != "" {
		t, err := ParseTime(req.OccurredAt)
		if err != nil {
			verr.add("occurredAt", CodeDate, "occurredAt is not an ISO 8601 date-time.")
		}
		ext.OccurredAt = t
	}
	if err := verr.orNil(); err != nil {
		return event.External{}, err
	}
	return ext, nil
}

func parseSubject(s EventSubject, prefix string, verr *ValidationError) event.Subject {
	s.BSN, s.KVK, s.Vestigingsnummer = strings.TrimSpace(s.BSN), strings.TrimSpace(s.KVK), strings.TrimSpace(s.Vestigingsnummer)
	switch {
	case s.BSN != "" && (s.KVK != "" || s.Vestigingsnummer != ""):
		verr.add(prefix, CodeInvalid, prefix+" must have either bsn or kvk, not both.")
	case s.BSN != "":
		if !ValidBSN(s.BSN) {
			verr.add(prefix+".bsn", CodeInvalid, "bsn must be nine digits that pass the elfproef.")
			return event.Subject{}
		}
		return event.Subject{Kind: event.KindInwoner, BSN: s.BSN}
	case s.KVK != "":
		ok := true
		if !reKVK.MatchString(s.KVK) {
			verr.add(prefix+".kvk", CodeInvalid, "kvk must be eight digits.")
			ok = false
		}
		if s.Vestigingsnummer != "" && !reVestiging.MatchString(s.Vestigingsnummer) {
			verr.add(prefix+".vestigingsnummer", CodeInvalid, "vestigingsnummer must be twelve digits.")
			ok = false
		}
		if ok {
			return event.Subject{Kind: event.KindBedrijf, KVK: s.KVK, Vestigingsnummer: s.Vestigingsnummer}
		}
	case s.Vestigingsnummer != "":
		verr.add(prefix+".kvk", CodeRequired, "kvk is required with a vestigingsnummer.")
	default:
		verr.add(prefix, CodeRequired, prefix+" needs a bsn or a kvk.")
	}
	return event.Subject{}
}

// typeErrorField says which field had the wrong JSON type, without the value.
func typeErrorField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field + " has the wrong type"
	}
	return "malformed JSON"
}

// EventID is the dedup key of an external event: sha256(source|idempotencyKey).
func EventID(sourceSystem, idempotencyKey string) string {
	return hashKey(sourceSystem, idempotencyKey)
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	const source = event.SourceEvents
	s.metrics.received(r.Context(), source)
	system, ok := s.authorizeSource(w, r, source, false)
	if !ok {
		return
	}
	release, ok := s.admit(w, r, source)
	if !ok {
		return
	}
	defer release()
	body, ok := s.readBody(w, r, source)
	if !ok {
		return
	}
	ext, err := ParseEvent(body, system, s.o.Now())
	if err != nil {
		s.writeValidation(w, r, source, err)
		return
	}
	in := event.Inbound{
		ID:         EventID(system, ext.IdempotencyKey),
		Source:     source,
		ReceivedAt: s.o.Now().UTC(),
		External:   &ext,
	}
	s.accept(w, r, in, IngestDetail(in), http.StatusAccepted)
}

// authorizeSource authenticates a source system by its token and returns its
// name. With alsoAbonnement, the abonnement tokens (Options.Tokens) are
// accepted too, naming no system.
func (s *Server) authorizeSource(w http.ResponseWriter, r *http.Request, source string, alsoAbonnement bool) (string, bool) {
	got := r.Header.Get("Authorization")
	if got == "" {
		s.metrics.rejected(r.Context(), source, "unauthenticated")
		w.Header().Set("WWW-Authenticate", `Bearer realm="koerier"`)
		WriteProblem(w, http.StatusUnauthorized, "Not authenticated", "The Authorization header is missing.")
		return "", false
	}
	if i := matchToken(got, s.sourceSums); i >= 0 {
		return s.sourceNames[i], true
	}
	if alsoAbonnement && matchToken(got, s.tokens) >= 0 {
		return "", true
	}
	s.metrics.rejected(r.Context(), source, "forbidden")
	WriteProblem(w, http.StatusForbidden, "Permission denied", "The Authorization header is not accepted.")
	return "", false
}
