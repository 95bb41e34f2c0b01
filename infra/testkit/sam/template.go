// Package sam checks the AWS SAM side of forgelink: template.yaml against the route table,
// cfn-lint, every events/*.json through the real Lambda handlers, and the real bootstrap
// binaries under the Lambda Runtime Interface Emulator (RIE). Its helpers (BuildBootstrap,
// StartRIE, LoadTemplate, the event fixtures) are shared with the benchmarks.
package sam

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Template is what the tests need from template.yaml.
type Template struct {
	// Globals holds Globals.Function as raw nodes (Runtime, Architectures, ...).
	Globals    map[string]*yaml.Node
	Functions  map[string]*Function // by logical id
	Resources  map[string]*yaml.Node
	Parameters map[string]*yaml.Node
	Conditions map[string]*yaml.Node
}

// Function is one AWS::Serverless::Function.
type Function struct {
	LogicalID   string
	CodeURI     string
	BuildMethod string
	Timeout     int // 0: from Globals
	MemorySize  int // 0: from Globals
	Events      []HTTPEvent
	// Statements are the inline IAM statements of the function's role: its SAM Policies,
	// or the Policies of the AWS::IAM::Role its Role property names (!GetAtt X.Arn).
	Statements []PolicyStatement
	// Role is the logical id of that AWS::IAM::Role ("" for a SAM-generated role), and
	// ManagedPolicies its ManagedPolicyArns as text ("!Sub arn:...", "!If [HasVpc, ...]").
	Role            string
	ManagedPolicies []string
}

// HTTPEvent is one HttpApi event of a function.
type HTTPEvent struct {
	Name   string
	Method string
	Path   string
}

// RouteKey is API Gateway's "METHOD /path".
func (e HTTPEvent) RouteKey() string { return e.Method + " " + e.Path }

// PolicyStatement is one inline IAM statement; Resources keep intrinsic functions as text
// ("!Ref CookieKeySecret", "!Sub arn:...").
type PolicyStatement struct {
	Sid       string
	Effect    string
	Actions   []string
	Resources []string
}

// FunctionName maps a logical id to the function's folder under functions/ and the name
// web.Func* constants name: "IntegrationsFunction" → "integrations".
func FunctionName(logicalID string) string {
	return strings.ToLower(strings.TrimSuffix(logicalID, "Function"))
}

// LogicalID is the inverse of FunctionName: "integrations" → "IntegrationsFunction".
func LogicalID(function string) string {
	if function == "" {
		return ""
	}
	return strings.ToUpper(function[:1]) + function[1:] + "Function"
}

// FunctionFor returns the logical id of the function that serves routeKey ("GET /healthz").
func (t *Template) FunctionFor(routeKey string) (string, bool) {
	for _, id := range t.FunctionIDs() {
		for _, e := range t.Functions[id].Events {
			if e.RouteKey() == routeKey {
				return id, true
			}
		}
	}
	return "", false
}

// FunctionIDs returns the logical ids in a stable order.
func (t *Template) FunctionIDs() []string {
	ids := make([]string, 0, len(t.Functions))
	for id := range t.Functions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// LoadTemplate parses a SAM template. CloudFormation's short tags (!Ref, !Sub, !If, ...)
// are custom YAML tags: the template is walked as yaml.v3 nodes, where a tagged node keeps
// its Tag and Value, instead of being decoded into Go values.
func LoadTemplate(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a YAML mapping", path)
	}
	root := doc.Content[0]
	t := &Template{Globals: map[string]*yaml.Node{}, Functions: map[string]*Function{}, Resources: map[string]*yaml.Node{},
		Parameters: map[string]*yaml.Node{}, Conditions: map[string]*yaml.Node{}}
	if g := Get(root, "Globals", "Function"); g != nil {
		EachPair(g, func(k string, v *yaml.Node) { t.Globals[k] = v })
	}
	EachPair(Get(root, "Parameters"), func(k string, v *yaml.Node) { t.Parameters[k] = v })
	EachPair(Get(root, "Conditions"), func(k string, v *yaml.Node) { t.Conditions[k] = v })
	resources := Get(root, "Resources")
	if resources == nil {
		return nil, errors.New(path + ": no Resources")
	}
	EachPair(resources, func(id string, res *yaml.Node) { t.Resources[id] = res })
	var errs []error
	for id, res := range t.Resources {
		if Scalar(Get(res, "Type")) != "AWS::Serverless::Function" {
			continue
		}
		f, err := parseFunction(id, res, t.Resources)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t.Functions[id] = f
	}
	return t, errors.Join(errs...)
}

