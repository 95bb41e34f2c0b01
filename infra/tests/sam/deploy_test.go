package sam_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/forgelink/forgelink/infra/testkit/sam"
	"github.com/forgelink/forgelink/infra/testkit/tier"
)

// TestMakefileBuildsWhatTheTemplateDeclares: `sam build` runs make build-<LogicalId>; each
// target builds ./functions/<name> into $(ARTIFACTS_DIR)/bootstrap for linux, with -tags
// lambda.norpc, for the architecture template.yaml declares: change the template and the
// build follows (arm64 → GOARCH=arm64, x86_64 → GOARCH=amd64).
func TestMakefileBuildsWhatTheTemplateDeclares(t *testing.T) {
	tpl, root := loadTemplate(t)
	if _, err := exec.LookPath("make"); err != nil {
		tier.Missing(t, "make", "apt-get install make", "")
	}
	declared := strings.Trim(sam.Text(tpl.Globals["Architectures"]), "[]")
	original, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	goarch := map[string]string{"arm64": "arm64", "x86_64": "amd64"}
	if goarch[declared] == "" {
		t.Fatalf("template.yaml Globals.Function.Architectures = [%s], want arm64 or x86_64", declared)
	}
	// The template as it is, and a copy declaring the other architecture.
	other := map[string]string{"arm64": "x86_64", "x86_64": "arm64"}[declared]
	otherTemplate := filepath.Join(t.TempDir(), "template.yaml")
	swapped := strings.Replace(string(original), "Architectures: ["+declared+"]", "Architectures: ["+other+"]", 1)
	if err := os.WriteFile(otherTemplate, []byte(swapped), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ template, arch string }{{"", declared}, {otherTemplate, other}} {
		for _, id := range tpl.FunctionIDs() {
			args := []string{"-n", "-s", "-C", root, "build-" + id, "ARTIFACTS_DIR=/artifacts"}
			if c.template != "" {
				args = append(args, "LAMBDA_TEMPLATE="+c.template)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			out, err := exec.CommandContext(ctx, "make", args...).CombinedOutput()
			cancel()
			if err != nil {
				t.Errorf("make %s: %v\n%s", strings.Join(args, " "), err, out)
				continue
			}
			want := regexp.MustCompile(`(?m)^GOOS=linux GOARCH=` + goarch[c.arch] + ` CGO_ENABLED=0 \S+ build .*-tags lambda\.norpc.* -o /artifacts/bootstrap \./functions/` + sam.FunctionName(id) + `$`)
			if !want.Match(out) {
				t.Errorf("make build-%s with Architectures [%s] runs:\n%s\nwant GOOS=linux GOARCH=%s, -tags lambda.norpc, -o $(ARTIFACTS_DIR)/bootstrap ./functions/%s",
					id, c.arch, out, goarch[c.arch], sam.FunctionName(id))
			}
		}
	}
}

// TestTemplateNamesFollowTheStack: whatever the stack creates with a name carries the stack
// name, so two stacks (same account, same region) never collide; the table's name is
// CloudFormation's own (unique); there is no Stage parameter that two stacks could share.
func TestTemplateNamesFollowTheStack(t *testing.T) {
	tpl, _ := loadTemplate(t)
	if tpl.Parameters["Stage"] != nil {
		t.Error("template.yaml has a Stage parameter: names derive from the stack name (DESIGN-NOTES.md, Deployment)")
	}
	names := map[string][]string{ // resource type → the property that names it
		"AWS::Logs::LogGroup":           {"LogGroupName"},
		"AWS::SecretsManager::Secret":   {"Name"},
		"AWS::CloudWatch::Alarm":        {"AlarmName"},
		"AWS::CloudWatch::Dashboard":    {"DashboardName"},
		"AWS::Logs::MetricFilter":       {"MetricTransformations"}, // the metric namespace
		"AWS::IAM::Role":                {"RoleName"},
		"AWS::DynamoDB::Table":          {"TableName"},
		"AWS::Serverless::Function":     {"FunctionName"},
		"AWS::Serverless::HttpApi":      {"Name"},
		"AWS::SNS::Topic":               {"TopicName"},
		"AWS::ApiGatewayV2::DomainName": {"DomainName"},
	}
	for id, res := range tpl.Resources {
		typ := sam.Scalar(sam.Get(res, "Type"))
		for _, prop := range names[typ] {
			v := sam.Get(res, "Properties", prop)
			switch {
			case v == nil && typ == "AWS::DynamoDB::Table":
				// CloudFormation names it <stack>-Table-<random>.
			case v == nil && (typ == "AWS::IAM::Role" || typ == "AWS::Serverless::Function" || typ == "AWS::Serverless::HttpApi"):
				// Generated from the stack name.
			case v == nil:
				t.Errorf("%s (%s) has no %s", id, typ, prop)
			case typ == "AWS::DynamoDB::Table":
				t.Errorf("%s sets TableName %s: leave it to CloudFormation (a retained table of a deleted stack would block a new stack of the same name, and renaming replaces the table)", id, sam.Text(v))
			case !strings.Contains(sam.Text(v), "${AWS::StackName}"):
				t.Errorf("%s (%s) %s = %s: derive it from ${AWS::StackName}", id, typ, prop, sam.Text(v))
			}
		}
	}
	env := sam.Get(tpl.Globals["Environment"], "Variables")
	if got := sam.Text(sam.Get(env, "FORGELINK_SECRET_PREFIX")); got != "!Sub forgelink/${AWS::StackName}/" {
		t.Errorf("FORGELINK_SECRET_PREFIX = %s, want !Sub forgelink/${AWS::StackName}/", got)
	}
	if got := sam.Text(sam.Get(env, "FORGELINK_TABLE")); got != "!If [CreateTable, !Ref Table, !Ref TableName]" {
		t.Errorf("FORGELINK_TABLE = %s, want the stack's table unless TableName names one", got)
	}
	// Client secrets: the IAM resources follow the prefix, and stop short of the cookie key.
	for _, id := range tpl.FunctionIDs() {
		for _, s := range tpl.Functions[id].Statements {
			for _, r := range s.Resources {
				if strings.Contains(r, ":secret:") && !strings.HasSuffix(r, ":secret:forgelink/${AWS::StackName}/*/*") {
					t.Errorf("%s %s: secret resource %s, want the client secrets of this stack (forgelink/${AWS::StackName}/*/*)", id, s.Sid, r)
				}
				if strings.Contains(r, "dynamodb") || strings.Contains(r, "Table") {
					if r != `!If [CreateTable, !GetAtt Table.Arn, !Sub arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TableName}]` {
						t.Errorf("%s %s: table resource %s, want the table FORGELINK_TABLE names", id, s.Sid, r)
					}
				}
			}
		}
	}
}

// TestTemplateDeletionPolicies: what outlives the stack is chosen, not defaulted. The table
// stays (Retain, on delete and on replacement, plus deletion protection); the log groups and
// the cookie key go with the stack.
func TestTemplateDeletionPolicies(t *testing.T) {
	tpl, _ := loadTemplate(t)
	want := map[string]string{
		"AWS::DynamoDB::Table":        "Retain",
		"AWS::Logs::LogGroup":         "Delete",
		"AWS::SecretsManager::Secret": "Delete",
	}
	for typ, policy := range want {
		ids := tpl.ResourcesOfType(typ)
		if len(ids) == 0 {
			t.Errorf("template.yaml has no %s", typ)
		}
		for _, id := range ids {
			res := tpl.Resources[id]
			for _, key := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
				if got := sam.Scalar(sam.Get(res, key)); got != policy {
					t.Errorf("%s (%s) %s = %q, want %s", id, typ, key, got, policy)
				}
			}
		}
	}
	if got := sam.Text(sam.Get(tpl.Resources["Table"], "Properties", "DeletionProtectionEnabled")); got != "true" {
		t.Errorf("Table DeletionProtectionEnabled = %q, want true", got)
	}
}

