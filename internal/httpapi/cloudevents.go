package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/mijnservices/koerier/internal/event"
)

// CloudEvent is a CloudEvents 1.0 event in the JSON format, with the
// attributes the NL GOV profile uses. Data is kept raw: Open Notificaties
// has sent it both as an object and as a JSON-encoded string.
type CloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	Type            string          `json:"type"`
	Source          string          `json:"source"`
	Subject         string          `json:"subject,omitempty"`
	ID              string          `json:"id"`
	Time            string          `json:"time,omitempty"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	DataSchema      string          `json:"dataschema,omitempty"`
	DataRef         string          `json:"dataref,omitempty"`
	Data            json.RawMessage `json:"data,omitempty"`
	DataBase64      string          `json:"data_base64,omitempty"`
}

// Media types of the CloudEvents HTTP binding.
const (
	MediaCloudEvent      = "application/cloudevents+json"
	MediaCloudEventBatch = "application/cloudevents-batch+json"
)

// ParseCloudEvent decodes one structured-mode CloudEvent and checks the
// required context attributes (specversion 1.x, id, source, type). Unknown
// attributes (NL GOV extensions such as sequence, or Open Notificaties'
// nl.vng.zgw.* kenmerken) are ignored.
func ParseCloudEvent(body []byte) (CloudEvent, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return CloudEvent{}, &ValidationError{Params: []InvalidParam{{
			Name: "nonFieldErrors", Code: "parse_error", Reason: "The body is not a JSON object.",
		}}}
	}
	var verr ValidationError
	ce := CloudEvent{
		SpecVersion: stringField(raw, "specversion", 50, &verr),
		ID:          idField(raw, &verr),
		Source:      stringField(raw, "source", 1000, &verr),
		Type:        stringField(raw, "type", 255, &verr),
	}
	if ce.SpecVersion != "" && !strings.HasPrefix(ce.SpecVersion, "1.") {
		verr.add("specversion", CodeInvalid, "specversion must be 1.x.")
	}
	ce.Subject = optionalString(raw, "subject", &verr)
	ce.Time = optionalString(raw, "time", &verr)
	ce.DataContentType = optionalString(raw, "datacontenttype", &verr)
	ce.DataSchema = optionalString(raw, "dataschema", &verr)
	ce.DataRef = optionalString(raw, "dataref", &verr)
	ce.DataBase64 = optionalString(raw, "data_base64", &verr)
	if d, ok := raw["data"]; ok && !isNull(d) {
		ce.Data = d
	}
	if err := verr.orNil(); err != nil {
		return CloudEvent{}, err
	}
	return ce, nil
}

// idField reads the id, which the spec makes a string; Open Notificaties'
// first formatter sent its database id as a number, so a number is taken as
// its decimal text.
func idField(raw map[string]json.RawMessage, verr *ValidationError) string {
	if v, ok := raw["id"]; ok {
		var n json.Number
		if err := json.Unmarshal(v, &n); err == nil && n.String() != "" {
			return n.String()
		}
	}
	return stringField(raw, "id", 255, verr)
}

func optionalString(raw map[string]json.RawMessage, name string, verr *ValidationError) string {
	v, ok := raw[name]
	if !ok || isNull(v) {
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		verr.add(name, CodeType, name+" must be a string.")
		return ""
	}
	return strings.TrimSpace(s)
}

// payload returns the event's data as JSON bytes: an object as is, a string
// holding JSON (Open Notificaties' first cloud-event formatter did that)
// unwrapped, data_base64 decoded. nil when there is no data.
func (ce CloudEvent) payload() []byte {
	if ce.DataBase64 != "" {
		b, err := base64.StdEncoding.DecodeString(ce.DataBase64)
		if err != nil {
			return nil
		}
		return b
	}
	d := bytes.TrimSpace(ce.Data)
	if len(d) > 0 && d[0] == '"' {
		var s string
		if json.Unmarshal(d, &s) == nil {
			return []byte(s)
		}
	}
	return d
}

// reZGWType matches the types Open Notificaties gives a notification it
// forwards as a CloudEvent: nl.overheid.{kanaal}.{resource}.{actie}, and
// nl.vng.zgw.{kanaal}.{resource}.{actie} in its first implementation.
var reZGWType = regexp.MustCompile(`^(?:nl\.overheid|nl\.vng\.zgw)\.([a-z_]+)\.([a-z_]+)\.([a-z_]+)$`)

// collections maps a ZGW resource name to its collection in the URL, to
// rebuild a resourceUrl from hoofdObject and subject when a CloudEvent only
// carries the resource's uuid.
var collections = map[string]string{
	"zaak":                        "zaken",
	"status":                      "statussen",
	"resultaat":                   "resultaten",
	"rol":                         "rollen",
	"zaakobject":                  "zaakobjecten",
	"zaakinformatieobject":        "zaakinformatieobjecten",
	"zaakcontactmoment":           "zaakcontactmomenten",
	"zaakverzoek":                 "zaakverzoeken",
	"klantcontact":                "klantcontacten",
	"besluit":                     "besluiten",
	"besluitinformatieobject":     "besluitinformatieobjecten",
	"enkelvoudiginformatieobject": "enkelvoudiginformatieobjecten",
	"gebruiksrechten":             "gebruiksrechten",
	"object":                      "objects",
}

// MapCloudEvent turns a CloudEvent into an Inbound (without ReceivedAt):
//   - data that is a whole Notificaties API Message becomes that
//     Notification;
//   - a type nl.overheid.{kanaal}.{resource}.{actie} whose data has a
//     hoofdObject (Open Notificaties' cloud-event mode: data is hoofdObject
//     plus the kenmerken, subject the resource's uuid) becomes a
//     Notification, its resourceUrl taken from dataref or rebuilt from
//     hoofdObject, resource and subject; its id is the notification's dedup
//     key, so one notification that arrives both ways is one inbound;
//   - anything else is an External event: type is the CloudEvent type, data
//     holds the subject ({"subject": {"bsn"|"kvk", ...}} as in the events
//     schema, or a top-level bsn/kvk as in the NL GOV profile's example),
//     optional zaak and personalisation; its id is sha256(source|id).
//
// sourceSystem names the authenticated sender, if known.
func MapCloudEvent(ce CloudEvent, sourceSystem string, now time.Time) (event.Inbound, error) {
	data := ce.payload()
	var obj map[string]json.RawMessage
	if len(data) > 0 && data[0] == '{' {
		_ = json.Unmarshal(data, &obj)
	}
	if _, ok := obj["resourceUrl"]; ok {
		if _, ok := obj["kanaal"]; ok {
			n, err := ParseNotification(data)
			if err != nil {
				return event.Inbound{}, prefixed(err, "data.")
			}
			return event.Inbound{ID: NotificationID(n), Source: event.SourceCloudEvents, Notification: &n}, nil
		}
	}
	if m := reZGWType.FindStringSubmatch(ce.Type); m != nil {
		if _, ok := obj["hoofdObject"]; ok {
			n, err := zgwNotification(ce, m[1], m[2], m[3], obj)
			if err != nil {
				return event.Inbound{}, err
			}
			return event.Inbound{ID: NotificationID(n), Source: event.SourceCloudEvents, Notification: &n}, nil
		}
	}
	ext, err := externalFromCloudEvent(ce, obj, sourceSystem, now)
	if err != nil {
		return event.Inbound{}, err
	}
	return event.Inbound{ID: hashKey(ce.Source, ce.ID), Source: event.SourceCloudEvents, External: &ext}, nil
}

func zgwNotification(ce CloudEvent, kanaal, resource, actie string, obj map[string]json.RawMessage) (event.Notification, error) {
	msg := map[string]json.RawMessage{}
	kenmerken := map[string]json.RawMessage{}
	for k, v := range obj {
		if k == "hoofdObject" {
			msg[k] = v
			continue
		}
		kenmerken[k] = v
	}
	var hoofd string
	_ = json.Unmarshal(obj["hoofdObject"], &hoofd)
	resourceURL := ce.DataRef
	if !isHTTPURL(resourceURL) {
		resourceURL = rebuildResourceURL(hoofd, resource, ce.Subject)
	}
	if resourceURL == "" {
		return event.Notification{}, &ValidationError{Params: []InvalidParam{{
			Name: "dataref", Code: CodeRequired,
			Reason: "The resource URL cannot be derived: send dataref with the absolute URL of the resource.",
		}}}
	}
	if ce.Time == "" {
		return event.Notification{}, &ValidationError{Params: []InvalidParam{{
			Name: "time", Code: CodeRequired, Reason: "time is required for a ZGW notification event.",
		}}}
	}
	for k, v := range map[string]string{"kanaal": kanaal, "resource": resource, "actie": actie, "resourceUrl": resourceURL, "aanmaakdatum": ce.Time} {
		msg[k], _ = json.Marshal(v)
	}
	msg["kenmerken"], _ = json.Marshal(kenmerken)
	b, _ := json.Marshal(msg)
	n, err := ParseNotification(b)
	if err != nil {
		return event.Notification{}, err
	}
	return n, nil
}

// rebuildResourceURL derives the URL of a resource from its hoofdObject,
// e.g. hoofdObject …/zaken/api/v1/zaken/{zaak} with resource status and
// subject {status} gives …/zaken/api/v1/statussen/{status}.
func rebuildResourceURL(hoofdObject, resource, subject string) string {
	u, err := url.Parse(hoofdObject)
	if err != nil || !isHTTPURL(hoofdObject) {
		return ""
	}
	path := strings.TrimSuffix(u.Path, "/")
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return ""
	}
	if subject == "" || subject == path[i+1:] {
		if c, ok := collections[resource]; ok && strings.HasSuffix(path[:i], "/"+c) {
			return hoofdObject // the hoofdObject is the resource itself
		}
	}
	coll, ok := collections[resource]
	if !ok || subject == "" || strings.ContainsAny(subject, "/?#") {
		return ""
	}
	j := strings.LastIndexByte(path[:i], '/')
	if j < 0 {
		return ""
	}
	u.Path = path[:j] + "/" + coll + "/" + subject
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

// ceData is the data of a CloudEvent that is not a ZGW notification.
type ceData struct {
	Subject          *EventSubject  `json:"subject"`
	BSN              string         `json:"bsn"`
	KVK              string         `json:"kvk"`
	Vestigingsnummer string         `json:"vestigingsnummer"`
	Zaak             string         `json:"zaak"`
	Personalisation  map[string]any `json:"personalisation"`
}

func externalFromCloudEvent(ce CloudEvent, obj map[string]json.RawMessage, sourceSystem string, now time.Time) (event.External, error) {
	var d ceData
	if obj != nil {
		b, _ := json.Marshal(obj)
		_ = json.Unmarshal(b, &d) // a field of the wrong type stays empty and is reported below
	}
	subj := EventSubject{BSN: d.BSN, KVK: d.KVK, Vestigingsnummer: d.Vestigingsnummer}
	if d.Subject != nil {
		subj = *d.Subject
	}
	var verr ValidationError
	ext := event.External{
		Type:           ce.Type,
		Subject:        parseSubject(subj, "data.subject", &verr),
		Zaak:           strings.TrimSpace(d.Zaak),
		IdempotencyKey: ce.ID,
		SourceSystem:   sourceSystem,
		OccurredAt:     now.UTC(),
	}
	if ext.SourceSystem == "" {
		ext.SourceSystem = ce.Source
	}
	if ext.Zaak == "" && isHTTPURL(ce.DataRef) {
		ext.Zaak = ce.DataRef
	}
	if len(d.Personalisation) > 0 {
		ext.Personalisation = make(map[string]string, len(d.Personalisation))
		for k, v := range d.Personalisation {
			switch v := v.(type) {
			case string:
				ext.Personalisation[k] = v
			case float64, bool:
				ext.Personalisation[k] = fmt.Sprint(v)
			}
		}
	}
	if ce.Time != "" {
		t, err := ParseTime(ce.Time)
		if err != nil {
			verr.add("time", CodeDate, "time is not an RFC 3339 date-time.")
		}
		ext.OccurredAt = t
	}
	if err := verr.orNil(); err != nil {
		return event.External{}, err
	}
	return ext, nil
}

// prefixed renames the fields of a ValidationError, e.g. to "data.kanaal".
func prefixed(err error, prefix string) error {
	verr, ok := err.(*ValidationError)
	if !ok {
		return err
	}
	out := &ValidationError{Params: make([]InvalidParam, len(verr.Params))}
	for i, p := range verr.Params {
		p.Name = prefix + p.Name
		out.Params[i] = p
	}
	return out
}

// binaryCloudEvent reads a binary-mode CloudEvent: attributes in ce-*
// headers, the body is the data.
func binaryCloudEvent(r *http.Request, body []byte) (CloudEvent, error) {
	h := r.Header
	ce := CloudEvent{
		SpecVersion:     h.Get("Ce-Specversion"),
		Type:            h.Get("Ce-Type"),
		Source:          h.Get("Ce-Source"),
		Subject:         h.Get("Ce-Subject"),
		ID:              h.Get("Ce-Id"),
		Time:            h.Get("Ce-Time"),
		DataContentType: h.Get("Content-Type"),
		DataSchema:      h.Get("Ce-Dataschema"),
		DataRef:         h.Get("Ce-Dataref"),
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if json.Valid(body) {
			ce.Data = body
		} else {
			ce.DataBase64 = base64.StdEncoding.EncodeToString(body)
		}
	}
	var verr ValidationError
	for name, v := range map[string]string{"ce-specversion": ce.SpecVersion, "ce-id": ce.ID, "ce-source": ce.Source, "ce-type": ce.Type} {
		if v == "" {
			verr.add(name, CodeRequired, "The "+name+" header is required.")
		}
	}
	if ce.SpecVersion != "" && !strings.HasPrefix(ce.SpecVersion, "1.") {
		verr.add("ce-specversion", CodeInvalid, "specversion must be 1.x.")
	}
	return ce, verr.orNil()
}

// cloudevents handles POST /api/v1/cloudevents in structured mode
// (application/cloudevents+json, or application/json with a specversion),
// batch mode (application/cloudevents-batch+json) and binary mode (ce-*
// headers). It authenticates like the notificaties endpoint (the
// abonnement's token) or with a source system's token. Every event of a
// batch is validated before any is published; 204 when all were accepted
// or already seen.
func (s *Server) cloudevents(w http.ResponseWriter, r *http.Request) {
	const source = event.SourceCloudEvents
	s.metrics.received(r.Context(), source)
	system, ok := s.authorizeSource(w, r, source, true)
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
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var events []CloudEvent
	switch {
	case r.Header.Get("Ce-Specversion") != "":
		ce, err := binaryCloudEvent(r, body)
		if err != nil {
			s.writeValidation(w, r, source, err)
			return
		}
		events = []CloudEvent{ce}
	case mt == MediaCloudEventBatch:
		var list []json.RawMessage
		if err := json.Unmarshal(body, &list); err != nil {
			s.writeValidation(w, r, source, &ValidationError{Params: []InvalidParam{{
				Name: "nonFieldErrors", Code: "parse_error", Reason: "A batch must be a JSON array of CloudEvents.",
			}}})
			return
		}
		var verr ValidationError
		for i, raw := range list {
			ce, err := ParseCloudEvent(raw)
			if err != nil {
				verr.Params = append(verr.Params, prefixed(err, fmt.Sprintf("[%d].", i)).(*ValidationError).Params...)
				continue
			}
			events = append(events, ce)
		}
		if err := verr.orNil(); err != nil {
			s.writeValidation(w, r, source, err)
			return
		}
	case mt == MediaCloudEvent || mt == "application/json" || mt == "":
		ce, err := ParseCloudEvent(body)
		if err != nil {
			s.writeValidation(w, r, source, err)
			return
		}
		events = []CloudEvent{ce}
	default:
		s.metrics.rejected(r.Context(), source, "unsupported_media_type")
		WriteProblem(w, http.StatusUnsupportedMediaType, "Unsupported media type",
			"Send "+MediaCloudEvent+", "+MediaCloudEventBatch+" or a binary-mode CloudEvent.")
		return
	}

	now := s.o.Now().UTC()
	inbounds := make([]event.Inbound, 0, len(events))
	var verr ValidationError
	for i, ce := range events {
		in, err := MapCloudEvent(ce, system, now)
		if err != nil {
			if len(events) > 1 {
				err = prefixed(err, fmt.Sprintf("[%d].", i))
			}
			if v, ok := err.(*ValidationError); ok {
				verr.Params = append(verr.Params, v.Params...)
			}
			continue
		}
		in.ReceivedAt = now
		inbounds = append(inbounds, in)
	}
	if err := verr.orNil(); err != nil {
		s.writeValidation(w, r, source, err)
		return
	}
	for _, in := range inbounds {
		if _, err := s.ingest(r.Context(), in, IngestDetail(in)); err != nil {
			writeUnavailable(w)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
