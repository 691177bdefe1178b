package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const pigeonTemplate = "9d751e0e-f929-4891-82a1-a3e1c3c18ee3"

var epoch = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func token(t *testing.T, method jwt.SigningMethod, claims jwt.MapClaims, secret string) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newTestServer(t *testing.T, mod func(*Options)) (*Server, Key, string) {
	t.Helper()
	k := NewKey("test")
	o := Options{
		Keys: []Key{k},
		Now:  func() time.Time { return epoch },
		Templates: []Template{
			{ID: pigeonTemplate, Type: "email", Subject: "Your upcoming pigeon registration appointment",
				Body: "Dear ((first_name))\r\n\r\nYour pigeon registration appointment is scheduled for ((appointment_date)).\r\n\r\nPlease bring:\r\n((required_documents))\r\n\r\nYours,\r\nPigeon Affairs Bureau"},
			{ID: "f33517ff-2a88-4f6e-b855-c550268ce08a", Type: "sms", Body: "Hi ((first_name)), your appointment is on ((appointment_date))"},
		},
		FromEmail: "pigeon.affairs.bureau@notifications.service.gov.uk",
	}
	if mod != nil {
		mod(&o)
	}
	s := NewServer(o)
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); s.Close() })
	return s, k, srv.URL
}

func do(t *testing.T, method, url, auth, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("answer is not a JSON object: %s", b)
		}
	}
	return resp.StatusCode, out
}

func firstError(body map[string]any) (string, string) {
	errs, _ := body["errors"].([]any)
	if len(errs) == 0 {
		return "", ""
	}
	e := errs[0].(map[string]any)
	return e["error"].(string), e["message"].(string)
}