// TestTemplateVpcPolicyOnlyWithVpc: each function runs with its own role from the template
// (a SAM-generated role gets AWSLambdaVPCAccessExecutionRole whenever VpcConfig is set, even
// to !Ref AWS::NoValue), and that role carries the VPC-access policy only under HasVpc.
func TestTemplateVpcPolicyOnlyWithVpc(t *testing.T) {
	tpl, _ := loadTemplate(t)
	if got := sam.Text(sam.Get(tpl.Globals["VpcConfig"])); !strings.HasPrefix(got, "!If [HasVpc, ") {
		t.Errorf("Globals.Function.VpcConfig = %s, want !If [HasVpc, ...]", got)
	}
	if got := sam.Text(tpl.Conditions["HasVpc"]); got != `!Not [!Equals [!Join [, !Ref VpcSubnetIds], ]]` {
		t.Errorf("condition HasVpc = %s, want: VpcSubnetIds is not empty", got)
	}
	allowed := []string{
		"!Sub arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
		"!Sub arn:${AWS::Partition}:iam::aws:policy/AWSXrayWriteOnlyAccess",
		"!If [HasVpc, !Sub arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole, !Ref AWS::NoValue]",
	}
	for _, id := range tpl.FunctionIDs() {
		f := tpl.Functions[id]
		if f.Role == "" {
			t.Errorf("%s has a SAM-generated role: give it Role: !GetAtt <role>.Arn", id)
			continue
		}
		if sam.Get(tpl.Resources[id], "Properties", "Policies") != nil {
			t.Errorf("%s: Policies is ignored next to Role; put the statements into %s", id, f.Role)
		}
		if !slices.Equal(f.ManagedPolicies, allowed) {
			t.Errorf("%s (%s) ManagedPolicyArns =\n  %s\nwant\n  %s", id, f.Role, strings.Join(f.ManagedPolicies, "\n  "), strings.Join(allowed, "\n  "))
		}
		for _, other := range tpl.FunctionIDs() {
			if other != id && tpl.Functions[other].Role == f.Role {
				t.Errorf("%s and %s share the role %s: each function gets its own least privilege", id, other, f.Role)
			}
		}
	}
}

