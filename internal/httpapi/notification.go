package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Amsterdam must resolve on minimal images too

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
)

// ValidationError lists every field of a request body that failed
// validation. Handlers turn it into a 400 problem with invalidParams.
type ValidationError struct {
	Params []InvalidParam
}

func (e *ValidationError) Error() string {
	names := make([]string, len(e.Params))
	for i, p := range e.Params {
		names[i] = p.Name
	}
	return "invalid fields: " + strings.Join(names, ", ")
}

func (e *ValidationError) add(name, code, reason string) {
	e.Params = append(e.Params, InvalidParam{Name: name, Code: code, Reason: reason})
}

func (e *ValidationError) orNil() error {
	if len(e.Params) == 0 {
		return nil
	}
	return e
}

// amsterdam is where a timestamp without a zone was written: Open Zaak and
// Open Notificaties run with TIME_ZONE=Europe/Amsterdam, so a naive datetime
// that slips through is local time there.
var amsterdam = clock.Amsterdam

// Layouts for ParseTime, tried in order. Go's parser accepts a fractional
// second of any precision after the seconds even when the layout has none.
var (
	zonedLayouts = []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05Z0700",
		"2006-01-02 15:04:05Z07:00",
		"2006-01-02 15:04:05Z0700",
	}
	naiveLayouts = []string{
		"2006-01-02T15:04:05",
		"2006-01-02 15:04:05",
	}
)

// ParseTime parses a timestamp leniently, as ZGW systems write them:
// "2025-03-15T10:01:07Z", with fractions ("…07.118204Z"), with an offset
// ("…+01:00" or "…+0100"), with a space instead of the "T", or without any
// zone (then it is Europe/Amsterdam wall-clock time). The result is UTC.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range zonedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return saneTime(t, s)
		}
	}
	for _, l := range naiveLayouts {
		if t, err := time.ParseInLocation(l, s, amsterdam); err == nil {
			return saneTime(t, s)
		}
	}
	return time.Time{}, fmt.Errorf("httpapi: parse time: %q is not an ISO 8601 date-time", truncate(s, 40))
}

// saneTime rejects years no ZGW system writes; year 0 in Amsterdam would
// also become year -1 in UTC, which cannot be encoded as JSON on the bus.
func saneTime(t time.Time, s string) (time.Time, error) {
	t = t.UTC()
	if t.Year() < 1900 || t.Year() > 9998 {
		return time.Time{}, fmt.Errorf("httpapi: parse time: %q is out of range", truncate(s, 40))
	}
	return t, nil
}

// Maximum lengths from the Notificaties API Message schema.
const (
	maxKanaal   = 50
	maxResource = 100
	maxActie    = 100
	maxKenmerk  = 1000
)

// MaxKenmerken bounds the kenmerken of one notification. The schema sets
// no limit, but Open Zaak sends a handful (bronorganisatie, zaaktype,
// vertrouwelijkheidaanduiding); 70,000 of them in a 1 MB body cost ~23 MB
// to decode, so the count is checked while decoding and a body with more
// is refused before they are all in memory.
const MaxKenmerken = 100

// ParseNotification decodes and validates a Notificaties API 1.0 `Message`
// as Open Notificaties posts it to a callback. It is lenient where senders
// differ and strict where Koerier depends on a field:
//   - unknown top-level fields (e.g. "source" in newer Open Notificaties) are
//     ignored;
//   - a kenmerk value that is a number or boolean is kept as its JSON text
//     ("42", "true"); a null, object or array value is dropped, because the
//     schema says kenmerken are strings and nothing downstream can use them;
//   - aanmaakdatum is parsed with ParseTime and stored in UTC;
//   - kanaal, hoofdObject, resource, resourceUrl, actie and aanmaakdatum are
//     required; hoofdObject and resourceUrl must be absolute http(s) URLs.
//
// A validation failure is a *ValidationError naming every bad field.
func ParseNotification(body []byte) (event.Notification, error) {
	var n event.Notification
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return n, &ValidationError{Params: []InvalidParam{{
			Name: "nonFieldErrors", Code: "parse_error",
			Reason: "The body is not a JSON object.",
		}}}
	}
	var verr ValidationError
	n.Kanaal = stringField(raw, "kanaal", maxKanaal, &verr)
	n.HoofdObject = urlField(raw, "hoofdObject", &verr)
	n.Resource = stringField(raw, "resource", maxResource, &verr)
	n.ResourceURL = urlField(raw, "resourceUrl", &verr)
	n.Actie = stringField(raw, "actie", maxActie, &verr)
	if s := stringField(raw, "aanmaakdatum", 64, &verr); s != "" {
		t, err := ParseTime(s)
		if err != nil {
			verr.add("aanmaakdatum", CodeDate, "aanmaakdatum is not an ISO 8601 date-time.")
		}
		n.Aanmaakdatum = t
	}
	n.Kenmerken = kenmerken(raw["kenmerken"], &verr)
	if err := verr.orNil(); err != nil {
		return event.Notification{}, err
	}
	return n, nil
}

