package samtpl

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Value is a template value that is not evaluated yet: a literal, or an
// intrinsic function call. The zero Value is absent.
type Value struct {
	node *yaml.Node
	path string
}

// IsZero reports whether the value is absent.
func (v Value) IsZero() bool { return v.node == nil }

// Literal returns the value when it is a plain scalar.
func (v Value) Literal() (string, bool) {
	if v.node == nil || v.node.Kind != yaml.ScalarNode || isTagged(v.node) {
		return "", false
	}
	return v.node.Value, true
}

// Line is the value's line in the template, 0 when absent.
func (v Value) Line() int {
	if v.node == nil {
		return 0
	}
	return v.node.Line
}

// Path is the value's property path, e.g. Resources.Foo.Properties.BucketName.
func (v Value) Path() string { return v.path }

// Target returns the logical id and attribute a value points at when it is
// a Ref (attribute "") or an Fn::GetAtt.
func (v Value) Target() (logicalID, attribute string, ok bool) {
	name, arg, ok := intrinsic(v.node)
	if !ok {
		return "", "", false
	}
	switch name {
	case "Ref":
		if arg.Kind == yaml.ScalarNode {
			return arg.Value, "", true
		}
	case "Fn::GetAtt":
		id, attr, err := getAttArgs(arg)
		if err == nil {
			return id, attr, true
		}
	}
	return "", "", false
}

// node is a cursor in the YAML tree that remembers its property path.
type node struct {
	n    *yaml.Node
	path string
}

func (c node) errorf(file, format string, args ...any) error {
	line := 0
	if c.n != nil {
		line = c.n.Line
	}
	return fmt.Errorf("%s:%d: %s: %s", file, line, c.path, fmt.Sprintf(format, args...))
}

// deref follows YAML aliases.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func (c node) get(key string) (node, bool) {
	n := deref(c.n)
	if n == nil || n.Kind != yaml.MappingNode || isTagged(n) {
		return node{}, false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return node{n: deref(n.Content[i+1]), path: c.path + "." + key}, true
		}
	}
	return node{}, false
}

func (c node) isMap() bool {
	n := deref(c.n)
	return n != nil && n.Kind == yaml.MappingNode && !isIntrinsicMap(n)
}

// pairs returns a mapping's keys and values in file order.
func (c node) pairs() []struct {
	key string
	val node
} {
	n := deref(c.n)
	var out []struct {
		key string
		val node
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		out = append(out, struct {
			key string
			val node
		}{k, node{n: deref(n.Content[i+1]), path: c.path + "." + k}})
	}
	return out
}

func (c node) items() []node {
	n := deref(c.n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]node, len(n.Content))
	for i, it := range n.Content {
		out[i] = node{n: deref(it), path: fmt.Sprintf("%s[%d]", c.path, i)}
	}
	return out
}

func (c node) value() Value { return Value{node: c.n, path: c.path} }

// literal returns a plain scalar's text.
func (c node) literal() (string, bool) { return c.value().Literal() }

// describe names what a node is for error messages.
func describe(n *yaml.Node) string {
	if name, _, ok := intrinsic(n); ok {
		return name
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "an unknown node"
}

// isTagged reports a CloudFormation short-form tag such as !Ref.
func isTagged(n *yaml.Node) bool {
	return strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!")
}

func isIntrinsicMap(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return false
	}
	k := n.Content[0].Value
	return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
}

// intrinsic returns an intrinsic function's long name and its argument, for
// both the short form (!Sub x) and the long form ({"Fn::Sub": x}).
func intrinsic(n *yaml.Node) (name string, arg *yaml.Node, ok bool) {
	n = deref(n)
	if n == nil {
		return "", nil, false
	}
	if isTagged(n) {
		short := strings.TrimPrefix(n.Tag, "!")
		name = "Fn::" + short
		if short == "Ref" || short == "Condition" {
			name = short
		}
		plain := *n
		plain.Tag = ""
		plain.Style &^= yaml.TaggedStyle
		return name, &plain, true
	}
	if isIntrinsicMap(n) {
		return n.Content[0].Value, deref(n.Content[1]), true
	}
	return "", nil, false
}

func getAttArgs(arg *yaml.Node) (id, attr string, err error) {
	switch arg.Kind {
	case yaml.ScalarNode:
		id, attr, ok := strings.Cut(arg.Value, ".")
		if !ok || id == "" || attr == "" {
			return "", "", fmt.Errorf("Fn::GetAtt %q: want LogicalId.Attribute", arg.Value)
		}
		return id, attr, nil
	case yaml.SequenceNode:
		if len(arg.Content) == 2 && arg.Content[0].Kind == yaml.ScalarNode && arg.Content[1].Kind == yaml.ScalarNode {
			return arg.Content[0].Value, arg.Content[1].Value, nil
		}
	}
	return "", "", fmt.Errorf("Fn::GetAtt: want LogicalId.Attribute or [LogicalId, Attribute]")
}
