package zgw

import (
	"errors"
	"testing"
)

func TestAllowList(t *testing.T) {
	al, err := NewAllowList("https://openzaak.gemeente.example/zaken/api/v1", "https://objecten.gemeente.example/api/v2/")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url  string
		want bool
	}{
		{"https://openzaak.gemeente.example/zaken/api/v1/zaken/6b41d4c4", true},
		{"https://openzaak.gemeente.example/zaken/api/v1", true},
		{"https://OPENZAAK.gemeente.example/zaken/api/v1/rollen?zaak=x", true},
		{"https://objecten.gemeente.example/api/v2/objects/1", true},
		{"http://openzaak.gemeente.example/zaken/api/v1/zaken/1", false},          // scheme
		{"https://openzaak.gemeente.example:8443/zaken/api/v1/zaken/1", false},    // port
		{"https://openzaak.gemeente.example/zaken/api/v10/zaken/1", false},        // not a segment boundary
		{"https://openzaak.gemeente.example/catalogi/api/v1/zaaktypen/1", false},  // other root
		{"https://openzaak.gemeente.example/zaken/api/v1/../../admin/", false},    // traversal
		{"https://openzaak.gemeente.example/zaken/api/v1/%2e%2e/%2e%2e/x", false}, // encoded traversal
		{"https://user:pw@openzaak.gemeente.example/zaken/api/v1/zaken/1", false},
		{"https://openzaak.gemeente.example.evil.example/zaken/api/v1/zaken/1", false},
		{"http://169.254.169.254/latest/meta-data", false},
		{"::not a url", false},
	}
	for _, tt := range tests {
		err := al.Check(tt.url)
		if got := err == nil; got != tt.want {
			t.Errorf("Check(%q) = %v, want allowed %v", tt.url, err, tt.want)
		}
		var fe *ForbiddenURLError
		if err != nil && !errors.As(err, &fe) {
			t.Errorf("Check(%q) error %T is not a *ForbiddenURLError", tt.url, err)
		}
	}
	if _, err := NewAllowList("ftp://x/y"); err == nil {
		t.Error("NewAllowList accepted an ftp root")
	}
}