// stringField reads a required string. Missing, null, empty and non-string
// values are all reported; the value itself is never echoed.
func stringField(raw map[string]json.RawMessage, name string, maxLen int, verr *ValidationError) string {
	v, ok := raw[name]
	if !ok || isNull(v) {
		verr.add(name, CodeRequired, name+" is required.")
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		verr.add(name, CodeType, name+" must be a string.")
		return ""
	}
	s = strings.TrimSpace(s)
	if s == "" {
		verr.add(name, CodeRequired, name+" must not be empty.")
		return ""
	}
	if len([]rune(s)) > maxLen {
		verr.add(name, CodeMaxLen, fmt.Sprintf("%s is longer than %d characters.", name, maxLen))
		return ""
	}
	return s
}

func urlField(raw map[string]json.RawMessage, name string, verr *ValidationError) string {
	s := stringField(raw, name, 1000, verr)
	if s == "" {
		return ""
	}
	if !isHTTPURL(s) {
		verr.add(name, CodeURL, name+" must be an absolute http(s) URL.")
		return ""
	}
	return s
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func kenmerken(v json.RawMessage, verr *ValidationError) map[string]string {
	if len(v) == 0 || isNull(v) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		verr.add("kenmerken", CodeType, "kenmerken must be an object.")
		return nil
	}
	out := map[string]string{}
	for n := 0; dec.More(); n++ {
		if n == MaxKenmerken {
			verr.add("kenmerken", CodeMaxItems, fmt.Sprintf("kenmerken has more than %d entries.", MaxKenmerken))
			return nil
		}
		tok, err := dec.Token()
		k, isKey := tok.(string)
		var raw json.RawMessage
		if err == nil && isKey {
			err = dec.Decode(&raw)
		}
		if err != nil || !isKey {
			verr.add("kenmerken", CodeType, "kenmerken must be an object.")
			return nil
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		var val string
		switch raw[0] {
		case '"':
			if err := json.Unmarshal(raw, &val); err != nil {
				continue
			}
		case 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			val = string(raw) // a number or boolean, kept as its JSON text
		default:
			continue // null, object, array
		}
		if len([]rune(val)) > maxKenmerk {
			verr.add("kenmerken."+k, CodeMaxLen, fmt.Sprintf("kenmerk is longer than %d characters.", maxKenmerk))
			continue
		}
		out[k] = val
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func isNull(v json.RawMessage) bool {
	return string(bytes.TrimSpace(v)) == "null"
}

// NotificationID is the dedup key of a notification:
// hex(sha256(kanaal|resourceUrl|actie|aanmaakdatum)), with aanmaakdatum in
// UTC RFC 3339 with as many fraction digits as it has, so that the same
// instant written with another offset or precision is the same notification.
// resourceUrl is part of the key because zaak_afsluiten emits several
// notifications with one aanmaakdatum.
func NotificationID(n event.Notification) string {
	return hashKey(n.Kanaal, n.ResourceURL, n.Actie, n.Aanmaakdatum.UTC().Format(time.RFC3339Nano))
}

func hashKey(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "|")))
	return hex.EncodeToString(h[:])
}

// truncate shortens s for an error message, so a hostile body cannot make
// log lines huge.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