// TestSamconfigDeploysWithoutQuestions: samconfig.toml lets `sam deploy` run without
// --guided: per environment a stack name, the IAM capability, a managed artifacts bucket,
// no region (the user's own), and parameter overrides that the template has.
func TestSamconfigDeploysWithoutQuestions(t *testing.T) {
	tpl, root := loadTemplate(t)
	cfg := readSamconfig(t, filepath.Join(root, "samconfig.toml"))
	for _, env := range []string{"default", "prod"} {
		deploy := cfg[env+".deploy.parameters"]
		if deploy == nil {
			t.Errorf("samconfig.toml has no [%s.deploy.parameters]", env)
			continue
		}
		if deploy["stack_name"] == "" {
			t.Errorf("[%s.deploy.parameters] has no stack_name", env)
		}
		if !slices.Contains(strings.Fields(deploy["capabilities"]), "CAPABILITY_IAM") {
			t.Errorf("[%s.deploy.parameters] capabilities = %q, want CAPABILITY_IAM (the functions' roles)", env, deploy["capabilities"])
		}
		if deploy["resolve_s3"] != "true" && deploy["s3_bucket"] == "" {
			t.Errorf("[%s.deploy.parameters] needs resolve_s3 = true or an s3_bucket", env)
		}
		for section, kv := range cfg {
			if strings.HasPrefix(section, env+".") && kv["region"] != "" {
				t.Errorf("[%s] sets region = %s: the region is the user's (AWS_REGION, --region)", section, kv["region"])
			}
		}
		for _, pair := range strings.Fields(deploy["parameter_overrides"]) {
			name, _, _ := strings.Cut(pair, "=")
			if tpl.Parameters[name] == nil {
				t.Errorf("[%s.deploy.parameters] parameter_overrides sets %s, which template.yaml does not declare (the deploy would fail)", env, name)
			}
		}
	}
}

// readSamconfig reads the flat `key = value` pairs of samconfig.toml's sections (strings
// unquoted); enough for the keys SAM reads, no TOML library needed.
func readSamconfig(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			out[section] = map[string]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("samconfig.toml: cannot read %q", line)
			}
			var s string
			if err := yaml.Unmarshal([]byte(strings.TrimSpace(v)), &s); err != nil {
				s = strings.TrimSpace(v)
			}
			if section != "" {
				out[section][strings.TrimSpace(k)] = s
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