func TestAuthentication(t *testing.T) {
	_, k, url := newTestServer(t, nil)
	other := NewKey("other")
	good := jwt.MapClaims{"iss": k.ServiceID, "iat": epoch.Unix()}
	tests := []struct {
		name     string
		auth     string
		wantCode int
		wantMsg  string
	}{
		{name: "valid", auth: "Bearer " + token(t, jwt.SigningMethodHS256, good, k.Secret), wantCode: 200},
		{name: "iat 30s old is still fine", auth: "Bearer " + token(t, jwt.SigningMethodHS256, jwt.MapClaims{"iss": k.ServiceID, "iat": epoch.Unix() - 30}, k.Secret), wantCode: 200},
		{name: "no header", wantCode: 401, wantMsg: "Unauthorized: authentication token must be provided"},
		{name: "not bearer", auth: "Token abc", wantCode: 401, wantMsg: "Unauthorized: authentication bearer scheme must be used"},
		{name: "garbage token", auth: "Bearer not.a.jwt", wantCode: 403, wantMsg: "Invalid token: signature, api token is not valid"},
		{name: "no iss", auth: "Bearer " + token(t, jwt.SigningMethodHS256, jwt.MapClaims{"iat": epoch.Unix()}, k.Secret), wantCode: 403, wantMsg: "Invalid token: iss field not provided"},
		{name: "iss not a uuid", auth: "Bearer " + token(t, jwt.SigningMethodHS256, jwt.MapClaims{"iss": "gemeente", "iat": epoch.Unix()}, k.Secret), wantCode: 403, wantMsg: "Invalid token: service id is not the right data type"},
		{name: "unknown service", auth: "Bearer " + token(t, jwt.SigningMethodHS256, jwt.MapClaims{"iss": other.ServiceID, "iat": epoch.Unix()}, other.Secret), wantCode: 403, wantMsg: "Invalid token: service not found"},
		{name: "wrong secret", auth: "Bearer " + token(t, jwt.SigningMethodHS256, good, other.Secret), wantCode: 403, wantMsg: "Invalid token: API key not found"},
		{name: "no iat", auth: "Bearer " + token(t, jwt.SigningMethodHS256, jwt.MapClaims{"iss": k.ServiceID}, k.Secret), wantCode: 403, wantMsg: "Invalid token: API key not found"},
		{name: "HS512", auth: "Bearer " + token(t, jwt.SigningMethodHS512, good, k.Secret), wantCode: 403, wantMsg: "Invalid token: algorithm used is not HS256"},
		{name: "iat 31s in the past", auth: "Bearer " + token(t, jwt.SigningMethodHS256, jwt.MapClaims{"iss": k.ServiceID, "iat": epoch.Unix() - 31}, k.Secret), wantCode: 403, wantMsg: "Error: Your system clock must be accurate to within 30 seconds"},
		{name: "iat 31s in the future", auth: "Bearer " + token(t, jwt.SigningMethodHS256, jwt.MapClaims{"iss": k.ServiceID, "iat": epoch.Unix() + 31}, k.Secret), wantCode: 403, wantMsg: "Error: Your system clock must be accurate to within 30 seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, http.MethodGet, url+"/v2/notifications", tt.auth, "")
			if code != tt.wantCode {
				t.Fatalf("code = %d, want %d (%v)", code, tt.wantCode, body)
			}
			if tt.wantMsg == "" {
				return
			}
			kind, msg := firstError(body)
			if kind != "AuthError" || msg != tt.wantMsg || body["status_code"] != float64(tt.wantCode) {
				t.Fatalf("body = %v, want AuthError %q", body, tt.wantMsg)
			}
		})
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The documented request must yield the documented answer.
func TestSpecExampleEmail(t *testing.T) {
	s, k, url := newTestServer(t, nil)
	auth := "Bearer " + token(t, jwt.SigningMethodHS256, jwt.MapClaims{"iss": k.ServiceID, "iat": epoch.Unix()}, k.Secret)
	code, got := do(t, http.MethodPost, url+"/v2/notifications/email", auth, string(readTestdata(t, "POST_v2_notifications_email.request.json")))
	if code != http.StatusCreated {
		t.Fatalf("code %d: %v", code, got)
	}
	var want map[string]any
	if err := json.Unmarshal(readTestdata(t, "POST_v2_notifications_email.response-201.json"), &want); err != nil {
		t.Fatal(err)
	}
	if keysOf(got) != keysOf(want) {
		t.Fatalf("fields %s, spec has %s", keysOf(got), keysOf(want))
	}
	gc, wc := got["content"].(map[string]any), want["content"].(map[string]any)
	for _, f := range []string{"subject", "body", "from_email", "one_click_unsubscribe_url"} {
		if gc[f] != wc[f] {
			t.Errorf("content.%s = %q, want %q", f, gc[f], wc[f])
		}
	}
	gt, wt := got["template"].(map[string]any), want["template"].(map[string]any)
	if gt["id"] != wt["id"] || gt["version"] != wt["version"] || !strings.HasSuffix(gt["uri"].(string), "/v2/template/"+pigeonTemplate) {
		t.Errorf("template = %v, want %v", gt, wt)
	}
	if got["reference"] != want["reference"] || got["scheduled_for"] != nil || got["uri"] != url+"/v2/notifications/"+got["id"].(string) {
		t.Errorf("answer %v", got)
	}
	sent := s.Sent()
	if len(sent) != 1 || sent[0].ID != got["id"] || sent[0].To != "amala@example.com" || sent[0].ReplyToID != "8e222534-7f05-4972-86e3-17c5d9f894e2" || sent[0].Status != StatusCreated {
		t.Fatalf("recorded %+v", sent)
	}
}

func keysOf(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

func TestSendValidation(t *testing.T) {
	_, k, url := newTestServer(t, nil)
	auth := "Bearer " + token(t, jwt.SigningMethodHS256, jwt.MapClaims{"iss": k.ServiceID, "iat": epoch.Unix()}, k.Secret)
	const sms = "f33517ff-2a88-4f6e-b855-c550268ce08a"
	pers := `"personalisation": {"first_name": "Amala", "appointment_date": "morgen", "required_documents": ["paspoort"]}`
	tests := []struct {
		name, path, body string
		wantCode         int
		wantKind         string
		wantMsg          string
	}{
		{name: "email ok", path: "email", body: `{"email_address": "inwoner@example.nl", "template_id": "` + pigeonTemplate + `", ` + pers + `}`, wantCode: 201},
		{name: "sms dutch mobile", path: "sms", body: `{"phone_number": "06 1234 5678", "template_id": "` + sms + `", ` + pers + `}`, wantCode: 201},
		{name: "sms +31", path: "sms", body: `{"phone_number": "+31612345678", "template_id": "` + sms + `", ` + pers + `}`, wantCode: 201},
		{name: "sms uk", path: "sms", body: `{"phone_number": "+447900900123", "template_id": "` + sms + `", ` + pers + `}`, wantCode: 201},
		{name: "not json", path: "email", body: `nope`, wantCode: 400, wantKind: "ValidationError", wantMsg: "Invalid JSON supplied in POST data"},
		{name: "email missing", path: "email", body: `{"template_id": "` + pigeonTemplate + `"}`, wantCode: 400, wantKind: "ValidationError", wantMsg: "email_address is a required property"},
		{name: "template missing", path: "email", body: `{"email_address": "inwoner@example.nl"}`, wantCode: 400, wantKind: "ValidationError", wantMsg: "template_id is a required property"},
		{name: "template not uuid", path: "email", body: `{"email_address": "inwoner@example.nl", "template_id": "zaak-status"}`, wantCode: 400, wantKind: "ValidationError", wantMsg: "template_id is not a valid UUID"},
		{name: "bad email", path: "email", body: `{"email_address": "inwoner@example", "template_id": "` + pigeonTemplate + `"}`, wantCode: 400, wantKind: "ValidationError", wantMsg: "email_address Not a valid email address"},
		{name: "unknown field", path: "email", body: `{"email_address": "inwoner@example.nl", "template_id": "` + pigeonTemplate + `", "bsn": "999993653"}`, wantCode: 400, wantKind: "ValidationError", wantMsg: "Additional properties are not allowed (bsn was unexpected)"},
		{name: "phone too many digits", path: "sms", body: `{"phone_number": "+3161234567890", "template_id": "` + sms + `"}`, wantCode: 400, wantKind: "ValidationError", wantMsg: "phone_number Too many digits"},
		{name: "phone letters", path: "sms", body: `{"phone_number": "06-abc", "template_id": "` + sms + `"}`, wantCode: 400, wantKind: "ValidationError", wantMsg: "phone_number Must not contain letters or symbols"},
		{name: "phone landline", path: "sms", body: `{"phone_number": "0201234567", "template_id": "` + sms + `"}`, wantCode: 400, wantKind: "ValidationError", wantMsg: "phone_number Not a UK mobile number"},
		{name: "phone prefix", path: "sms", body: `{"phone_number": "+8001234567", "template_id": "` + sms + `"}`, wantCode: 400, wantKind: "ValidationError", wantMsg: "phone_number Not a valid country prefix"},
		{name: "unknown template", path: "email", body: `{"email_address": "inwoner@example.nl", "template_id": "11111111-2222-3333-4444-555555555555"}`, wantCode: 400, wantKind: "BadRequestError", wantMsg: "Template not found"},
		{name: "wrong template type", path: "email", body: `{"email_address": "inwoner@example.nl", "template_id": "` + sms + `", ` + pers + `}`, wantCode: 400, wantKind: "BadRequestError", wantMsg: "sms template is not suitable for email notification"},
		{name: "missing personalisation", path: "email", body: `{"email_address": "inwoner@example.nl", "template_id": "` + pigeonTemplate + `"}`, wantCode: 400, wantKind: "BadRequestError", wantMsg: "Missing personalisation: appointment_date, first_name, required_documents"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, http.MethodPost, url+"/v2/notifications/"+tt.path, auth, tt.body)
			if code != tt.wantCode {
				t.Fatalf("code = %d, want %d (%v)", code, tt.wantCode, body)
			}
			if tt.wantMsg == "" {
				return
			}
			kind, msg := firstError(body)
			if kind != tt.wantKind || msg != tt.wantMsg || body["status_code"] != float64(400) {
				t.Fatalf("got %s %q, want %s %q", kind, msg, tt.wantKind, tt.wantMsg)
			}
		})
	}
}

