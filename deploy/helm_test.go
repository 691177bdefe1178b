package deploy

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/yaml"

	"github.com/mijnservices/koerier/rules"
)

// The chart is rendered by helm's own code, the path `helm template` takes:
// loader.Load reads the chart, chartutil.ToRenderValues merges the values
// with values.yaml and validates them against values.schema.json, the
// engine renders the templates with helm's function map (Sprig, include,
// required, fail, toYaml, ...), and releaseutil.SortManifests splits the
// output into manifests in install order. Each manifest is then decoded
// strictly into the Go type of the kind it claims (k8s.io/api, and the
// Prometheus Operator's types for the ServiceMonitor), the way the API
// server's strict field validation would: a misspelt or unknown field, a
// wrong type or a kind nobody serves fails here instead of at
// `kubectl apply`. What is left to a cluster: admission (required fields,
// ranges) and whether the CRDs are installed.

const chartDir = "helm/koerier"

// kinds knows the Go types of every API group the chart may emit. A kind
// outside it fails the test: add its scheme rather than skip the check.
var kinds = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme, policyv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// strictDecoder is apimachinery's YAML serializer in strict mode: unknown
// and duplicate fields are errors, and field names match case-sensitively
// (encoding/json alone would take "ImagePullPolicy" for imagePullPolicy).
var strictDecoder = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, kinds, kinds,
	kjson.SerializerOptions{Yaml: true, Strict: true})

type renderOpts struct {
	// skipSchema is `helm template --skip-schema-validation`: it lets a test
	// reach the template guards behind the schema.
	skipSchema bool
	// edit changes the loaded chart before rendering.
	edit func(*chart.Chart)
}

// rendered holds the manifests of one render, as generic maps by kind (for
// dig) and as typed objects.
type rendered struct {
	docs    map[string][]map[string]any
	objects []runtime.Object
}

// renderChart renders the chart with overrides merged over values.yaml (a
// deep merge, as `helm template -f` does) and returns its manifests. An
// error from helm (schema, template, guard) or from decoding a manifest is
// returned; only a failure of the test's own set-up is fatal.
func renderChart(t *testing.T, overrides map[string]any, opts renderOpts) (*rendered, error) {
	t.Helper()
	chrt, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	if opts.edit != nil {
		opts.edit(chrt)
	}
	release := chartutil.ReleaseOptions{Name: "koerier", Namespace: "koerier", Revision: 1, IsInstall: true}
	vals, err := chartutil.ToRenderValuesWithSchemaValidation(chrt, overrides, release, chartutil.DefaultCapabilities, opts.skipSchema)
	if err != nil {
		return nil, err
	}
	// Strict is helm lint's missingkey=error: a template that reads a value
	// path values.yaml does not have fails, where helm install would quietly
	// render an empty string.
	files, err := engine.Engine{Strict: true}.Render(chrt, vals)
	if err != nil {
		return nil, err
	}
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name) // rendered (so it must render), but not a manifest
		}
	}
	_, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, err
	}
	out := &rendered{docs: map[string][]map[string]any{}}
	for _, m := range manifests {
		obj, gvk, err := strictDecoder.Decode([]byte(m.Content), nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", m.Name, m.Head.Version, m.Head.Kind, err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(m.Content), &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", m.Name, err)
		}
		out.docs[gvk.Kind] = append(out.docs[gvk.Kind], doc)
		out.objects = append(out.objects, obj)
	}
	return out, nil
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
	r, err := renderChart(t, nil, renderOpts{})
	if err != nil {
		t.Fatalf("default values do not render: %v", err)
	}
	docs := r.docs
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
	var dep *appsv1.Deployment
	for _, o := range r.objects {
		if d, ok := o.(*appsv1.Deployment); ok {
			dep = d
		}
	}
	if dep == nil {
		t.Fatal("the Deployment did not decode as an apps/v1 Deployment")
	}
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"replicas", *dep.Spec.Replicas, 2},
		{"liveness path", c.LivenessProbe.HTTPGet.Path, "/healthz"},
		{"readiness path", c.ReadinessProbe.HTTPGet.Path, "/readyz"},
		{"probe port", c.LivenessProbe.HTTPGet.Port.String(), "http"},
		{"readOnlyRootFilesystem", *c.SecurityContext.ReadOnlyRootFilesystem, true},
		{"runAsNonRoot", *pod.SecurityContext.RunAsNonRoot, true},
		{"tmp mount", c.VolumeMounts[2].MountPath, "/tmp"},
		{"tmp volume is emptyDir", pod.Volumes[2].Name + fmt.Sprint(pod.Volumes[2].EmptyDir != nil), "tmptrue"},
		{"secret envFrom", c.EnvFrom[0].SecretRef.Name, "koerier"},
		{"image tag defaults to appVersion", c.Image, "ghcr.io/mijnservices/koerier:0.1.0"},
		{"memory limit", c.Resources.Limits.Memory().String(), "512Mi"},
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
	// The chart ships the example rules; a copy that drifts from them goes
	// untested by the rules' own cases.
	chartRules, _ := os.ReadFile("helm/koerier/files/rules.yaml")
	exampleRules, _ := os.ReadFile("../config/rules.example.yaml")
	if string(chartRules) != string(exampleRules) {
		t.Error("helm/koerier/files/rules.yaml differs from config/rules.example.yaml: copy it again")
	}
}

