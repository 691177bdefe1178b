package kvk

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestServe(t *testing.T) {
	s := NewServer(Options{})
	s.SeedDemo()
	ts := httptest.NewServer(s)
	defer ts.Close()
	cases := []struct {
		path, key string
		want      int
		code      string
	}{
		{"/api/v1/basisprofielen/" + DemoKVK, DefaultAPIKey, 200, ""},
		{"/test/api/v1/vestigingsprofielen/" + DemoVestiging, DefaultAPIKey, 200, ""},
		{"/api/v1/basisprofielen/" + DemoKVK, "", 401, ""},
		{"/api/v1/basisprofielen/12345678", DefaultAPIKey, 404, "IPD0005"},
		{"/api/v1/basisprofielen/123", DefaultAPIKey, 400, "IPD0004"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+c.path, nil)
		if c.key != "" {
			req.Header.Set("apikey", c.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Fout     []struct{ Code string } `json:"fout"`
			Embedded struct {
				Hoofdvestiging struct {
					Adressen []struct{ Type string } `json:"adressen"`
				} `json:"hoofdvestiging"`
			} `json:"_embedded"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d", c.path, resp.StatusCode, c.want)
		}
		if c.code != "" && (len(body.Fout) == 0 || body.Fout[0].Code != c.code) {
			t.Errorf("%s: fout %+v, want %s", c.path, body.Fout, c.code)
		}
		if c.want == 200 && c.path == "/api/v1/basisprofielen/"+DemoKVK && len(body.Embedded.Hoofdvestiging.Adressen) != 2 {
			t.Errorf("hoofdvestiging adressen: %+v", body.Embedded.Hoofdvestiging.Adressen)
		}
	}
}
