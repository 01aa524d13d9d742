package samtpl

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrNoValue is returned by Eval for a value that evaluates to
// AWS::NoValue: the property or variable is to be left out.
var ErrNoValue = errors.New("value is AWS::NoValue")

// Scope is what Eval needs from the stack being run.
type Scope struct {
	StackName string
	Region    string
	AccountID string
	// Parameters holds the supplied parameter values; a parameter missing
	// here takes its template Default.
	Parameters map[string]string
	// Resource returns a resource's Ref (attribute "") or Fn::GetAtt value.
	Resource func(logicalID, attribute string) (string, error)
}

// Eval evaluates a value to a string. It fails when the value needs a
// parameter that has neither a supplied value nor a default, or a resource
// attribute that Scope.Resource cannot give. A value that evaluates to
// AWS::NoValue returns ErrNoValue.
func (t *Template) Eval(v Value, s Scope) (string, error) {
	if v.node == nil {
		return "", fmt.Errorf("%s: no value", v.path)
	}
	e := evaluator{t: t, s: s}
	out, err := e.eval(v.node, nil)
	if err != nil {
		if errors.Is(err, ErrNoValue) {
			return "", err
		}
		return "", fmt.Errorf("%s:%d: %s: %w", t.Name, v.node.Line, v.path, err)
	}
	str, ok := out.(string)
	if !ok {
		return "", fmt.Errorf("%s:%d: %s: want a string, got a list", t.Name, v.node.Line, v.path)
	}
	return str, nil
}

// ParameterValue returns a parameter's supplied value or its default.
func (t *Template) ParameterValue(name string, supplied map[string]string) (string, error) {
	if v, ok := supplied[name]; ok {
		return v, nil
	}
	p, ok := t.Parameter(name)
	if !ok {
		return "", fmt.Errorf("parameter %s is not declared", name)
	}
	if !p.HasDefault {
		return "", fmt.Errorf("parameter %s has no value and no default", name)
	}
	return p.Default, nil
}

// ParameterError is a problem with one parameter's value.
type ParameterError struct {
	Name    string
	Problem string // e.g. "has no value and no default"
}

func (e *ParameterError) Error() string { return "parameter " + e.Name + " " + e.Problem }

// CheckParameters checks supplied values against the template: every
// parameter without a default must be supplied, and each value must satisfy
// AllowedValues, AllowedPattern and MinLength. The error joins one
// *ParameterError per problem, in parameter order.
func (t *Template) CheckParameters(supplied map[string]string) error {
	var errs []error
	names := make([]string, 0, len(supplied))
	for name := range supplied {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, ok := t.Parameter(name); !ok {
			errs = append(errs, &ParameterError{Name: name, Problem: "is not declared in " + t.Name})
		}
	}
	for _, p := range t.Parameters {
		v, ok := supplied[p.Name]
		switch {
		case !ok && !p.HasDefault:
			errs = append(errs, &ParameterError{Name: p.Name, Problem: "has no value and no default"})
			continue
		case !ok:
			v = p.Default
		}
		if len(p.AllowedValues) > 0 && !slices.Contains(p.AllowedValues, v) {
			errs = append(errs, &ParameterError{Name: p.Name, Problem: fmt.Sprintf("is %q: want one of %s", v, strings.Join(p.AllowedValues, ", "))})
		}
		if p.pattern != nil && !p.pattern.MatchString(v) {
			shown := fmt.Sprintf("%q", v)
			if p.NoEcho {
				shown = "the value"
			}
			errs = append(errs, &ParameterError{Name: p.Name, Problem: fmt.Sprintf("is %s: does not match AllowedPattern %s", shown, p.AllowedPattern)})
		}
		if len(v) < p.MinLength {
			errs = append(errs, &ParameterError{Name: p.Name, Problem: fmt.Sprintf("must be at least %d characters long", p.MinLength)})
		}
	}
	return errors.Join(errs...)
}

type evaluator struct {
	t *Template
	s Scope
}

