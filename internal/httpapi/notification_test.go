package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2019-01-01T12:00:00Z", time.Date(2019, 1, 1, 12, 0, 0, 0, time.UTC)},
		{"2025-03-15T10:01:07.118204Z", time.Date(2025, 3, 15, 10, 1, 7, 118204000, time.UTC)},
		{"2025-03-15T10:01:07.1Z", time.Date(2025, 3, 15, 10, 1, 7, 100000000, time.UTC)},
		{"2025-03-20T11:02:44.517301+01:00", time.Date(2025, 3, 20, 10, 2, 44, 517301000, time.UTC)},
		{"2025-03-20T11:02:44+0100", time.Date(2025, 3, 20, 10, 2, 44, 0, time.UTC)},
		{"2025-03-20 11:02:44Z", time.Date(2025, 3, 20, 11, 2, 44, 0, time.UTC)},
		// Without a zone: Europe/Amsterdam wall clock, CET in winter, CEST in summer.
		{"2025-01-10T09:00:00", time.Date(2025, 1, 10, 8, 0, 0, 0, time.UTC)},
		{"2025-07-10T09:00:00.5", time.Date(2025, 7, 10, 7, 0, 0, 500000000, time.UTC)},
		{" 2025-07-10 09:00:00 ", time.Date(2025, 7, 10, 7, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, want %v in UTC", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", "gisteren", "2025-03-15", "15-03-2025 10:00", "2025-13-01T00:00:00Z", "1742032867", "0000-01-01 0:00:00", "9999-12-31T23:59:59-01:00"} {
		if _, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) succeeded, want an error", bad)
		}
	}
}

