package store

import (
	"testing"

	"github.com/mijnservices/koerier/internal/event"
)

func TestSubjectRefOf(t *testing.T) {
	key := []byte("k")
	tests := []struct {
		s        event.Subject
		kind, id string
	}{
		{event.Subject{BSN: "999993653", KVK: "69599084"}, "bsn", "999993653"},
		{event.Subject{KVK: "69599084"}, "kvk", "69599084/"},
		{event.Subject{KVK: "69599084", Vestigingsnummer: "000012345678"}, "kvk", "69599084/000012345678"},
		{event.Subject{RSIN: "002220647"}, "rsin", "002220647"},
		{event.Subject{PartijURL: "https://klant.example/partijen/1"}, "partij", "https://klant.example/partijen/1"},
	}
	for _, tt := range tests {
		if got, want := SubjectRefOf(key, tt.s), SubjectRef(key, tt.kind, tt.id); got != want {
			t.Errorf("SubjectRefOf(%+v) = %s, want SubjectRef(%q, %q) = %s", tt.s, got, tt.kind, tt.id, want)
		}
	}
	if SubjectRefOf(key, event.Subject{}) != "" {
		t.Error("an empty subject has a ref")
	}
}
