package sam_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/forgelink/forgelink/infra/testkit/sam"
)

// alarmActions is how every alarm notifies: the AlarmTopicArn parameter's topic when one is
// given (condition HasAlarmTopic), nobody otherwise.
const alarmActions = "!If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]"

// notYetLogged: log messages the metric filters (and docs/operations.md's queries) read
// that the code does not write yet, with the fields they need. docs/operations.md ("Log
// fields") specifies them. Once shared/ logs one, the test fails until it is removed here;
// from then on its fields are checked against the log call like every other message's.
var notYetLogged = map[string]string{}

// TestTemplateAlarms: every function has an errors and a throttles alarm; the HTTP API has a
// 5xx-rate alarm and the callback a p99-duration alarm; every alarm notifies through the
// topic condition and treats missing data as fine (no traffic is no problem).
func TestTemplateAlarms(t *testing.T) {
	tpl, _ := loadTemplate(t)
	if got := sam.Text(tpl.Conditions["HasAlarmTopic"]); got != "!Not [!Equals [!Ref AlarmTopicArn, ]]" {
		t.Errorf("condition HasAlarmTopic = %s, want: AlarmTopicArn is not empty", got)
	}
	if p := tpl.Parameters["AlarmTopicArn"]; p == nil || sam.Text(sam.Get(p, "Default")) != "" {
		t.Error(`parameter AlarmTopicArn must exist with Default "" (no notifications)`)
	}
	type key struct{ namespace, metric, dimension string }
	alarms := map[key][]string{}
	for _, id := range tpl.ResourcesOfType("AWS::CloudWatch::Alarm") {
		p := sam.Get(tpl.Resources[id], "Properties")
		for _, prop := range []string{"AlarmActions", "OKActions", "InsufficientDataActions"} {
			if v := sam.Get(p, prop); v != nil && sam.Text(v) != alarmActions {
				t.Errorf("%s %s = %s, want %s", id, prop, sam.Text(v), alarmActions)
			}
		}
		if sam.Get(p, "AlarmActions") == nil {
			t.Errorf("%s notifies no one: AlarmActions must be %s", id, alarmActions)
		}
		if got := sam.Text(sam.Get(p, "TreatMissingData")); got != "notBreaching" {
			t.Errorf("%s TreatMissingData = %q, want notBreaching", id, got)
		}
		if sam.Get(p, "Metrics") != nil { // metric math: its metrics
			for _, m := range sam.Get(p, "Metrics").Content {
				ms := sam.Get(m, "MetricStat", "Metric")
				if ms != nil {
					alarms[key{sam.Scalar(sam.Get(ms, "Namespace")), sam.Scalar(sam.Get(ms, "MetricName")), dimensionText(sam.Get(ms, "Dimensions"))}] = append(
						alarms[key{sam.Scalar(sam.Get(ms, "Namespace")), sam.Scalar(sam.Get(ms, "MetricName")), dimensionText(sam.Get(ms, "Dimensions"))}], id)
				}
			}
			continue
		}
		k := key{sam.Scalar(sam.Get(p, "Namespace")), sam.Scalar(sam.Get(p, "MetricName")), dimensionText(sam.Get(p, "Dimensions"))}
		alarms[k] = append(alarms[k], id)
	}
	for _, id := range tpl.FunctionIDs() {
		for _, metric := range []string{"Errors", "Throttles"} {
			if len(alarms[key{"AWS/Lambda", metric, "FunctionName=!Ref " + id}]) == 0 {
				t.Errorf("%s has no %s alarm (AWS/Lambda %s, FunctionName !Ref %s)", id, metric, metric, id)
			}
		}
	}
	for _, k := range []key{
		{"AWS/ApiGateway", "5xx", "ApiId=!Ref HttpApi"},
		{"AWS/ApiGateway", "Count", "ApiId=!Ref HttpApi"},
		{"AWS/Lambda", "Duration", "FunctionName=!Ref CallbackFunction"},
	} {
		if len(alarms[k]) == 0 {
			t.Errorf("no alarm reads %s %s (%s)", k.namespace, k.metric, k.dimension)
		}
	}
	if ids := alarms[key{"AWS/Lambda", "Duration", "FunctionName=!Ref CallbackFunction"}]; len(ids) > 0 {
		if got := sam.Scalar(sam.Get(tpl.Resources[ids[0]], "Properties", "ExtendedStatistic")); got != "p99" {
			t.Errorf("%s: ExtendedStatistic %q, want p99", ids[0], got)
		}
	}
}