func TestParseNotificationLeniency(t *testing.T) {
	base := `"kanaal":"zaken","hoofdObject":"https://oz.example/zaken/api/v1/zaken/1","resource":"zaak","resourceUrl":"https://oz.example/zaken/api/v1/zaken/1","actie":"create","aanmaakdatum":"2025-03-14T09:12:31Z"`
	tests := []struct {
		name      string
		body      string
		kenmerken map[string]string
		errFields []string
	}{
		{name: "unknown fields ignored", body: `{` + base + `,"source":"openzaak","extra":{"a":1}}`},
		{name: "kenmerken absent", body: `{` + base + `}`},
		{name: "kenmerken null", body: `{` + base + `,"kenmerken":null}`},
		{name: "non-string kenmerken tolerated", body: `{` + base + `,"kenmerken":{"s":"x","n":42,"f":1.5,"b":true,"z":null,"o":{"a":1},"l":[1]}}`,
			kenmerken: map[string]string{"s": "x", "n": "42", "f": "1.5", "b": "true"}},
		{name: "kenmerk too long", body: `{` + base + `,"kenmerken":{"k":"` + strings.Repeat("x", 1001) + `"}}`, errFields: []string{"kenmerken.k"}},
		{name: "100 kenmerken accepted", body: `{` + base + `,"kenmerken":` + manyKenmerken(MaxKenmerken) + `}`, kenmerken: kenmerkenMap(MaxKenmerken)},
		{name: "101 kenmerken refused", body: `{` + base + `,"kenmerken":` + manyKenmerken(MaxKenmerken+1) + `}`, errFields: []string{"kenmerken"}},
		{name: "70000 kenmerken refused", body: `{` + base + `,"kenmerken":` + manyKenmerken(70000) + `}`, errFields: []string{"kenmerken"}},
		{name: "kenmerken a list", body: `{` + base + `,"kenmerken":["a"]}`, errFields: []string{"kenmerken"}},
		{name: "empty strings", body: `{"kanaal":"","hoofdObject":"","resource":" ","resourceUrl":null,"actie":"x","aanmaakdatum":"2025-03-14T09:12:31Z"}`,
			errFields: []string{"kanaal", "hoofdObject", "resource", "resourceUrl"}},
		{name: "non-http url", body: strings.Replace(`{`+base+`}`, `"https://oz.example/zaken/api/v1/zaken/1","actie"`, `"file:///etc/passwd","actie"`, 1), errFields: []string{"resourceUrl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseNotification([]byte(tt.body))
			if tt.errFields != nil {
				var verr *ValidationError
				if !errors.As(err, &verr) {
					t.Fatalf("err = %v, want a ValidationError", err)
				}
				var names []string
				for _, p := range verr.Params {
					names = append(names, p.Name)
				}
				if strings.Join(names, ",") != strings.Join(tt.errFields, ",") {
					t.Fatalf("invalid fields = %v, want %v", names, tt.errFields)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(n.Kenmerken) != len(tt.kenmerken) {
				t.Fatalf("kenmerken = %v, want %v", n.Kenmerken, tt.kenmerken)
			}
			for k, v := range tt.kenmerken {
				if n.Kenmerken[k] != v {
					t.Errorf("kenmerk %s = %q, want %q", k, n.Kenmerken[k], v)
				}
			}
		})
	}
}

func kenmerkenMap(n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m[fmt.Sprintf("k%d", i)] = "v"
	}
	return m
}

func manyKenmerken(n int) string {
	b, _ := json.Marshal(kenmerkenMap(n))
	return string(b)
}

// A body with too many kenmerken is refused naming the limit, without
// decoding them all.
func TestKenmerkenLimitIsNamed(t *testing.T) {
	body := `{"kanaal":"zaken","hoofdObject":"https://oz.example/z/1","resource":"zaak","resourceUrl":"https://oz.example/z/1","actie":"create","aanmaakdatum":"2025-03-14T09:12:31Z","kenmerken":` + manyKenmerken(MaxKenmerken+1) + `}`
	_, err := ParseNotification([]byte(body))
	var verr *ValidationError
	if !errors.As(err, &verr) || len(verr.Params) != 1 {
		t.Fatalf("err = %v", err)
	}
	if p := verr.Params[0]; p.Code != CodeMaxItems || !strings.Contains(p.Reason, fmt.Sprint(MaxKenmerken)) {
		t.Fatalf("param = %+v, want code %s naming %d", p, CodeMaxItems, MaxKenmerken)
	}
}

func TestNotificationIDIgnoresTimestampSpelling(t *testing.T) {
	mk := func(ts string) string {
		body := `{"kanaal":"zaken","hoofdObject":"https://a.example/z/1","resource":"status","resourceUrl":"https://a.example/s/1","actie":"create","aanmaakdatum":"` + ts + `"}`
		n, err := ParseNotification([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return NotificationID(n)
	}
	a, b, c := mk("2025-03-20T10:02:44.5Z"), mk("2025-03-20T11:02:44.500000+01:00"), mk("2025-03-20T10:02:44.6Z")
	if a != b {
		t.Error("the same instant written twice gives two dedup keys")
	}
	if a == c {
		t.Error("different instants give one dedup key")
	}
}

// seedNotifications returns every example notification body in testdata.
func seedNotifications(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no testdata: %v", err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
			var list []json.RawMessage
			if err := json.Unmarshal(b, &list); err != nil {
				tb.Fatal(err)
			}
			for _, m := range list {
				out = append(out, m)
			}
			continue
		}
		out = append(out, b)
	}
	return out
}

// FuzzParseNotification checks that no body makes the parser panic, that
// whatever it accepts satisfies the schema's required fields, and that an
// accepted notification survives a round trip through the bus encoding with
// the same dedup key.
func FuzzParseNotification(f *testing.F) {
	for _, b := range seedNotifications(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"kanaal":"zaken","hoofdObject":"http://a/","resource":"r","resourceUrl":"http://a/1","actie":"c","aanmaakdatum":"2025-01-10T09:00:00","kenmerken":{"n":1}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := ParseNotification(body)
		if err != nil {
			var verr *ValidationError
			if !errors.As(err, &verr) || len(verr.Params) == 0 {
				t.Fatalf("error %v is not a ValidationError with fields", err)
			}
			return
		}
		if n.Kanaal == "" || n.Resource == "" || n.Actie == "" || !isHTTPURL(n.HoofdObject) || !isHTTPURL(n.ResourceURL) {
			t.Fatalf("accepted an incomplete notification: %+v", n)
		}
		if n.Aanmaakdatum.IsZero() || n.Aanmaakdatum.Location() != time.UTC {
			t.Fatalf("aanmaakdatum %v not set in UTC", n.Aanmaakdatum)
		}
		again, err := ParseNotification(mustJSON(t, n))
		if err != nil {
			t.Fatalf("re-encoded notification rejected: %v", err)
		}
		if NotificationID(again) != NotificationID(n) {
			t.Fatalf("dedup key changed in a round trip: %+v vs %+v", n, again)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
