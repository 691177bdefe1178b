package objecten

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestTokenAndRecordIndex(t *testing.T) {
	s := New("", "tok")
	ts := httptest.NewServer(s)
	defer ts.Close()
	s.SetBaseURL(ts.URL)
	u := s.Put("", "https://objecttypen.example/api/v2/objecttypes/taak", CommunityTaak("t", "open", "", "2025-04-10 17:00:00", "bsn", "999993653"))
	s.Put(u[len(u)-36:], "https://objecttypen.example/api/v2/objecttypes/taak", CommunityTaak("t", "afgerond", "", "2025-04-10 17:00:00", "bsn", "999993653"))
	for _, tt := range []struct {
		auth string
		want int
	}{{"", 401}, {"Token nope", 401}, {"Bearer tok", 401}, {"Token tok", 200}} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var o Object
		_ = json.NewDecoder(resp.Body).Decode(&o)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("auth %q: %d, want %d", tt.auth, resp.StatusCode, tt.want)
		}
		if resp.StatusCode == 200 && (o.Record.Index != 2 || o.URL != u) {
			t.Errorf("object %+v", o)
		}
	}
}