func dimensionText(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	var parts []string
	for _, d := range n.Content {
		parts = append(parts, sam.Scalar(sam.Get(d, "Name"))+"="+sam.Text(sam.Get(d, "Value")))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// TestTemplateDashboard: the dashboard body is valid JSON once CloudFormation has
// substituted it, shows every alarm and every metric the metric filters make, and the
// functions write JSON system logs (the cold-start filter reads Lambda's platform.report).
func TestTemplateDashboard(t *testing.T) {
	tpl, _ := loadTemplate(t)
	ids := tpl.ResourcesOfType("AWS::CloudWatch::Dashboard")
	if len(ids) != 1 {
		t.Fatalf("template.yaml has %d dashboards, want 1", len(ids))
	}
	body := sam.Get(tpl.Resources[ids[0]], "Properties", "DashboardBody")
	if body.Tag != "!Sub" {
		t.Fatalf("DashboardBody: want !Sub, got %s", body.Tag)
	}
	refs := regexp.MustCompile(`\$\{([^}!]+)\}`)
	var missing []string
	substituted := refs.ReplaceAllStringFunc(body.Value, func(m string) string {
		name := m[2 : len(m)-1]
		base, _, _ := strings.Cut(name, ".")
		if tpl.Resources[base] == nil && tpl.Parameters[base] == nil && !strings.HasPrefix(name, "AWS::") {
			missing = append(missing, name)
		}
		if tpl.Parameters[base] != nil && sam.Scalar(sam.Get(tpl.Parameters[base], "Type")) == "Number" {
			return "1"
		}
		return "X"
	})
	if len(missing) > 0 {
		t.Errorf("DashboardBody refers to unknown %v", missing)
	}
	var dash struct {
		Widgets []struct {
			Type       string         `json:"type"`
			Properties map[string]any `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(substituted), &dash); err != nil {
		t.Fatalf("DashboardBody is not JSON after substitution: %v", err)
	}
	for _, w := range dash.Widgets {
		if w.Properties["title"] == nil {
			t.Errorf("a %s widget has no title", w.Type)
		}
	}
	for _, id := range tpl.ResourcesOfType("AWS::CloudWatch::Alarm") {
		if !strings.Contains(body.Value, "${"+id+".Arn}") {
			t.Errorf("the dashboard does not show alarm %s", id)
		}
	}
	for _, id := range tpl.ResourcesOfType("AWS::Logs::MetricFilter") {
		for _, m := range sam.Get(tpl.Resources[id], "Properties", "MetricTransformations").Content {
			if name := sam.Scalar(sam.Get(m, "MetricName")); !strings.Contains(body.Value, `"`+name+`"`) && !strings.Contains(body.Value, `\"`+name+`\"`) {
				t.Errorf("the dashboard does not show metric %s (%s)", name, id)
			}
		}
	}
	for _, id := range tpl.FunctionIDs() {
		if got := sam.Text(sam.Get(tpl.Resources[id], "Properties", "LoggingConfig", "LogFormat")); got != "JSON" {
			t.Errorf("%s LoggingConfig.LogFormat = %q, want JSON (cold starts are read from JSON platform.report records)", id, got)
		}
	}
}

// TestMetricFiltersReadLoggedFields: every log message a metric filter matches ($.msg = "…")
// is written by a log call in shared/ or functions/, and that call writes every field the
// filter reads. Lambda's own records ($.type = "platform.…") are not ours to check.
func TestMetricFiltersReadLoggedFields(t *testing.T) {
	tpl, root := loadTemplate(t)
	source := goSource(t, root)
	fieldRef := regexp.MustCompile(`\$\.([A-Za-z_][A-Za-z0-9_]*)`)
	msgRef := regexp.MustCompile(`\$\.msg\s*=\s*"([^"]+)"`)
	seen := map[string]bool{}
	for _, id := range tpl.ResourcesOfType("AWS::Logs::MetricFilter") {
		p := sam.Get(tpl.Resources[id], "Properties")
		pattern := sam.Scalar(sam.Get(p, "FilterPattern"))
		if strings.Contains(pattern, `$.type = "platform.`) {
			continue
		}
		m := msgRef.FindStringSubmatch(pattern)
		if m == nil {
			t.Errorf("%s: pattern %s matches no $.msg; match one log message", id, pattern)
			continue
		}
		msg := m[1]
		seen[msg] = true
		text := pattern
		for _, tr := range sam.Get(p, "MetricTransformations").Content {
			text += " " + sam.Scalar(sam.Get(tr, "MetricValue"))
			if dims := sam.Get(tr, "Dimensions"); dims != nil {
				for _, d := range dims.Content {
					text += " " + sam.Scalar(sam.Get(d, "Value"))
				}
			}
		}
		calls := logCalls(source, msg)
		if _, pending := notYetLogged[msg]; pending {
			if len(calls) > 0 {
				t.Errorf("%q is logged now: remove it from notYetLogged", msg)
			}
			continue
		}
		if len(calls) == 0 {
			t.Errorf("%s reads log message %q, which no log call in shared/ or functions/ writes", id, msg)
			continue
		}
		for _, f := range fieldRef.FindAllStringSubmatch(text, -1) {
			field := f[1]
			if field == "msg" || field == "level" || field == "time" || field == "request_id" {
				continue // written by log/slog and shared/logging for every line
			}
			found := false
			for _, call := range calls {
				found = found || strings.Contains(call, `"`+field+`"`)
			}
			if !found {
				t.Errorf("%s reads $.%s of %q, which its log call does not write:\n%s", id, field, msg, strings.Join(calls, "\n"))
			}
		}
	}
	for msg := range notYetLogged {
		if !seen[msg] {
			t.Errorf("notYetLogged lists %q, which no metric filter reads", msg)
		}
	}
}

// goSource returns the non-test Go files under shared/ and functions/.
func goSource(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{"shared", "functions"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			files = append(files, string(b))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// logCalls returns the text of every log/slog call (Info, InfoContext, …) whose message is
// msg, from its name to its closing parenthesis.
func logCalls(files []string, msg string) []string {
	// InfoContext(ctx, "msg", …) and LogAttrs(ctx, level, "msg", …): up to two arguments
	// before the message.
	start := regexp.MustCompile(`\.(?:Debug|Info|Warn|Error|Log)(?:Context|Attrs)?\((?:[^,()"]*(?:\([^()]*\))?\s*,\s*){0,2}"` + regexp.QuoteMeta(msg) + `"`)
	var out []string
	for _, src := range files {
		for _, loc := range start.FindAllStringIndex(src, -1) {
			depth, end := 0, len(src)
			for i := loc[0]; i < len(src); i++ {
				if src[i] == '(' {
					depth++
				} else if src[i] == ')' {
					if depth--; depth == 0 {
						end = i + 1
						break
					}
				}
			}
			out = append(out, src[loc[0]:end])
		}
	}
	return out
}
