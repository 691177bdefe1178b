package openklant

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/mijnservices/koerier/internal/sandbox/fault"
)

func start(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	s := NewServer(Options{})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	s.SetBaseURL(ts.URL + "/klantinteracties/api/v1")
	s.SeedDemo()
	return s, ts
}

func get(t *testing.T, url, auth string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp, body
}

func TestAuth(t *testing.T) {
	s, _ := start(t)
	cases := []struct {
		auth string
		want int
	}{
		{"", 401},
		{"Token wrong", 401},
		{"Bearer " + DefaultToken, 401},
		{"Token " + DefaultToken, 200},
	}
	for _, c := range cases {
		resp, _ := get(t, s.BaseURL()+"/partijen", c.auth)
		if resp.StatusCode != c.want {
			t.Errorf("Authorization %q: status %d, want %d", c.auth, resp.StatusCode, c.want)
		}
	}
}

func TestFaults(t *testing.T) {
	s, _ := start(t)
	s.Faults.Add(fault.Rule{Status: 503, Times: 1})
	if resp, _ := get(t, s.BaseURL()+"/partijen", "Token "+DefaultToken); resp.StatusCode != 503 {
		t.Fatalf("status %d, want the injected 503", resp.StatusCode)
	}
	if resp, _ := get(t, s.BaseURL()+"/partijen", "Token "+DefaultToken); resp.StatusCode != 200 {
		t.Fatalf("status %d after the fault was used up, want 200", resp.StatusCode)
	}
}

// TestConformsToSpec checks the fake's answers against the required fields
// and enums of the published OpenAPI document.
func TestConformsToSpec(t *testing.T) {
	raw, err := os.ReadFile("testdata/klantinteracties-openklant2.openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Components struct {
			Schemas map[string]struct {
				Required []string `yaml:"required"`
				Enum     []string `yaml:"enum"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	schemas := spec.Components.Schemas
	requireFields := func(what string, obj map[string]any, schema string) {
		t.Helper()
		req := schemas[schema].Required
		if len(req) == 0 {
			t.Fatalf("schema %s has no required fields in the spec", schema)
		}
		for _, f := range req {
			if _, ok := obj[f]; !ok {
				t.Errorf("%s lacks required field %q of %s", what, f, schema)
			}
		}
	}
	s, _ := start(t)
	_, page := get(t, s.BaseURL()+"/partijen?expand=digitaleAdressen", "Token "+DefaultToken)
	requireFields("partijen page", page, "PaginatedExpandPartijList")
	results := page["results"].([]any)
	if len(results) == 0 {
		t.Fatal("no partijen")
	}
	for _, r := range results {
		p := r.(map[string]any)
		requireFields("partij", p, "Base_PartijSerializer")
		if !slices.Contains(schemas["SoortPartijEnum"].Enum, p["soortPartij"].(string)) {
			t.Errorf("soortPartij %q not in the enum", p["soortPartij"])
		}
		for _, pi := range p["partijIdentificatoren"].([]any) {
			requireFields("partij-identificator", pi.(map[string]any), "PartijIdentificator")
			g := pi.(map[string]any)["partijIdentificator"].(map[string]any)
			requireFields("partijIdentificator", g, "PartijIdentificatorGroepType")
			if !slices.Contains(schemas["CodeSoortObjectIdEnum"].Enum, g["codeSoortObjectId"].(string)) {
				t.Errorf("codeSoortObjectId %q not in the enum", g["codeSoortObjectId"])
			}
		}
		for _, d := range p["_expand"].(map[string]any)["digitaleAdressen"].([]any) {
			requireFields("digitaal adres", d.(map[string]any), "DigitaalAdres")
			if soort := d.(map[string]any)["soortDigitaalAdres"].(string); !slices.Contains(schemas["SoortDigitaalAdresEnum"].Enum, soort) {
				t.Errorf("demo soortDigitaalAdres %q not in the enum", soort)
			}
		}
	}
}
