package config

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mijnservices/koerier/internal/spelling"
)

// This file checks the YAML node tree against the Config type before it is
// decoded: unknown keys (with a did-you-mean over that section's own key
// names), duplicate keys and scalars of the wrong type, each reported as
// file:line: key path. It also expands ${ENV} in scalar values, after
// parsing, so that a secret's characters (#, ": ", quotes, newlines) are data
// and can never change the document's structure.

// Error is one problem in a config file.
type Error struct {
	File string
	Line int    // 0 when the problem has no place in the file (a default)
	Key  string // key path, e.g. "server.admin_tokens[0]"
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// envRef matches ${NAME} and ${NAME:-default} inside one scalar value.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// expandEnv replaces ${NAME} and ${NAME:-default} in one value and returns
// the names that were referenced without a default and are not set.
func expandEnv(v string, lookup func(string) (string, bool)) (string, []string) {
	var missing []string
	out := envRef.ReplaceAllStringFunc(v, func(m string) string {
		sub := envRef.FindStringSubmatch(m)
		if val, ok := lookup(sub[1]); ok {
			return val
		}
		if strings.Contains(m, ":-") {
			return sub[2]
		}
		missing = append(missing, sub[1])
		return ""
	})
	return out, missing
}

// walker checks a node tree against a Go type.
type walker struct {
	file   string
	lookup func(string) (string, bool)
	errs   []error
	// lines maps a key path to the line its value starts on.
	lines map[string]int
}

func (w *walker) fail(line int, key, format string, args ...any) {
	w.errs = append(w.errs, &Error{File: w.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
)

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if _, ok := w.lines[path]; !ok && path != "" {
		w.lines[path] = n.Line // a list item; keys are recorded at the key
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			w.walk(c, t, path)
		}
		return
	case yaml.AliasNode:
		// The anchor is checked where it is defined.
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value keeps the default
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.fail(n.Line, path, "want a section of keys, got %s", describe(n))
			return
		}
		fields := yamlFields(t)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				continue // a merge key; its anchor is checked where it is defined
			}
			if prev, dup := seen[k.Value]; dup {
				w.fail(k.Line, join(path, k.Value), "set twice (also on line %d)", prev)
				continue
			}
			seen[k.Value] = k.Line
			f, ok := fields[k.Value]
			if !ok {
				w.fail(k.Line, path, "unknown key %q%s", k.Value, suggest(k.Value, fields, path))
				continue
			}
			w.lines[join(path, k.Value)] = k.Line
			w.walk(v, f.Type, join(path, k.Value))
		}
		return
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			w.fail(n.Line, path, "want a map of names to values, got %s", describe(n))
			return
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if prev, dup := seen[k.Value]; dup {
				w.fail(k.Line, join(path, k.Value), "set twice (also on line %d)", prev)
				continue
			}
			seen[k.Value] = k.Line
			w.lines[join(path, k.Value)] = k.Line
			w.walk(v, t.Elem(), join(path, k.Value))
		}
		return
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && envRef.MatchString(n.Value) {
			w.listFromEnv(n, t, path)
			return
		}
		if n.Kind != yaml.SequenceNode {
			w.fail(n.Line, path, "want a list, got %s", describe(n))
			return
		}
		for i, c := range n.Content {
			w.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
		return
	}
	if n.Kind != yaml.ScalarNode {
		w.fail(n.Line, path, "want a single value, got %s", describe(n))
		return
	}
	w.scalar(n, t, path)
}

// listFromEnv reads a list written as one value holding ${ENV}: empty after
// expansion is an empty list, anything else a list of that one item. This
// lets a deployment leave a list unset (key: ${VAR:-}) without the value
// ever being parsed as YAML.
func (w *walker) listFromEnv(n *yaml.Node, t reflect.Type, path string) {
	v, missing := expandEnv(n.Value, w.lookup)
	for _, name := range missing {
		w.fail(n.Line, path, "environment variable %s is not set (hint: export it, or write ${%s:-default})", name, name)
	}
	if len(missing) > 0 {
		return
	}
	if strings.TrimSpace(v) == "" {
		*n = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: n.Line, Column: n.Column}
		return
	}
	item := *n
	*n = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: n.Line, Column: n.Column, Content: []*yaml.Node{&item}}
	w.walk(&item, t.Elem(), path+"[0]")
}

// scalar expands ${ENV} in n's value and checks it fits t.
func (w *walker) scalar(n *yaml.Node, t reflect.Type, path string) {
	v, missing := expandEnv(n.Value, w.lookup)
	for _, name := range missing {
		w.fail(n.Line, path, "environment variable %s is not set (hint: export it, or write ${%s:-default})", name, name)
	}
	if len(missing) > 0 {
		return
	}
	if v != n.Value {
		n.Value = v
		// The expanded text is a value, never YAML: a string stays a
		// string; other types are resolved from the text alone.
		n.Tag = ""
		n.Style = 0
	}
	if t.Kind() == reflect.String {
		n.Tag = "!!str"
		return
	}
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		// A quoted number or boolean: decode it as what it says.
		n.Tag = ""
		n.Style = 0
	}
	s := strings.TrimSpace(v)
	switch {
	case t == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			w.fail(n.Line, path, "%q is not a duration (hint: 500ms, 30s, 5m, 2h; 0s where off is allowed)", v)
			return
		}
		if d < 0 {
			w.fail(n.Line, path, "%q is negative", v)
		}
		// yaml.v3 decodes a duration only from a string.
		n.Value, n.Tag = s, "!!str"
	case t.Kind() == reflect.Bool:
		switch strings.ToLower(s) {
		case "true", "false":
			n.Value = strings.ToLower(s)
		default:
			w.fail(n.Line, path, "%q is not true or false", v)
		}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		if _, err := strconv.ParseInt(s, 10, t.Bits()); err != nil {
			w.fail(n.Line, path, "%q is not a whole number", v)
			return
		}
		n.Value = s
	}
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a section of keys"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "something else"
}

// yamlFields maps the yaml names of t's fields to the fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	m := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f
	}
	return m
}

// suggest returns "; did you mean ..." for the known key closest to an
// unknown one, or a hint to the section where that key belongs.
func suggest(key string, fields map[string]reflect.StructField, path string) string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	best, bestD := spelling.Closest(key, names)
	section := path
	if section == "" {
		section = "the top level"
	}
	if best != "" && bestD <= max(2, len(key)/3) {
		return fmt.Sprintf(" in %s; did you mean %q?", section, best)
	}
	if elsewhere := keyPaths()[key]; len(elsewhere) > 0 {
		return fmt.Sprintf(" in %s; %q is a key of %s", section, key, strings.Join(elsewhere, ", "))
	}
	return fmt.Sprintf(" in %s (known keys: %s)", section, strings.Join(names, ", "))
}

// keyPaths maps every key name of Config to the sections that have it.
func keyPaths() map[string][]string {
	out := map[string][]string{}
	var visit func(t reflect.Type, path string)
	visit = func(t reflect.Type, path string) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		fields := yamlFields(t)
		names := make([]string, 0, len(fields))
		for name := range fields {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			section := path
			if section == "" {
				section = "the top level"
			}
			out[name] = append(out[name], section)
			visit(fields[name].Type, join(path, name))
		}
	}
	visit(reflect.TypeOf(Config{}), "")
	return out
}
