package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigCheck(t *testing.T) {
	rulesPath, err := filepath.Abs("../../config/rules.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	badRules := filepath.Join(dir, "bad-rules.yaml")
	if err := os.WriteFile(badRules, []byte("version: 1\nrules:\n  - name: x\n    whenn: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := "store:\n  subject_key: a-real-secret\nrules:\n  path: " + rulesPath + "\n"
	cases := []struct {
		name, src string
		ok        bool
		want      []string
	}{
		{"ok", base, true, []string{"k.yaml: OK", "rules:    " + rulesPath, "warnings: 0"}},
		{"placeholder secret warns", strings.Replace(base, "a-real-secret", "change-me-subject-key", 1), true,
			[]string{"WARN: " + "K:2: store.subject_key: still the change-me placeholder", "warnings: 1"}},
		{"unknown key", base + "server:\n  adminn_tokens: [x]\n", false,
			[]string{`error: K:6: server: unknown key "adminn_tokens" in server; did you mean "admin_tokens"?`}},
		{"missing secret", base + "zgw:\n  zaken: http://oz/zaken/api/v1\n  client_id: k\n  secret: ${UNSET_ZGW_SECRET_FOR_TEST}\n", false,
			[]string{"error: K:8: zgw.secret: environment variable UNSET_ZGW_SECRET_FOR_TEST is not set"}},
		{"bad peer url", base + "openklant:\n  url: openklant:8000\n  token: t\n", false,
			[]string{`error: K:6: openklant.url: "openklant:8000" is not an absolute http(s) URL`}},
		{"bad notify key", base + "notify:\n  url: http://notify\n  api_key: not-a-key\n", false,
			[]string{"error: K:7: notify.api_key: notifynl: parse API key"}},
		{"rules do not load", strings.Replace(base, rulesPath, badRules, 1), false,
			[]string{"error: K:4: rules.path: " + badRules + " does not load", "error: " + badRules + ":4"}},
		{"missing tls files", base + "brp:\n  url: http://brp\n  api_key: k\n  tls:\n    cert_file: /nonexistent/c.pem\n    key_file: /nonexistent/k.pem\n", false,
			[]string{"error: K:8: brp.tls: httpclient: load client certificate"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "k.yaml")
			if err := os.WriteFile(path, []byte(c.src), 0o600); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err := runConfigCheck(&out, path)
			if c.ok && err != nil {
				t.Fatalf("err = %v\n%s", err, out.String())
			}
			if !c.ok && !errors.Is(err, errReported) {
				t.Fatalf("err = %v, want errReported\n%s", err, out.String())
			}
			got := strings.ReplaceAll(out.String(), path, "K")
			for _, w := range c.want {
				w = strings.Replace(w, "k.yaml", "K", 1)
				if !strings.Contains(got, w) {
					t.Errorf("output does not contain %q:\n%s", w, got)
				}
			}
		})
	}
}
