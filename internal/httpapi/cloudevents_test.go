package httpapi

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mijnservices/koerier/internal/event"
)

func TestCloudEventsMapping(t *testing.T) {
	statusURL := "https://openzaak.gemeente.example/zaken/api/v1/statussen/0c5f8e2d-3b7a-4c1e-9f2a-8d6b4e1a7c33"
	plain, err := ParseNotification(readTestdata(t, "status-created.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file        string
		wantNotif   bool
		wantSameID  bool // same dedup key as the plain status-created notification
		wantKenmerk string
	}{
		{file: "open-notificaties-status-create.json", wantNotif: true, wantSameID: true, wantKenmerk: "002220647"},
		{file: "open-notificaties-legacy-data-string.json", wantNotif: true, wantSameID: true, wantKenmerk: "002220647"},
		{file: "nl-gov-profile-external.json"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			h := newHarness(t, nil)
			body := readTestdata(t, filepath.Join("cloudevents", tt.file))
			rec := h.do("POST", "/api/v1/cloudevents", testToken, MediaCloudEvent, body)
			if rec.Code != 204 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			got := h.published(t)
			if len(got) != 1 || got[0].Source != event.SourceCloudEvents {
				t.Fatalf("published %+v", got)
			}
			in := got[0]
			if !tt.wantNotif {
				ext := in.External
				if ext == nil || ext.Subject.Kind != event.KindInwoner || ext.Subject.BSN != "999993653" ||
					ext.Type != "nl.overheid.belastingen.aanslag-opgelegd" || ext.Zaak != "ZAAK-2025-0001" ||
					ext.Personalisation["termijnen"] != "10" || ext.IdempotencyKey != "f3dce042-cd6e-4977-844d-05be8dce7cea" {
					t.Fatalf("external = %+v", ext)
				}
				return
			}
			n := in.Notification
			if n == nil || n.ResourceURL != statusURL || n.Kanaal != "zaken" || n.Resource != "status" || n.Actie != "create" {
				t.Fatalf("notification = %+v", n)
			}
			if n.Kenmerken["bronorganisatie"] != tt.wantKenmerk {
				t.Errorf("kenmerken = %v", n.Kenmerken)
			}
			if tt.wantSameID && in.ID != NotificationID(plain) {
				t.Error("the notification as CloudEvent has another dedup key than the plain notification")
			}
		})
	}
}

func TestCloudEventsModes(t *testing.T) {
	one := string(readTestdata(t, filepath.Join("cloudevents", "nl-gov-profile-external.json")))
	two := strings.Replace(one, "f3dce042-cd6e-4977-844d-05be8dce7cea", "another-id", 1)
	tests := []struct {
		name        string
		auth        string
		contentType string
		headers     map[string]string
		body        string
		want        int
		wantPublish int
		wantParams  []string
	}{
		{name: "no authorization", contentType: MediaCloudEvent, body: one, want: 401},
		{name: "wrong authorization", auth: "Bearer nope", contentType: MediaCloudEvent, body: one, want: 403},
		{name: "source token", auth: "Token belasting-token", contentType: MediaCloudEvent, body: one, want: 204, wantPublish: 1},
		{name: "charset parameter", auth: testToken, contentType: MediaCloudEvent + "; charset=utf-8", body: one, want: 204, wantPublish: 1},
		{name: "batch", auth: testToken, contentType: MediaCloudEventBatch, body: "[" + one + "," + two + "]", want: 204, wantPublish: 2},
		{name: "batch with one bad event publishes none", auth: testToken, contentType: MediaCloudEventBatch, body: "[" + one + `,{"specversion":"1.0"}]`, want: 400, wantParams: []string{"[1].id", "[1].source", "[1].type"}},
		{name: "binary mode", auth: testToken, contentType: "application/json",
			headers: map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "b-1", "Ce-Source": "urn:x", "Ce-Type": "extern.binair"},
			body:    `{"subject":{"kvk":"12345678"}}`, want: 204, wantPublish: 1},
		{name: "binary mode without type", auth: testToken, contentType: "application/json",
			headers: map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "b-1", "Ce-Source": "urn:x"},
			body:    `{"subject":{"kvk":"12345678"}}`, want: 400, wantParams: []string{"ce-type"}},
		{name: "specversion 0.3", auth: testToken, contentType: MediaCloudEvent, body: strings.Replace(one, `"1.0"`, `"0.3"`, 1), want: 400, wantParams: []string{"specversion"}},
		{name: "no subject in data", auth: testToken, contentType: MediaCloudEvent, body: `{"specversion":"1.0","id":"1","source":"s","type":"extern.x","data":{}}`, want: 400, wantParams: []string{"data.subject"}},
		{name: "zgw type without resource url", auth: testToken, contentType: MediaCloudEvent,
			body: `{"specversion":"1.0","id":"1","source":"s","type":"nl.overheid.zaken.onbekend.create","time":"2025-01-01T12:00:00Z","data":{"hoofdObject":"https://oz.example/zaken/api/v1/zaken/1"}}`,
			want: 400, wantParams: []string{"dataref"}},
		{name: "xml", auth: testToken, contentType: "application/xml", body: "<x/>", want: 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			rec := h.doHeaders("POST", "/api/v1/cloudevents", tt.auth, tt.contentType, tt.headers, []byte(tt.body))
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.wantParams != nil {
				p := decodeProblem(t, rec)
				var names []string
				for _, ip := range p.InvalidParams {
					names = append(names, ip.Name)
				}
				if strings.Join(names, ",") != strings.Join(tt.wantParams, ",") {
					t.Fatalf("invalidParams = %v, want %v", names, tt.wantParams)
				}
			}
			if n := len(h.published(t)); n != tt.wantPublish {
				t.Fatalf("published %d, want %d", n, tt.wantPublish)
			}
		})
	}
}