func TestLookups(t *testing.T) {
	s, k, url := newTestServer(t, nil)
	other := NewKey("other")
	s.services[other.ServiceID] = []Key{other} // a second service on the same fake
	auth := func(k Key) string {
		return "Bearer " + token(t, jwt.SigningMethodHS256, jwt.MapClaims{"iss": k.ServiceID, "iat": epoch.Unix()}, k.Secret)
	}
	send := func(k Key, ref string) string {
		body := fmt.Sprintf(`{"email_address": "inwoner@example.nl", "template_id": %q, "reference": %q, "personalisation": {"first_name": "a", "appointment_date": "b", "required_documents": "c"}}`, pigeonTemplate, ref)
		code, got := do(t, http.MethodPost, url+"/v2/notifications/email", auth(k), body)
		if code != 201 {
			t.Fatalf("send: %d %v", code, got)
		}
		return got["id"].(string)
	}
	a := send(k, "ref-a")
	send(k, "ref-b")
	send(other, "ref-a")

	code, list := do(t, http.MethodGet, url+"/v2/notifications?reference=ref-a&template_type=email", auth(k), "")
	ns, _ := list["notifications"].([]any)
	if code != 200 || len(ns) != 1 || ns[0].(map[string]any)["id"] != a {
		t.Fatalf("by reference: %d %v", code, list)
	}
	n := ns[0].(map[string]any)
	if n["email_address"] != "inwoner@example.nl" || n["type"] != "email" || n["status"] != "created" || n["phone_number"] != nil || n["created_at"] != "2026-11-29T12:00:00.000000Z" {
		t.Fatalf("notification view %v", n)
	}
	if links := list["links"].(map[string]any); !strings.HasSuffix(links["current"].(string), "/v2/notifications?reference=ref-a&template_type=email") {
		t.Fatalf("links %v", links)
	}
	if code, list := do(t, http.MethodGet, url+"/v2/notifications?template_type=sms", auth(k), ""); code != 200 || len(list["notifications"].([]any)) != 0 {
		t.Fatalf("sms filter: %d %v", code, list)
	}
	if code, body := do(t, http.MethodGet, url+"/v2/notifications?template_type=Apple", auth(k), ""); code != 400 {
		t.Fatalf("bad template_type: %d %v", code, body)
	} else if _, msg := firstError(body); msg != "'Apple' is not one of [sms, email, letter]" {
		t.Fatalf("message %q", msg)
	}
	if code, body := do(t, http.MethodGet, url+"/v2/notifications/"+a, auth(k), ""); code != 200 || body["id"] != a || body["subject"] != "Your upcoming pigeon registration appointment" {
		t.Fatalf("get by id: %d %v", code, body)
	}
	if code, body := do(t, http.MethodGet, url+"/v2/notifications/"+a, auth(other), ""); code != 404 {
		t.Fatalf("another service's notification must be invisible: %d %v", code, body)
	} else if kind, msg := firstError(body); kind != "NoResultFound" || msg != "No result found" {
		t.Fatalf("404 body %v", body)
	}
	if code, body := do(t, http.MethodGet, url+"/v2/notifications/nope", auth(k), ""); code != 400 {
		t.Fatalf("invalid id: %d %v", code, body)
	}
}