func TestHelmChartGuards(t *testing.T) {
	tests := []struct {
		name       string
		overrides  map[string]any
		skipSchema bool
		wantErr    string // empty: must render
	}{
		{"two replicas on sqlite bus", map[string]any{"bus": map[string]any{"backend": "sqlite"}}, false, "replicaCount 2 needs"},
		{"two replicas on sqlite store", map[string]any{"store": map[string]any{"backend": "sqlite"}}, false, "replicaCount 2 needs"},
		{"autoscaling on sqlite", map[string]any{"replicaCount": 1, "autoscaling": map[string]any{"enabled": true},
			"bus": map[string]any{"backend": "sqlite"}}, false, "autoscaling.enabled needs"},
		// The schema refuses an unknown backend first; the template guard
		// stays for --skip-schema-validation.
		{"unknown backend", map[string]any{"bus": map[string]any{"backend": "kafka"}}, false, "/bus/backend"},
		{"unknown backend, schema skipped", map[string]any{"bus": map[string]any{"backend": "kafka"}}, true, "is not amqp or sqlite"},
		{"unknown store, schema skipped", map[string]any{"store": map[string]any{"backend": "etcd"}}, true, "is not redis or sqlite"},
		{"autoscaling minimum above maximum", map[string]any{"autoscaling": map[string]any{"enabled": true,
			"minReplicas": 4, "maxReplicas": 3}}, false, "autoscaling.minReplicas 4 is above autoscaling.maxReplicas 3"},
		{"service monitor without secret", map[string]any{"serviceMonitor": map[string]any{"enabled": true},
			"existingSecret": ""}, false, "serviceMonitor needs existingSecret"},
		{"one replica on sqlite", map[string]any{"replicaCount": 1, "bus": map[string]any{"backend": "sqlite"},
			"store": map[string]any{"backend": "sqlite"}, "persistence": map[string]any{"enabled": true}}, false, ""},
		{"service monitor and autoscaling", map[string]any{"serviceMonitor": map[string]any{"enabled": true},
			"autoscaling": map[string]any{"enabled": true}}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := renderChart(t, tt.overrides, renderOpts{skipSchema: tt.skipSchema})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("does not render: %v", err)
			}
			docs := r.docs
			if tt.name == "one replica on sqlite" {
				if len(docs["PersistentVolumeClaim"]) != 1 || len(docs["PodDisruptionBudget"]) != 0 {
					t.Errorf("one sqlite replica: want a PVC and no PDB, got %d and %d",
						len(docs["PersistentVolumeClaim"]), len(docs["PodDisruptionBudget"]))
				}
				if s := dig(docs["Deployment"][0], "spec", "strategy", "type"); s != "Recreate" {
					t.Errorf("sqlite strategy = %v, want Recreate", s)
				}
				if c := dig(docs["Deployment"][0], "spec", "template", "spec", "volumes", "3", "persistentVolumeClaim", "claimName"); c != "koerier-data" {
					t.Errorf("data volume claim = %v, want koerier-data", c)
				}
			}
			if tt.name == "service monitor and autoscaling" {
				if len(docs["ServiceMonitor"]) != 1 || len(docs["HorizontalPodAutoscaler"]) != 1 {
					t.Fatal("ServiceMonitor or HPA missing")
				}
				if r := dig(docs["Deployment"][0], "spec", "replicas"); r != nil {
					t.Errorf("with autoscaling the Deployment must not set replicas, got %v", r)
				}
				if k := dig(docs["ServiceMonitor"][0], "spec", "endpoints", "0", "authorization", "credentials", "key"); k != "KOERIER_ADMIN_TOKEN" {
					t.Errorf("ServiceMonitor token key = %v, want KOERIER_ADMIN_TOKEN", k)
				}
			}
		})
	}
}

