// Package omc owns Koerier's compatibility with the OMC (NotifyNL-OMC,
// github.com/Worth-NL/NotifyNL-OMC), the notification router many
// gemeenten run before Koerier: reading an OMC environment file, turning it
// into a rules file and a config fragment that behave as that OMC did
// (Convert), and the OMC's Notify personalisation key names
// (Personalisation), so that existing Notify templates keep working.
//
// It must not know about the bus, the store or HTTP; the webhook that
// accepts the OMC's JWT is internal/httpapi's OMCListen.
package omc

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Env is an OMC environment: variable name -> value.
type Env map[string]string

// ParseEnv reads an OMC environment file in either form gemeenten keep it:
// KEY=VALUE lines (a docker-compose .env; "export ", quotes and # comments
// allowed), or a Kubernetes ConfigMap as `kubectl get cm -o yaml` prints it
// (its data:, also inside a kind: List).
func ParseEnv(src []byte) (Env, error) {
	if looksLikeYAML(src) {
		return parseConfigMap(src)
	}
	env := Env{}
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("omc: line %d: %q is not KEY=VALUE", n, truncate(line, 40))
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		} else if i := strings.Index(v, " #"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		env[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("omc: %w", err)
	}
	return env, nil
}

// looksLikeYAML is true for a kubectl dump: it has a top-level data: or
// kind: key, which a .env line never has (those have "=").
func looksLikeYAML(src []byte) bool {
	for _, l := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(l, "data:") || strings.HasPrefix(l, "kind:") || strings.HasPrefix(l, "apiVersion:") {
			return true
		}
	}
	return false
}

type configMap struct {
	Kind  string            `yaml:"kind"`
	Data  map[string]string `yaml:"data"`
	Items []configMap       `yaml:"items"`
}

func parseConfigMap(src []byte) (Env, error) {
	var cm configMap
	if err := yaml.Unmarshal(src, &cm); err != nil {
		return nil, fmt.Errorf("omc: ConfigMap: %w", err)
	}
	env := Env{}
	var add func(c configMap)
	add = func(c configMap) {
		for k, v := range c.Data {
			env[k] = strings.TrimSpace(v)
		}
		for _, it := range c.Items {
			add(it)
		}
	}
	add(cm)
	if len(env) == 0 {
		return nil, fmt.Errorf("omc: the YAML has no ConfigMap data")
	}
	return env, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// list splits an OMC list value ("1, 2, 3" or "*"), dropping empties.
func list(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
