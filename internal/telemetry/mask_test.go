package telemetry

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	cases := []struct{ in, want string }{
		{"bsn 999993653", "bsn *****3653"},
		{"https://ok.example/partijen?partijIdentificator__objectId=999990627&x=1", "https://ok.example/partijen?partijIdentificator__objectId=*****0627&x=1"},
		{"mail jan.jansen@example.com now", "mail j***@***.com now"},
		// The domain may be a surname: only the first letter and the TLD stay.
		{"to z.dijk@jandijk.example", "to z***@***.example"},
		{"a@b.nl", "a***@***.nl"},
		{"mail Jan.Jansen@mail.gemeente.nl, cc", "mail J***@***.nl, cc"},
		// BSN-like runs wherever they appear.
		{"bsn_999993653", "bsn_*****3653"},
		{"?objectId%3D999993653&x=1", "?objectId%3D*****3653&x=1"},
		{"bsn 999 993 653 found", "bsn *****3653 found"},
		{"bsn 999-993-653", "bsn *****3653"},
		{"BSN:999993653.", "BSN:*****3653."},
		{"nummer 12345678 los", "nummer ****5678 los"},
		// Phone-like runs, with or without + and country code.
		{"tel 31612345678", "tel *******5678"},
		{"tel 0031612345678", "tel *********5678"},
		{"tel +31 6 1234 5678", "tel *******5678"},
		{"tel 06-12345678", "tel ******5678"},
		{"phone=0612345678&", "phone=******5678&"},
		// Left alone: dates, timestamps, short numbers, ids.
		{"at 2025-03-14T09:12:31Z", "at 2025-03-14T09:12:31Z"},
		{"at 2025-03-14 09:12:31", "at 2025-03-14 09:12:31"},
		{"zaak ZAAK-2025-0001 attempt 3 of 10", "zaak ZAAK-2025-0001 attempt 3 of 10"},
		{"inbound 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "inbound 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
		{"key a1234567890123b4c5d6e7f8091a2b3c", "key a1234567890123b4c5d6e7f8091a2b3c"},
		{"trace 4bf92f3577b34da6a3ce929d0e0e4736", "trace 4bf92f3577b34da6a3ce929d0e0e4736"},
		{"uuid 123e4567-e89b-12d3-a456-426614174000", "uuid 123e4567-e89b-12d3-a456-426614174000"},
		{"port 127.0.0.1:8080", "port 127.0.0.1:8080"},
		{"call +31612345678", "call *******5678"},
		{"call 06 12345678", "call ******5678"},
		{"zaak ZAAK-2025-0001 volgnummer 1", "zaak ZAAK-2025-0001 volgnummer 1"},
		{"uuid 6b41d4c4-ef64-453c-b705-606334e79d8a", "uuid 6b41d4c4-ef64-453c-b705-606334e79d8a"},
	}
	for _, c := range cases {
		if got := Mask(c.in); got != c.want {
			t.Errorf("Mask(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMaskingHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewMaskingHandler(slog.NewJSONHandler(&buf, nil)))
	log.With("bsn", "999993653").WithGroup("g").Info("sending to jan@example.com",
		"err", errors.New("partij 999990627 not found"),
		"nested", slog.GroupValue(slog.String("phone", "+31612345678")),
		"any", map[string]string{"bsn": "999993653"})
	out := buf.String()
	for _, secret := range []string{"999993653", "999990627", "jan@example.com", "+31612345678"} {
		if strings.Contains(out, secret) {
			t.Fatalf("log line leaks %q: %s", secret, out)
		}
	}
	if !strings.Contains(out, "*****3653") {
		t.Fatalf("masked BSN missing: %s", out)
	}
}