// Delivery receipts are posted with the bearer token, in the documented
// shape, retried when the receiver fails, and chosen by recipient rules.
func TestCallbacks(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	var auths []string
	fails := 1
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		auths = append(auths, r.Header.Get("Authorization"))
		if fails > 0 {
			fails--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		got = append(got, m)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	s, k, url := newTestServer(t, func(o *Options) {
		o.CallbackURL, o.CallbackToken, o.AutoStatus = recv.URL, "cb-token", true
		o.CallbackRetryWait = time.Millisecond
	})
	auth := "Bearer " + token(t, jwt.SigningMethodHS256, jwt.MapClaims{"iss": k.ServiceID, "iat": epoch.Unix()}, k.Secret)
	body := `{"email_address": "Inwoner@Bounce.Example", "template_id": "` + pigeonTemplate + `", "reference": "d-1", "personalisation": {"first_name": "a", "appointment_date": "b", "required_documents": "c"}}`
	if code, b := do(t, http.MethodPost, url+"/v2/notifications/email", auth, body); code != 201 {
		t.Fatalf("send: %d %v", code, b)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no callback delivered; attempts %+v", s.Callbacks())
		}
		time.Sleep(2 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	var want map[string]any
	if err := json.Unmarshal(readTestdata(t, "callback.delivery-receipt.constructed.json"), &want); err != nil {
		t.Fatal(err)
	}
	cb := got[0]
	if keysOf(cb) != keysOf(want) {
		t.Fatalf("callback fields %s, documented %s", keysOf(cb), keysOf(want))
	}
	if cb["status"] != StatusPermanentFailure || cb["reference"] != "d-1" || cb["notification_type"] != "email" || cb["template_version"] != float64(1) {
		t.Fatalf("callback %v", cb)
	}
	if len(auths) != 2 || auths[0] != "Bearer cb-token" || auths[1] != "Bearer cb-token" {
		t.Fatalf("callback attempts with %v, want two with the bearer token", auths)
	}
	if s.Sent()[0].Status != StatusPermanentFailure {
		t.Fatalf("status not recorded: %+v", s.Sent()[0])
	}
	if err := s.DeliverStatus("no-such-id", StatusDelivered); err == nil {
		t.Fatal("DeliverStatus of an unknown id must fail")
	}
	if err := s.DeliverStatus(s.Sent()[0].ID, "elephant"); err == nil {
		t.Fatal("DeliverStatus with an unknown status must fail")
	}
}

func TestFinalStatusRules(t *testing.T) {
	s := NewServer(Options{StatusRules: map[string]string{"@bounce.example": StatusPermanentFailure, "vip@bounce.example": StatusDelivered, "+31612345678": StatusTemporaryFailure}})
	for to, want := range map[string]string{
		"a@bounce.example":   StatusPermanentFailure,
		"vip@bounce.example": StatusDelivered,
		"a@example.nl":       StatusDelivered,
		"+31612345678":       StatusTemporaryFailure,
	} {
		if got := s.finalStatus(to); got != want {
			t.Errorf("finalStatus(%s) = %s, want %s", to, got, want)
		}
	}
}

func TestDefaultStatusRules(t *testing.T) {
	s := NewServer(Options{})
	for to, want := range map[string]string{
		"inwoner@bounce.example": StatusPermanentFailure,
		"+31600000000":           StatusPermanentFailure,
		"+31612345678":           StatusDelivered,
		"inwoner@example.nl":     StatusDelivered,
	} {
		if got := s.finalStatus(to); got != want {
			t.Errorf("finalStatus(%s) = %s, want %s", to, got, want)
		}
	}
}

// Faults added while the server runs apply to the next request.
func TestFaultsAtRuntime(t *testing.T) {
	s, k, url := newTestServer(t, nil)
	s.Faults().Add(ServerErrorFault(1))
	auth := "Bearer " + token(t, jwt.SigningMethodHS256, jwt.MapClaims{"iss": k.ServiceID, "iat": epoch.Unix()}, k.Secret)
	code, body := do(t, http.MethodGet, url+"/v2/notifications", auth, "")
	if kind, msg := firstError(body); code != 500 || kind != "Exception" || msg != "Internal server error" {
		t.Fatalf("first request: %d %v", code, body)
	}
	if code, _ := do(t, http.MethodGet, url+"/v2/notifications", auth, ""); code != 200 {
		t.Fatalf("second request: %d", code)
	}
}

// Sent, Requests and sending must be safe for concurrent use (go test -race).
func TestConcurrentSends(t *testing.T) {
	s, k, url := newTestServer(t, nil)
	const n = 40
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			auth := "Bearer " + token(t, jwt.SigningMethodHS256, jwt.MapClaims{"iss": k.ServiceID, "iat": epoch.Unix()}, k.Secret)
			body := fmt.Sprintf(`{"email_address": "inwoner%d@example.nl", "template_id": %q, "personalisation": {"first_name": "a", "appointment_date": "b", "required_documents": "c"}}`, i, pigeonTemplate)
			req, _ := http.NewRequest(http.MethodPost, url+"/v2/notifications/email", bytes.NewBufferString(body))
			req.Header.Set("Authorization", auth)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			_ = s.Sent()
		}(i)
	}
	wg.Wait()
	if got := len(s.Sent()); got != n {
		t.Fatalf("sent %d, want %d", got, n)
	}
	if got := len(s.Requests()); got != n {
		t.Fatalf("requests %d, want %d", got, n)
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		text    string
		pers    map[string]any
		want    string
		missing []string
	}{
		{text: "Beste ((naam)), zaak ((Zaak Nummer))", pers: map[string]any{"naam": "Jan", "zaaknummer": "Z-1"}, want: "Beste Jan, zaak Z-1"},
		{text: "Lijst:((items))", pers: map[string]any{"items": []any{"a", "b"}}, want: "Lijst:\n\n* a\n* b"},
		{text: "((toon??Zichtbaar))((verberg??Onzichtbaar))", pers: map[string]any{"toon": "ja", "verberg": false}, want: "Zichtbaar"},
		{text: "((a)) ((b)) ((a))", pers: nil, want: "((a)) ((b)) ((a))", missing: []string{"a", "b"}},
		{text: "aantal ((n))", pers: map[string]any{"n": float64(3)}, want: "aantal 3"},
	}
	for _, tt := range tests {
		got, missing := render(tt.text, tt.pers)
		if got != tt.want || strings.Join(missing, ",") != strings.Join(tt.missing, ",") {
			t.Errorf("render(%q) = %q missing %v, want %q missing %v", tt.text, got, missing, tt.want, tt.missing)
		}
	}
}

