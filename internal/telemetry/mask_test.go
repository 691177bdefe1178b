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
		{"mail jan.jansen@example.com now", "mail j***@example.com now"},
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
