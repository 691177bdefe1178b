package brp

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestValidation(t *testing.T) {
	s := NewServer(Options{})
	s.SeedDemo()
	ts := httptest.NewServer(s)
	defer ts.Close()
	cases := []struct {
		name, key, ctype, body string
		want                   int
	}{
		{"ok", DefaultAPIKey, "application/json; charset=utf-8", `{"type":"RaadpleegMetBurgerservicenummer","burgerservicenummer":["999993653"],"fields":["adressering"]}`, 200},
		{"no key", "", "application/json", `{}`, 401},
		{"not json", DefaultAPIKey, "text/plain", `x`, 415},
		{"auto-delivered field", DefaultAPIKey, "application/json", `{"type":"RaadpleegMetBurgerservicenummer","burgerservicenummer":["999993653"],"fields":["opschortingBijhouding"]}`, 400},
		{"no fields", DefaultAPIKey, "application/json", `{"type":"RaadpleegMetBurgerservicenummer","burgerservicenummer":["999993653"]}`, 400},
		{"unknown field", DefaultAPIKey, "application/json", `{"type":"RaadpleegMetBurgerservicenummer","burgerservicenummer":["999993653"],"fields":["schoenmaat"]}`, 400},
		{"bad bsn", DefaultAPIKey, "application/json", `{"type":"RaadpleegMetBurgerservicenummer","burgerservicenummer":["12345"],"fields":["naam"]}`, 400},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/haalcentraal/api/brp/personen", strings.NewReader(c.body))
		req.Header.Set("Content-Type", c.ctype)
		if c.key != "" {
			req.Header.Set("X-API-KEY", c.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
}

func TestPersoonFieldsMatchSpec(t *testing.T) {
	raw, err := os.ReadFile("testdata/brp-personen-bevragen-v2.resolved.openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `yaml:"properties"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	props := spec.Components.Schemas["Persoon"].Properties
	if len(props) == 0 {
		t.Fatal("no Persoon properties in the spec")
	}
	for p := range props {
		if !persoonFields[p] && !isAutoDelivered(p) {
			t.Errorf("spec field %q unknown to the fake", p)
		}
	}
	for p := range persoonFields {
		if _, ok := props[p]; !ok {
			t.Errorf("fake field %q not in the spec", p)
		}
	}
}