func TestParseKey(t *testing.T) {
	k := NewKey("gemeente-x-live")
	got, err := ParseKey(k.String())
	if err != nil || got != k {
		t.Fatalf("ParseKey(%s) = %+v, %v", k, got, err)
	}
	for _, bad := range []string{"", "short", k.ServiceID + "-" + k.Secret, "n-" + k.ServiceID + "-" + strings.Repeat("x", 36)} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted a malformed key", bad)
		}
	}
}

// RateLimit counts a key's requests per 60 seconds of the fake's clock.
func TestRateLimit(t *testing.T) {
	now := epoch
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	_, k, url := newTestServer(t, func(o *Options) { o.RateLimit = 2; o.Now = clock })
	get := func() (int, map[string]any) {
		auth := "Bearer " + token(t, jwt.SigningMethodHS256, jwt.MapClaims{"iss": k.ServiceID, "iat": clock().Unix()}, k.Secret)
		return do(t, http.MethodGet, url+"/v2/notifications", auth, "")
	}
	for i, want := range []int{200, 200, 429} {
		code, body := get()
		if code != want {
			t.Fatalf("request %d: code %d, want %d", i, code, want)
		}
		if code == 429 {
			if kind, msg := firstError(body); kind != "RateLimitError" || msg != "Exceeded rate limit for key type LIVE of 2 requests per 60 seconds" {
				t.Fatalf("429 body %v", body)
			}
		}
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if code, _ := get(); code != 200 {
		t.Fatalf("after a minute: code %d, want 200", code)
	}
}