// eval returns a string or a []string.
func (e evaluator) eval(n *yaml.Node, locals map[string]string) (any, error) {
	n = deref(n)
	name, arg, ok := intrinsic(n)
	if !ok {
		return e.literal(n, locals)
	}
	switch name {
	case "Ref":
		return e.ref(arg.Value, locals)
	case "Fn::GetAtt":
		id, attr, err := getAttArgs(arg)
		if err != nil {
			return nil, err
		}
		return e.resource(id, attr)
	case "Fn::Sub":
		return e.sub(arg)
	case "Fn::Join":
		return e.join(arg, locals)
	case "Fn::Select":
		return e.selectItem(arg, locals)
	case "Fn::Split":
		return e.split(arg, locals)
	case "Fn::If":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
			return nil, errors.New("Fn::If: want [condition, value if true, value if false]")
		}
		ok, err := e.condition(deref(arg.Content[0]).Value)
		if err != nil {
			return nil, err
		}
		if ok {
			return e.eval(arg.Content[1], locals)
		}
		return e.eval(arg.Content[2], locals)
	}
	return nil, fmt.Errorf("%s does not evaluate to a string here", name)
}

// literal evaluates a node that is no intrinsic: a scalar is its value, a
// sequence the list of its items' values (AWS::NoValue items left out).
func (e evaluator) literal(n *yaml.Node, locals map[string]string) (any, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, it := range n.Content {
			v, err := e.evalString(it, locals)
			if errors.Is(err, ErrNoValue) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot evaluate %s to a string", describe(n))
}

// join evaluates Fn::Join's [delimiter, [values]].
func (e evaluator) join(arg *yaml.Node, locals map[string]string) (any, error) {
	if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
		return nil, errors.New("Fn::Join: want [delimiter, [values]]")
	}
	list, err := e.eval(arg.Content[1], locals)
	if err != nil {
		return nil, err
	}
	items, ok := list.([]string)
	if !ok {
		return nil, errors.New("Fn::Join: want a list of values")
	}
	return strings.Join(items, deref(arg.Content[0]).Value), nil
}

// split evaluates Fn::Split's [delimiter, source string].
func (e evaluator) split(arg *yaml.Node, locals map[string]string) (any, error) {
	if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
		return nil, errors.New("Fn::Split: want [delimiter, string]")
	}
	src, err := e.evalString(arg.Content[1], locals)
	if err != nil {
		return nil, err
	}
	return strings.Split(src, deref(arg.Content[0]).Value), nil
}

// selectItem evaluates Fn::Select's [index, [values]].
func (e evaluator) selectItem(arg *yaml.Node, locals map[string]string) (any, error) {
	if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
		return nil, errors.New("Fn::Select: want [index, [values]]")
	}
	idx, err := e.evalString(arg.Content[0], locals)
	if err != nil {
		return nil, err
	}
	i, err := strconv.Atoi(idx)
	if err != nil {
		return nil, fmt.Errorf("Fn::Select: index %q is not an integer", idx)
	}
	list, err := e.eval(arg.Content[1], locals)
	if err != nil {
		return nil, err
	}
	items, ok := list.([]string)
	if !ok || i < 0 || i >= len(items) {
		return nil, fmt.Errorf("Fn::Select: index %d out of range", i)
	}
	return items[i], nil
}

func (e evaluator) evalString(n *yaml.Node, locals map[string]string) (string, error) {
	v, err := e.eval(n, locals)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", errors.New("want a string, got a list")
	}
	return s, nil
}

func (e evaluator) ref(name string, locals map[string]string) (any, error) {
	if v, ok := locals[name]; ok {
		return v, nil
	}
	switch name {
	case "AWS::NoValue":
		return nil, ErrNoValue
	case "AWS::StackName":
		return e.s.StackName, nil
	case "AWS::Region":
		return e.s.Region, nil
	case "AWS::AccountId":
		return e.s.AccountID, nil
	case "AWS::Partition":
		return "aws", nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::StackId":
		return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/local", e.s.Region, e.s.AccountID, e.s.StackName), nil
	case "AWS::NotificationARNs":
		return []string{}, nil
	}
	if _, ok := e.t.Parameter(name); ok {
		return e.t.ParameterValue(name, e.s.Parameters)
	}
	return e.resource(name, "")
}

