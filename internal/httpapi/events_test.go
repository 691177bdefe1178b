package httpapi

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/event"
)

func TestValidBSN(t *testing.T) {
	for _, ok := range []string{"999993653", "999990627", "999991103", "999991139", "999991164", "999991206"} {
		if !ValidBSN(ok) {
			t.Errorf("ValidBSN(%s) = false, want true", ok)
		}
	}
	for _, bad := range []string{"999993654", "000000000", "99999365", "9999936530", "99999365a", ""} {
		if ValidBSN(bad) {
			t.Errorf("ValidBSN(%q) = true, want false", bad)
		}
	}
}

func TestEvents(t *testing.T) {
	const srcToken = "Token belasting-token"
	valid := `{"type":"extern.aanslag_opgelegd","subject":{"bsn":"999993653"},"zaak":"ZAAK-1","personalisation":{"bedrag":"12,50"},"idempotencyKey":"aanslag-1","occurredAt":"2025-03-15T11:01:07+01:00"}`
	tests := []struct {
		name       string
		auth       string
		body       string
		want       int
		wantParams []string
		wantStatus string
	}{
		{name: "no authorization", body: valid, want: 401},
		{name: "abonnement token is not a source token", auth: testToken, body: valid, want: 403},
		{name: "accepted", auth: srcToken, body: valid, want: 202, wantStatus: "accepted"},
		{name: "bedrijf with vestiging", auth: srcToken, body: `{"type":"extern.vergunning","subject":{"kvk":"12345678","vestigingsnummer":"000012345678"},"idempotencyKey":"v-1"}`, want: 202, wantStatus: "accepted"},
		{name: "missing everything", auth: srcToken, body: `{}`, want: 400, wantParams: []string{"type", "subject", "idempotencyKey"}},
		{name: "bsn fails elfproef", auth: srcToken, body: strings.Replace(valid, "999993653", "999993654", 1), want: 400, wantParams: []string{"subject.bsn"}},
		{name: "bsn and kvk", auth: srcToken, body: strings.Replace(valid, `"bsn":"999993653"`, `"bsn":"999993653","kvk":"12345678"`, 1), want: 400, wantParams: []string{"subject"}},
		{name: "kvk too short", auth: srcToken, body: `{"type":"extern.x","subject":{"kvk":"1234567"},"idempotencyKey":"k"}`, want: 400, wantParams: []string{"subject.kvk"}},
		{name: "vestiging without kvk", auth: srcToken, body: `{"type":"extern.x","subject":{"vestigingsnummer":"000012345678"},"idempotencyKey":"k"}`, want: 400, wantParams: []string{"subject.kvk"}},
		{name: "bad type", auth: srcToken, body: strings.Replace(valid, "extern.aanslag_opgelegd", "Aanslag Opgelegd", 1), want: 400, wantParams: []string{"type"}},
		{name: "bad occurredAt", auth: srcToken, body: strings.Replace(valid, "2025-03-15T11:01:07+01:00", "morgen", 1), want: 400, wantParams: []string{"occurredAt"}},
		{name: "personalisation not strings", auth: srcToken, body: strings.Replace(valid, `"12,50"`, `12.5`, 1), want: 400, wantParams: []string{"nonFieldErrors"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			rec := h.do("POST", "/api/v1/events", tt.auth, "application/json", []byte(tt.body))
			if rec.Code != tt.want {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want >= 400 {
				p := decodeProblem(t, rec)
				if strings.Contains(rec.Body.String(), "99999365") {
					t.Fatal("problem echoes the BSN")
				}
				var names []string
				for _, ip := range p.InvalidParams {
					names = append(names, ip.Name)
				}
				if strings.Join(names, ",") != strings.Join(tt.wantParams, ",") {
					t.Fatalf("invalidParams = %v, want %v", names, tt.wantParams)
				}
				if n := len(h.published(t)); n != 0 {
					t.Fatalf("published %d for a refused request", n)
				}
				return
			}
			var resp AcceptedResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.Status != tt.wantStatus {
				t.Fatalf("response %s: %v", rec.Body, err)
			}
			got := h.published(t)
			if len(got) != 1 || got[0].ID != resp.ID || got[0].External == nil || got[0].Notification != nil || got[0].Source != event.SourceEvents {
				t.Fatalf("published %+v", got)
			}
			if got[0].External.SourceSystem != "belastingen" {
				t.Errorf("source system = %q", got[0].External.SourceSystem)
			}
		})
	}
}

func TestEventsDedupPerSource(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.SourceTokens = map[string]string{"belastingen": "Token b", "parkeren": "Token p"}
	})
	body := []byte(`{"type":"extern.x","subject":{"bsn":"999990627"},"idempotencyKey":"same-key","occurredAt":"2025-01-10T09:00:00"}`)
	steps := []struct {
		auth, want string
	}{{"Token b", "accepted"}, {"Token b", "duplicate"}, {"Token p", "accepted"}}
	for _, s := range steps {
		rec := h.do("POST", "/api/v1/events", s.auth, "application/json", body)
		var resp AcceptedResponse
		_ = json.Unmarshal(rec.Body.Bytes(), &resp)
		if rec.Code != 202 || resp.Status != s.want {
			t.Fatalf("%s: %d %s, want 202 %s", s.auth, rec.Code, rec.Body, s.want)
		}
	}
	got := h.published(t)
	if len(got) != 2 || got[0].ID == got[1].ID {
		t.Fatalf("published %d (ids must differ per source): %+v", len(got), got)
	}
	if want := time.Date(2025, 1, 10, 8, 0, 0, 0, time.UTC); !got[0].External.OccurredAt.Equal(want) {
		t.Errorf("occurredAt = %v, want %v", got[0].External.OccurredAt, want)
	}
	if got[0].ID != EventID("belastingen", "same-key") {
		t.Error("id is not sha256(source|idempotencyKey)")
	}
}

// The schema file documents the same contract ParseEvent enforces.
func TestEventsSchemaFile(t *testing.T) {
	b, err := os.ReadFile("events.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	if strings.Join(schema.Required, ",") != "type,subject,idempotencyKey" {
		t.Errorf("required = %v", schema.Required)
	}
	for _, f := range []string{"type", "subject", "zaak", "personalisation", "idempotencyKey", "occurredAt"} {
		if _, ok := schema.Properties[f]; !ok {
			t.Errorf("schema lacks %s", f)
		}
	}
	if len(schema.Properties) != 6 {
		t.Errorf("schema has %d properties, EventRequest has 6", len(schema.Properties))
	}
}
