package store_test

import (
	"encoding/hex"
	"testing"

	"github.com/mijnservices/koerier/internal/store"
)

func TestSubjectRef(t *testing.T) {
	key := []byte("gemeente-test-sleutel")
	// Known answer computed independently:
	//   printf 'bsn\0999993653' | openssl dgst -sha256 -hmac gemeente-test-sleutel | cut -c1-32
	const want = "7075d7614e48c31101c41087adfb9a25"
	if got := store.SubjectRef(key, "bsn", "999993653"); got != want {
		t.Fatalf("SubjectRef = %s, want %s", got, want)
	}

	ref := store.SubjectRef(key, "bsn", "999993653")
	tests := []struct {
		name      string
		key       []byte
		kind, id  string
		wantEqual bool
	}{
		{"same input", key, "bsn", "999993653", true},
		{"other bsn", key, "bsn", "999990627", false},
		{"other kind", key, "kvk_nummer", "999993653", false},
		{"other key", []byte("andere-sleutel"), "bsn", "999993653", false},
		{"kind and id boundary moved", key, "bs", "n999993653", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := store.SubjectRef(tt.key, tt.kind, tt.id)
			if (got == ref) != tt.wantEqual {
				t.Fatalf("SubjectRef(%q, %q) = %s; equal to the reference %s: %v, want %v", tt.kind, tt.id, got, ref, got == ref, tt.wantEqual)
			}
			if b, err := hex.DecodeString(got); err != nil || len(b) != 16 {
				t.Fatalf("SubjectRef = %q, want 32 hex digits", got)
			}
		})
	}
}
