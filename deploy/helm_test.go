package deploy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/template"

	"gopkg.in/yaml.v3"

	"github.com/mijnservices/koerier/rules"
)

// There is no helm binary here, so renderChart runs the chart's templates
// through text/template with the handful of Helm/Sprig functions they use.
// It is not Helm: it catches template syntax errors, wrong value paths,
// output that is not YAML and a guard that does not fire; `helm lint` and
// `helm template` remain the real check.

type chartFiles string

func (d chartFiles) Get(name string) string {
	b, err := os.ReadFile(filepath.Join(string(d), name))
	if err != nil {
		return ""
	}
	return string(b)
}

func helmFuncs(tpl **template.Template) template.FuncMap {
	toInt := func(v any) int {
		switch n := v.(type) {
		case int:
			return n
		case float64:
			return int(n)
		case string:
			i, _ := strconv.Atoi(n)
			return i
		}
		return 0
	}
	empty := func(v any) bool {
		switch x := v.(type) {
		case nil:
			return true
		case string:
			return x == ""
		case bool:
			return !x
		case int:
			return x == 0
		case []any:
			return len(x) == 0
		case map[string]any:
			return len(x) == 0
		}
		return false
	}
	return template.FuncMap{
		"include": func(name string, data any) (string, error) {
			var b strings.Builder
			err := (*tpl).ExecuteTemplate(&b, name, data)
			return b.String(), err
		},
		"fail": func(msg string) (string, error) { return "", errors.New(msg) },
		"required": func(msg string, v any) (any, error) {
			if empty(v) {
				return nil, errors.New(msg)
			}
			return v, nil
		},
		"default": func(def any, v ...any) any {
			if len(v) == 0 || empty(v[0]) {
				return def
			}
			return v[0]
		},
		"toYaml": func(v any) string {
			b, err := yaml.Marshal(v)
			if err != nil {
				return ""
			}
			return strings.TrimSuffix(string(b), "\n")
		},
		"nindent": func(n int, s string) string {
			pad := strings.Repeat(" ", n)
			return "\n" + pad + strings.ReplaceAll(s, "\n", "\n"+pad)
		},
		"quote":      func(v any) string { return strconv.Quote(fmt.Sprint(v)) },
		"sha256sum":  func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) },
		"trunc":      func(n int, s string) string { return s[:min(n, len(s))] },
		"trimSuffix": func(suf, s string) string { return strings.TrimSuffix(s, suf) },
		"contains":   func(sub, s string) bool { return strings.Contains(s, sub) },
		"replace":    func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
		"int":        toInt,
		"list":       func(v ...any) []any { return v },
		"has": func(needle any, hay []any) bool {
			for _, h := range hay {
				if h == needle {
					return true
				}
			}
			return false
		},
	}
}