// The values a user passes are checked against values.schema.json before any
// template runs, as helm install, upgrade, template and lint do.
func TestHelmValuesSchema(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]any
		wantErr   string // empty: valid; else the path of the bad value
	}{
		{"zero replicas", map[string]any{"replicaCount": 0}, "/replicaCount"},
		{"replicas as a string", map[string]any{"replicaCount": "2"}, "/replicaCount"},
		{"env name not KOERIER_", map[string]any{"env": map[string]any{"koerier_log_level": "debug"}}, "koerier_log_level"},
		{"watch interval in words", map[string]any{"rules": map[string]any{"watchInterval": "10 seconds"}}, "/rules/watchInterval"},
		{"autoscaling as a string", map[string]any{"autoscaling": map[string]any{"enabled": "yes"}}, "/autoscaling/enabled"},
		// Without additionalProperties: false a misspelt key was ignored
		// and its default used.
		{"misspelt key", map[string]any{"replicacount": 1}, "replicacount"},
		{"misspelt nested key", map[string]any{"autoscaling": map[string]any{"enable": true}}, "enable"},
		{"one embedded replica", map[string]any{"replicaCount": 1, "bus": map[string]any{"backend": "sqlite"},
			"store": map[string]any{"backend": "sqlite"}}, ""},
		{"watch interval as a Go duration", map[string]any{"rules": map[string]any{"watchInterval": "1m30s"}}, ""},
		{"reload off", map[string]any{"rules": map[string]any{"watchInterval": "0s"}}, ""},
		{"globals from a parent chart", map[string]any{"global": map[string]any{"imageRegistry": "r.example"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderChart(t, tt.overrides, renderOpts{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("valid values refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "schema") || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want a schema error at %s", err, tt.wantErr)
			}
		})
	}
}

// A template that writes a field Kubernetes does not have must fail the
// tests, not the first kubectl apply. The chart is edited in memory.
func TestHelmChartMisspeltFieldFails(t *testing.T) {
	tests := []struct {
		name, template, old, new, wantErr string
	}{
		{"misspelt field", "templates/deployment.yaml", "terminationGracePeriodSeconds:", "terminationGracePeriodSecond:", `unknown field "spec.template.spec.terminationGracePeriodSecond"`},
		{"wrong case", "templates/deployment.yaml", "imagePullPolicy:", "ImagePullPolicy:", `unknown field "spec.template.spec.containers[0].ImagePullPolicy"`},
		{"field at the wrong level", "templates/service.yaml", "  type: {{", "  serviceType: {{", `unknown field "spec.serviceType"`},
		{"wrong type", "templates/service.yaml", "port: {{ .Values.service.port }}", "port: [{{ .Values.service.port }}]", "ServicePort.spec.ports.port of type int32"},
		{"unknown kind", "templates/service.yaml", "kind: Service", "kind: Servcie", `no kind "Servcie" is registered`},
		{"missing value path", "templates/service.yaml", ".Values.service.port", ".Values.service.prot", "prot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edit := func(c *chart.Chart) {
				for _, f := range c.Templates {
					if f.Name == tt.template {
						if !strings.Contains(string(f.Data), tt.old) {
							t.Fatalf("%s no longer contains %q: update the test", tt.template, tt.old)
						}
						f.Data = []byte(strings.Replace(string(f.Data), tt.old, tt.new, 1))
						return
					}
				}
				t.Fatalf("chart has no %s", tt.template)
			}
			_, err := renderChart(t, nil, renderOpts{edit: edit})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// Values read from a file, as `helm install -f` reads them: helm decodes
// every number as a float64, which the chart must still write as the
// number the operator wrote.
func TestHelmChartValuesFile(t *testing.T) {
	vals, err := chartutil.ReadValues([]byte(`
env:
  KOERIER_CONCURRENCY: 16
  KOERIER_BIG: 10000000
  KOERIER_RATIO: 0.5
  KOERIER_FLAG: true
  KOERIER_LOG_LEVEL: debug
terminationGracePeriodSeconds: 120
`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := renderChart(t, vals, renderOpts{})
	if err != nil {
		t.Fatalf("does not render: %v", err)
	}
	var dep *appsv1.Deployment
	for _, o := range r.objects {
		if d, ok := o.(*appsv1.Deployment); ok {
			dep = d
		}
	}
	env := map[string]string{}
	for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	want := map[string]string{"KOERIER_CONCURRENCY": "16", "KOERIER_BIG": "10000000", "KOERIER_RATIO": "0.5",
		"KOERIER_FLAG": "true", "KOERIER_LOG_LEVEL": "debug", "KOERIER_REDIS_ADDR": "redis-master:6379"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	if g := *dep.Spec.Template.Spec.TerminationGracePeriodSeconds; g != 120 {
		t.Errorf("terminationGracePeriodSeconds = %d, want 120", g)
	}
}