// ResourcesOfType returns the logical ids of the resources of type typ, sorted.
func (t *Template) ResourcesOfType(typ string) []string {
	var ids []string
	for id, res := range t.Resources {
		if Scalar(Get(res, "Type")) == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func parseFunction(id string, res *yaml.Node, resources map[string]*yaml.Node) (*Function, error) {
	f := &Function{
		LogicalID:   id,
		CodeURI:     Scalar(Get(res, "Properties", "CodeUri")),
		BuildMethod: Scalar(Get(res, "Metadata", "BuildMethod")),
	}
	var err error
	if f.Timeout, err = IntOf(Get(res, "Properties", "Timeout")); err != nil {
		return nil, fmt.Errorf("%s Timeout: %w", id, err)
	}
	if f.MemorySize, err = IntOf(Get(res, "Properties", "MemorySize")); err != nil {
		return nil, fmt.Errorf("%s MemorySize: %w", id, err)
	}
	var errs []error
	EachPair(Get(res, "Properties", "Events"), func(name string, ev *yaml.Node) {
		if Scalar(Get(ev, "Type")) != "HttpApi" {
			errs = append(errs, fmt.Errorf("%s event %s: type %q, want HttpApi", id, name, Scalar(Get(ev, "Type"))))
			return
		}
		e := HTTPEvent{
			Name:   name,
			Method: strings.ToUpper(Scalar(Get(ev, "Properties", "Method"))),
			Path:   Scalar(Get(ev, "Properties", "Path")),
		}
		if e.Method == "" || e.Path == "" {
			errs = append(errs, fmt.Errorf("%s event %s: Method and Path are required (a catch-all route would hide missing ones)", id, name))
			return
		}
		f.Events = append(f.Events, e)
	})
	if role := Get(res, "Properties", "Role"); role != nil {
		// !GetAtt XRole.Arn: the statements are that role's inline policies.
		name, ok := strings.CutSuffix(role.Value, ".Arn")
		r := resources[name]
		if role.Tag != "!GetAtt" || !ok || Scalar(Get(r, "Type")) != "AWS::IAM::Role" {
			return nil, fmt.Errorf("%s: Role %q: want !GetAtt <an AWS::IAM::Role of this template>.Arn", id, Text(role))
		}
		f.Role = name
		f.ManagedPolicies = strings_(Get(r, "Properties", "ManagedPolicyArns"))
		if pol := Get(r, "Properties", "Policies"); pol != nil {
			for _, p := range pol.Content {
				f.Statements = append(f.Statements, statements(Get(p, "PolicyDocument", "Statement"))...)
			}
		}
	} else if pol := Get(res, "Properties", "Policies"); pol != nil && pol.Kind == yaml.SequenceNode {
		for _, p := range pol.Content {
			st := Get(p, "Statement")
			if st == nil {
				if p.Kind == yaml.ScalarNode {
					errs = append(errs, fmt.Errorf("%s: managed policy %q: use inline least-privilege statements", id, p.Value))
				}
				continue
			}
			f.Statements = append(f.Statements, statements(st)...)
		}
	}
	return f, errors.Join(errs...)
}

// statements reads a policy document's Statement list.
func statements(st *yaml.Node) []PolicyStatement {
	if st == nil {
		return nil
	}
	var out []PolicyStatement
	for _, s := range st.Content {
		out = append(out, PolicyStatement{
			Sid:       Scalar(Get(s, "Sid")),
			Effect:    Scalar(Get(s, "Effect")),
			Actions:   strings_(Get(s, "Action")),
			Resources: strings_(Get(s, "Resource")),
		})
	}
	return out
}

// Get follows keys through nested mappings; nil when any is missing.
func Get(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return n
}

// EachPair calls fn with each key and value of a mapping node.
func EachPair(n *yaml.Node, fn func(string, *yaml.Node)) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		fn(n.Content[i].Value, n.Content[i+1])
	}
}

// Scalar returns a scalar's value ("" for anything else).
func Scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// Text renders a node compactly, keeping short tags: "!Ref CookieKeySecret".
func Text(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	tag := ""
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		tag = n.Tag + " "
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return tag + n.Value
	case yaml.SequenceNode:
		parts := make([]string, len(n.Content))
		for i, c := range n.Content {
			parts[i] = Text(c)
		}
		return tag + "[" + strings.Join(parts, ", ") + "]"
	case yaml.MappingNode:
		var parts []string
		EachPair(n, func(k string, v *yaml.Node) { parts = append(parts, k+": "+Text(v)) })
		return tag + "{" + strings.Join(parts, ", ") + "}"
	case yaml.AliasNode:
		return Text(n.Alias)
	}
	return ""
}

// strings_ returns a scalar as one string, a sequence as its elements' texts.
func strings_(n *yaml.Node) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.SequenceNode && (n.Tag == "" || n.Tag == "!!seq") {
		out := make([]string, len(n.Content))
		for i, c := range n.Content {
			out[i] = Text(c)
		}
		return out
	}
	return []string{Text(n)}
}

// IntOf parses a scalar as an int (0 for a missing node).
func IntOf(n *yaml.Node) (int, error) {
	if n == nil {
		return 0, nil
	}
	return strconv.Atoi(Scalar(n))
}

// RepoRoot returns the folder of forgelink's go.mod, found upwards from the working
// directory (a test's working directory is its package folder).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/forgelink/forgelink\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("forgelink's go.mod not found above the working directory")
		}
		dir = parent
	}
}