func TestRebuildResourceURL(t *testing.T) {
	zaak := "https://oz.example/zaken/api/v1/zaken/6b41"
	tests := []struct{ hoofd, resource, subject, want string }{
		{zaak, "status", "0c5f", "https://oz.example/zaken/api/v1/statussen/0c5f"},
		{zaak, "zaak", "6b41", zaak},
		{zaak, "zaak", "", zaak},
		{zaak, "resultaat", "5e0b", "https://oz.example/zaken/api/v1/resultaten/5e0b"},
		{"https://objecten.example/api/v2/objects/6362", "object", "6362", "https://objecten.example/api/v2/objects/6362"},
		{zaak, "status", "", ""},
		{zaak, "onbekend", "1", ""},
		{zaak, "status", "../x", ""},
		{"not a url", "status", "1", ""},
	}
	for _, tt := range tests {
		if got := rebuildResourceURL(tt.hoofd, tt.resource, tt.subject); got != tt.want {
			t.Errorf("rebuildResourceURL(%s, %s, %s) = %q, want %q", tt.hoofd, tt.resource, tt.subject, got, tt.want)
		}
	}
}

// FuzzParseCloudEvent checks that no body makes parsing or mapping panic,
// and that whatever maps to an Inbound can be put on the bus.
func FuzzParseCloudEvent(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "cloudevents", "*.json"))
	for _, file := range files {
		f.Add(readTestdata(f, strings.TrimPrefix(file, "testdata/")))
	}
	for _, b := range seedNotifications(f) {
		f.Add([]byte(`{"specversion":"1.0","id":"x","source":"s","type":"nl.overheid.zaken.status.create","data":` + string(b) + `}`))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ce, err := ParseCloudEvent(body)
		if err != nil {
			return
		}
		if ce.ID == "" || ce.Source == "" || ce.Type == "" || !strings.HasPrefix(ce.SpecVersion, "1.") {
			t.Fatalf("accepted an incomplete CloudEvent %+v", ce)
		}
		in, err := MapCloudEvent(ce, "", fixedNow)
		if err != nil {
			var verr *ValidationError
			if !asValidation(err, &verr) {
				t.Fatalf("mapping error %v is not a ValidationError", err)
			}
			return
		}
		if (in.Notification == nil) == (in.External == nil) || len(in.ID) != 64 {
			t.Fatalf("inbound must have exactly one of notification and external and a dedup id: %+v", in)
		}
		if _, err := json.Marshal(in); err != nil {
			t.Fatalf("inbound cannot go on the bus: %v", err)
		}
	})
}

func asValidation(err error, target **ValidationError) bool {
	v, ok := err.(*ValidationError)
	*target = v
	return ok && len(v.Params) > 0
}