func (e evaluator) resource(id, attr string) (any, error) {
	if _, ok := e.t.resources[id]; !ok {
		return nil, fmt.Errorf("no resource %s", id)
	}
	if e.s.Resource == nil {
		return nil, fmt.Errorf("resource %s is not provisioned", id)
	}
	return e.s.Resource(id, attr)
}

func (e evaluator) sub(arg *yaml.Node) (any, error) {
	str := arg
	locals := map[string]string{}
	if arg.Kind == yaml.SequenceNode {
		if len(arg.Content) != 2 {
			return nil, errors.New("Fn::Sub: want a string or [string, {Var: value}]")
		}
		str = deref(arg.Content[0])
		vars := deref(arg.Content[1])
		for i := 0; i+1 < len(vars.Content); i += 2 {
			v, err := e.evalString(vars.Content[i+1], nil)
			if err != nil {
				return nil, fmt.Errorf("Fn::Sub variable %s: %w", vars.Content[i].Value, err)
			}
			locals[vars.Content[i].Value] = v
		}
	}
	var firstErr error
	out := subVar.ReplaceAllStringFunc(str.Value, func(m string) string {
		name := m[2 : len(m)-1]
		var v any
		var err error
		if id, attr, ok := strings.Cut(name, "."); ok {
			v, err = e.resource(id, attr)
		} else {
			v, err = e.ref(name, locals)
		}
		s, isStr := v.(string)
		if err == nil && !isStr {
			err = fmt.Errorf("${%s} is not a string", name)
		}
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("Fn::Sub ${%s}: %w", name, err)
		}
		return s
	})
	if firstErr != nil {
		return nil, firstErr
	}
	// ${!Literal} writes ${Literal}.
	return strings.ReplaceAll(out, "${!", "${"), nil
}

func (e evaluator) condition(name string) (bool, error) {
	v, ok := e.t.conditions[name]
	if !ok {
		return false, fmt.Errorf("condition %s is not declared", name)
	}
	return e.cond(v.node, map[string]bool{name: true})
}

// cond evaluates a condition function; seen guards against cycles.
func (e evaluator) cond(n *yaml.Node, seen map[string]bool) (bool, error) {
	name, arg, ok := intrinsic(n)
	if !ok {
		return false, fmt.Errorf("want a condition function, got %s", describe(n))
	}
	switch name {
	case "Condition":
		if seen[arg.Value] {
			return false, fmt.Errorf("condition %s refers to itself", arg.Value)
		}
		v, ok := e.t.conditions[arg.Value]
		if !ok {
			return false, fmt.Errorf("condition %s is not declared", arg.Value)
		}
		seen[arg.Value] = true
		return e.cond(v.node, seen)
	case "Fn::Equals":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return false, errors.New("Fn::Equals: want [a, b]")
		}
		a, err := e.evalString(arg.Content[0], nil)
		if err != nil {
			return false, err
		}
		b, err := e.evalString(arg.Content[1], nil)
		if err != nil {
			return false, err
		}
		return a == b, nil
	case "Fn::Not", "Fn::And", "Fn::Or":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) == 0 {
			return false, fmt.Errorf("%s: want a list of conditions", name)
		}
		vals := make([]bool, len(arg.Content))
		for i, c := range arg.Content {
			v, err := e.cond(c, seen)
			if err != nil {
				return false, err
			}
			vals[i] = v
		}
		switch name {
		case "Fn::Not":
			return !vals[0], nil
		case "Fn::And":
			return !slices.Contains(vals, false), nil
		}
		return slices.Contains(vals, true), nil
	}
	return false, fmt.Errorf("%s is not a condition function", name)
}
