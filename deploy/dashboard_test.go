package deploy

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// exported maps every Prometheus series name the dashboard may use to the
// instrument name in the Go code that produces it. The OTel Prometheus
// exporter turns dots into underscores, adds _total to counters (unless the
// name has it) and the unit suffix (_seconds) to histograms, which then
// expose _bucket, _sum and _count. When a metric is renamed in the code,
// TestDashboardMetricsExist fails until this list and the dashboard follow.
var exported = map[string]string{
	"koerier_ingest_received_total":         "koerier.ingest.received",
	"koerier_ingest_accepted_total":         "koerier.ingest.accepted",
	"koerier_ingest_duplicate_total":        "koerier.ingest.duplicate",
	"koerier_ingest_rejected_total":         "koerier.ingest.rejected",
	"koerier_ingest_probes_total":           "koerier.ingest.probes",
	"koerier_stage_messages_total":          "koerier_stage_messages_total",
	"koerier_requeued_total":                "koerier_requeued_total",
	"koerier_stage_duration_seconds_bucket": "koerier_stage_duration_seconds",
	"koerier_stage_duration_seconds_sum":    "koerier_stage_duration_seconds",
	"koerier_stage_duration_seconds_count":  "koerier_stage_duration_seconds",
	"koerier_rules_last_reload_successful":  "koerier_rules_last_reload_successful",
	"koerier_rules_hash":                    "koerier_rules_hash",
	"koerier_queue_depth":                   "koerier_queue_depth",
}

// rabbitMQMetrics are rabbitmq_prometheus series (per-object metrics, as
// deploy/rabbitmq/rabbitmq.conf enables); they are not in this repository.
var rabbitMQMetrics = map[string]bool{
	"rabbitmq_queue_messages":         true,
	"rabbitmq_queue_messages_ready":   true,
	"rabbitmq_queue_messages_unacked": true,
}

// labels Koerier's metrics carry (bounded by design: no personal data),
// plus what Prometheus and RabbitMQ add.
var knownLabels = map[string]bool{
	"source": true, "reason": true, "stage": true, "status": true, "channel": true, "hash": true, "le": true, "topic": true,
	"job": true, "instance": true, "pod": true, "vhost": true, "queue": true,
}

var (
	metricName = regexp.MustCompile(`\b(?:koerier|rabbitmq)_[a-z_]+\b`)
	byClause   = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	matcher    = regexp.MustCompile(`([a-z_]+)\s*(?:=~|!~|!=|=)\s*"`)
)

// instrumentNames reads the quoted string literals of the module's non-test
// Go files once.
func goSources(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "deploy") {
			return fs.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			b.Write(src)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func dashboardExprs(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("grafana/koerier-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(src, &d); err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q has an empty expr", p.Title)
			}
			exprs = append(exprs, tg.Expr)
		}
	}
	return exprs
}

func TestDashboardMetricsExist(t *testing.T) {
	code := goSources(t)
	for series, instrument := range exported {
		if !strings.Contains(code, `"`+instrument+`"`) {
			t.Errorf("instrument %q (series %s) is no longer in the Go code", instrument, series)
		}
	}
	used := map[string]bool{}
	for _, expr := range dashboardExprs(t) {
		names := metricName.FindAllString(expr, -1)
		if len(names) == 0 {
			t.Errorf("expr %q names no koerier_ or rabbitmq_ metric", expr)
		}
		for _, n := range names {
			used[n] = true
			if _, ok := exported[n]; !ok && !rabbitMQMetrics[n] {
				t.Errorf("expr %q uses %s, which Koerier does not export", expr, n)
			}
		}
		for _, m := range byClause.FindAllStringSubmatch(expr, -1) {
			for _, l := range strings.Split(m[1], ",") {
				if l = strings.TrimSpace(l); l != "" && !knownLabels[l] {
					t.Errorf("expr %q groups by unknown label %q", expr, l)
				}
			}
		}
		for _, m := range matcher.FindAllStringSubmatch(expr, -1) {
			if !knownLabels[m[1]] {
				t.Errorf("expr %q matches on unknown label %q", expr, m[1])
			}
		}
	}
	// The panels the dashboard exists for.
	for _, n := range []string{"koerier_ingest_accepted_total", "koerier_ingest_rejected_total", "koerier_stage_messages_total",
		"koerier_stage_duration_seconds_bucket", "koerier_requeued_total", "koerier_rules_last_reload_successful", "koerier_queue_depth",
		"rabbitmq_queue_messages_ready"} {
		if !used[n] {
			t.Errorf("the dashboard no longer shows %s", n)
		}
	}
}
