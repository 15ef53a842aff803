package metrics_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The shipped operations files, relative to this package.
var (
	prometheusDir = filepath.Join("..", "deploy", "prometheus")
	dashboardPath = filepath.Join("..", "deploy", "grafana", "payrun.json")
)

// The alert rules are valid, their unit tests pass, and the sample
// Prometheus configuration that loads them is valid.
func TestAlertRulesPassPromtool(t *testing.T) {
	t.Parallel()
	runPromtool(t, prometheusDir, nil, "check", "rules", "alerts.yml")
	runPromtool(t, prometheusDir, nil, "test", "rules", "alerts_test.yml")
	runPromtool(t, prometheusDir, nil, "check", "config", "prometheus.yml")
}

// Every alert has a unit test in which it fires and one in which it does
// not, so a rule that can never fire (or always fires) is caught.
func TestEveryAlertIsTestedFiringAndQuiet(t *testing.T) {
	t.Parallel()
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, filepath.Join(prometheusDir, "alerts.yml"), &rules)
	var tests struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			AlertRuleTest []struct {
				Alertname string           `yaml:"alertname"`
				ExpAlerts []map[string]any `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	readYAML(t, filepath.Join(prometheusDir, "alerts_test.yml"), &tests)
	if len(tests.RuleFiles) != 1 || tests.RuleFiles[0] != "alerts.yml" {
		t.Errorf("alerts_test.yml tests %v, want [alerts.yml]", tests.RuleFiles)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, test := range tests.Tests {
		for _, check := range test.AlertRuleTest {
			if len(check.ExpAlerts) > 0 {
				fires[check.Alertname] = true
			} else {
				quiet[check.Alertname] = true
			}
		}
	}
	alerts := 0
	for _, group := range rules.Groups {
		for _, rule := range group.Rules {
			if rule.Alert == "" {
				continue
			}
			alerts++
			if !fires[rule.Alert] {
				t.Errorf("no test in alerts_test.yml where %s fires", rule.Alert)
			}
			if !quiet[rule.Alert] {
				t.Errorf("no test in alerts_test.yml where %s stays quiet", rule.Alert)
			}
		}
	}
	if alerts < 6 {
		t.Errorf("alerts.yml has %d alerts, want the 6 of SPEC §9 and issue 8", alerts)
	}
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	UID    string  `json:"uid"`
	Title  string  `json:"title"`
	Panels []panel `json:"panels"`
}

type panel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource map[string]any `json:"datasource"`
	GridPos    struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of collapsed rows
}

// metricName finds metric names in PromQL: every metric payrun exposes or
// the runtime and process collectors add starts with one of these.
var metricName = regexp.MustCompile(`\b(?:payrun|go|process|promhttp)_[a-zA-Z0-9_:]*`)

// The dashboard is valid JSON, its queries are valid PromQL (checked by
// promtool as recording rules) and name only metrics a scrape has, and it
// shows every payrun metric.
func TestDashboard(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var board dashboard
	if err := json.Unmarshal(raw, &board); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardPath, err)
	}
	if board.UID == "" || board.Title == "" {
		t.Errorf("dashboard needs a uid and a title")
	}

	m, registry := newMetrics(t)
	exercise(m)
	serveThrough(t, m, "GET", "/healthz")
	exposed := families(scrape(t, registry))

	var exprs []string
	ids := map[int]bool{}
	var walk func([]panel)
	walk = func(panels []panel) {
		for _, p := range panels {
			if ids[p.ID] {
				t.Errorf("panel id %d used twice", p.ID)
			}
			ids[p.ID] = true
			if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("panel %q: bad gridPos %+v", p.Title, p.GridPos)
			}
			if p.Type != "row" {
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no queries", p.Title)
				}
				if p.Datasource["type"] != "prometheus" {
					t.Errorf("panel %q: datasource %v, want prometheus", p.Title, p.Datasource)
				}
			}
			for _, target := range p.Targets {
				exprs = append(exprs, target.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(board.Panels)

	shown := map[string]bool{}
	for _, expr := range exprs {
		names := metricName.FindAllString(expr, -1)
		if len(names) == 0 {
			t.Errorf("query %q names no metric", expr)
		}
		for _, name := range names {
			family, ok := familyOf(name, exposed)
			if !ok {
				t.Errorf("query %q: metric %s is not in a scrape", expr, name)
				continue
			}
			shown[family] = true
		}
	}
	for name := range payrunMetrics {
		if !shown[name] {
			t.Errorf("the dashboard shows nothing of %s", name)
		}
	}

	// PromQL syntax: promtool parses each query as a recording rule.
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, expr := range exprs {
		expr = strings.ReplaceAll(expr, "$__rate_interval", "5m")
		if strings.Contains(expr, "$") {
			t.Errorf("query %q uses a Grafana variable this test does not know", expr)
		}
		quoted, err := json.Marshal(expr) // a JSON string is a YAML string
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&rules, "      - record: dashboard:query_%d\n        expr: %s\n", i, quoted)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboard_rules.yml"), []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, dir, nil, "check", "rules", "dashboard_rules.yml")
}

// familyOf maps a series name to its family in exposed: histograms expose
// name_bucket, name_sum and name_count.
func familyOf(name string, exposed map[string]string) (string, bool) {
	if _, ok := exposed[name]; ok {
		return name, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && exposed[base] == "histogram" {
			return base, true
		}
	}
	return "", false
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
