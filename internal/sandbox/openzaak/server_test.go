package openzaak

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mijnservices/koerier/internal/clock"
)

const secret = "fake-test-secret-fake-test-secret-0123"

func token(t *testing.T, clientID, key string) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": clientID, "iat": clock.System().Unix(), "client_id": clientID, "user_id": clientID, "user_representation": "test",
	}).SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newServer(t *testing.T) (*Server, *httptest.Server, Demo) {
	t.Helper()
	s := New("", map[string]string{"koerier": secret})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	s.SetBaseURL(ts.URL)
	return s, ts, SeedDemo(s)
}

func get(t *testing.T, rawURL, auth string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func TestAuth(t *testing.T) {
	s, _, d := newServer(t)
	tests := []struct {
		name, auth string
		want       int
	}{
		{"no token", "", 401},
		{"not bearer", "Token abc", 401},
		{"wrong secret", "Bearer " + token(t, "koerier", "another-secret-another-secret-0123"), 403},
		{"unknown client", "Bearer " + token(t, "someone", secret), 403},
		{"good", "Bearer " + token(t, "koerier", secret), 200},
	}
	for _, tt := range tests {
		if got := get(t, d.ZaakInwoner.URL, tt.auth, nil); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	if n := len(s.Requests()); n != len(tests) {
		t.Errorf("recorded %d requests, want %d", n, len(tests))
	}
}

func TestComputedFieldsAndFilters(t *testing.T) {
	s, _, d := newServer(t)
	auth := "Bearer " + token(t, "koerier", secret)
	var st StatusType
	get(t, d.Statustypen[3].URL, auth, &st)
	if !st.IsEindstatus {
		t.Errorf("statustype 4 isEindstatus false")
	}
	get(t, d.Statustypen[2].URL, auth, &st)
	if st.IsEindstatus || st.Informeren == nil || *st.Informeren {
		t.Errorf("statustype 3: %+v", st)
	}
	eind, res := s.CloseZaak(d.ZaakInwoner.URL, d.Statustypen[3], d.Resultaattype, time.Date(2025, 4, 2, 14, 30, 3, 0, time.UTC))
	var z Zaak
	get(t, d.ZaakInwoner.URL, auth, &z)
	if z.Status == nil || *z.Status != eind.URL || z.Resultaat == nil || *z.Resultaat != res.URL || z.Einddatum == nil || *z.Einddatum != "2025-04-02" || len(z.Rollen) != 2 {
		t.Errorf("zaak computed fields: %+v", z)
	}
	var page struct {
		Count   int    `json:"count"`
		Next    string `json:"next"`
		Results []Rol  `json:"results"`
	}
	get(t, s.ZakenRoot()+"/rollen?zaak="+d.ZaakInwoner.URL+"&omschrijvingGeneriek=initiator", auth, &page)
	if page.Count != 1 || page.Results[0].BetrokkeneIdentificatie["inpBsn"] != DemoBSNJansen {
		t.Errorf("rollen filter: %+v", page)
	}
	s.PageSize = 1
	get(t, s.ZakenRoot()+"/rollen", auth, &page)
	if page.Count != 3 || len(page.Results) != 1 || page.Next == "" {
		t.Errorf("page 1: %+v", page)
	}
	get(t, page.Next, auth, &page)
	if len(page.Results) != 1 || page.Next == "" {
		t.Errorf("page 2: %+v", page)
	}
	if code := get(t, s.ZakenRoot()+"/zaken/00000000-0000-4000-8000-000000000000", auth, nil); code != 404 {
		t.Errorf("unknown zaak: %d", code)
	}
}

func TestNotificationLikeOpenZaak(t *testing.T) {
	s, _, d := newServer(t)
	at := time.Date(2025, 3, 15, 10, 1, 7, 0, time.UTC)
	n := s.Notification("create", s.ZakenRoot()+"/statussen/"+ExampleStatusUUID, at)
	if n.Kanaal != "zaken" || n.Resource != "status" || n.HoofdObject != d.ZaakInwoner.URL || n.Kenmerken["zaaktype"] != d.Zaaktype.URL ||
		n.Kenmerken["bronorganisatie"] != "002220647" || n.Kenmerken["vertrouwelijkheidaanduiding"] != "openbaar" || n.Kenmerken["zaaktype.catalogus"] == "" {
		t.Errorf("status notification %+v", n)
	}
	n = s.Notification("create", d.BesluitIO.URL, at)
	if n.Kanaal != "besluiten" || n.Resource != "besluitinformatieobject" || n.HoofdObject != d.Besluit.URL || n.Kenmerken["besluittype"] != d.Besluittype.URL {
		t.Errorf("besluitinformatieobject notification %+v", n)
	}
}