// renderChart renders every template with values.yaml merged with
// overrides (top-level keys, one level deep) and returns the YAML documents
// by kind.
func renderChart(t *testing.T, overrides map[string]any) (map[string][]map[string]any, error) {
	t.Helper()
	dir := "helm/koerier"
	var values map[string]any
	src, err := os.ReadFile(filepath.Join(dir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(src, &values); err != nil {
		t.Fatal(err)
	}
	for k, v := range overrides {
		if sub, ok := v.(map[string]any); ok {
			if base, ok := values[k].(map[string]any); ok {
				for sk, sv := range sub {
					base[sk] = sv
				}
				continue
			}
		}
		values[k] = v
	}
	var chart struct {
		Name, Version, AppVersion string
	}
	src, err = os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if err := yaml.Unmarshal(src, &meta); err != nil {
		t.Fatal(err)
	}
	chart.Name, chart.Version, chart.AppVersion = fmt.Sprint(meta["name"]), fmt.Sprint(meta["version"]), fmt.Sprint(meta["appVersion"])
	data := map[string]any{
		"Values":  values,
		"Chart":   chart,
		"Release": map[string]any{"Name": "koerier", "Namespace": "koerier", "Service": "Helm"},
		"Files":   chartFiles(dir),
	}
	var tpl *template.Template
	tpl = template.New("chart").Funcs(helmFuncs(&tpl)).Option("missingkey=zero")
	paths, _ := filepath.Glob(filepath.Join(dir, "templates", "*"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tpl.New(filepath.Base(p)).Parse(string(b)); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	docs := map[string][]map[string]any{}
	for _, p := range paths {
		name := filepath.Base(p)
		if strings.HasPrefix(name, "_") || !strings.HasSuffix(name, ".yaml") {
			continue
		}
		var out bytes.Buffer
		if err := tpl.ExecuteTemplate(&out, name, data); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		dec := yaml.NewDecoder(&out)
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("%s renders to invalid YAML: %v", name, err)
				}
				break
			}
			if doc == nil {
				continue
			}
			kind, _ := doc["kind"].(string)
			docs[kind] = append(docs[kind], doc)
		}
	}
	return docs, nil
}

func dig(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func TestHelmChartRendersDefaults(t *testing.T) {
	docs, err := renderChart(t, nil)
	if err != nil {
		t.Fatalf("default values do not render: %v", err)
	}
	for _, kind := range []string{"Deployment", "Service", "ConfigMap", "PodDisruptionBudget"} {
		if len(docs[kind]) == 0 {
			t.Errorf("no %s rendered", kind)
		}
	}
	for _, kind := range []string{"HorizontalPodAutoscaler", "ServiceMonitor", "PersistentVolumeClaim"} {
		if len(docs[kind]) != 0 {
			t.Errorf("%s rendered, but it is off by default", kind)
		}
	}
	dep := docs["Deployment"][0]
	c := dig(dep, "spec", "template", "spec", "containers", "0")
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"replicas", dig(dep, "spec", "replicas"), 2},
		{"liveness path", dig(c, "livenessProbe", "httpGet", "path"), "/healthz"},
		{"readiness path", dig(c, "readinessProbe", "httpGet", "path"), "/readyz"},
		{"readOnlyRootFilesystem", dig(c, "securityContext", "readOnlyRootFilesystem"), true},
		{"runAsNonRoot", dig(dep, "spec", "template", "spec", "securityContext", "runAsNonRoot"), true},
		{"tmp mount", dig(c, "volumeMounts", "2", "mountPath"), "/tmp"},
		{"tmp volume is emptyDir", dig(dep, "spec", "template", "spec", "volumes", "2", "name"), "tmp"},
		{"secret envFrom", dig(c, "envFrom", "0", "secretRef", "name"), "koerier"},
	}
	for _, ck := range checks {
		if fmt.Sprint(ck.got) != fmt.Sprint(ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	// The ConfigMap must carry exactly the scaled config, and the rules the
	// chart ships must load.
	want, _ := os.ReadFile("koerier.scaled.yaml")
	var cm map[string]any
	for _, d := range docs["ConfigMap"] {
		if _, ok := dig(d, "data", "koerier.yaml").(string); ok {
			cm = d
		}
	}
	if got, _ := dig(cm, "data", "koerier.yaml").(string); strings.TrimSpace(got) != strings.TrimSpace(string(want)) {
		t.Error("the config ConfigMap does not hold koerier.scaled.yaml verbatim")
	}
	if _, err := rules.NewHolder("helm/koerier/files/rules.yaml", rules.HolderOptions{}); err != nil {
		t.Errorf("the chart's rules do not load: %v", err)
	}
}

func TestHelmChartGuards(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]any
		wantErr   string // empty: must render
	}{
		{"two replicas on sqlite bus", map[string]any{"bus": map[string]any{"backend": "sqlite"}}, "replicaCount 2 needs"},
		{"two replicas on sqlite store", map[string]any{"store": map[string]any{"backend": "sqlite"}}, "replicaCount 2 needs"},
		{"autoscaling on sqlite", map[string]any{"replicaCount": 1, "autoscaling": map[string]any{"enabled": true},
			"bus": map[string]any{"backend": "sqlite"}}, "autoscaling.enabled needs"},
		{"unknown backend", map[string]any{"bus": map[string]any{"backend": "kafka"}}, "is not amqp or sqlite"},
		{"one replica on sqlite", map[string]any{"replicaCount": 1, "bus": map[string]any{"backend": "sqlite"},
			"store": map[string]any{"backend": "sqlite"}, "persistence": map[string]any{"enabled": true}}, ""},
		{"service monitor and autoscaling", map[string]any{"serviceMonitor": map[string]any{"enabled": true},
			"autoscaling": map[string]any{"enabled": true}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := renderChart(t, tt.overrides)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("does not render: %v", err)
			}
			if tt.name == "one replica on sqlite" {
				if len(docs["PersistentVolumeClaim"]) != 1 || len(docs["PodDisruptionBudget"]) != 0 {
					t.Errorf("one sqlite replica: want a PVC and no PDB, got %d and %d",
						len(docs["PersistentVolumeClaim"]), len(docs["PodDisruptionBudget"]))
				}
				if s := dig(docs["Deployment"][0], "spec", "strategy", "type"); s != "Recreate" {
					t.Errorf("sqlite strategy = %v, want Recreate", s)
				}
			}
			if tt.name == "service monitor and autoscaling" {
				if len(docs["ServiceMonitor"]) != 1 || len(docs["HorizontalPodAutoscaler"]) != 1 {
					t.Error("ServiceMonitor or HPA missing")
				}
				if r := dig(docs["Deployment"][0], "spec", "replicas"); r != nil {
					t.Errorf("with autoscaling the Deployment must not set replicas, got %v", r)
				}
			}
		})
	}
}
