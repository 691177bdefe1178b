package rules

import (
	"sort"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
	exprparser "github.com/expr-lang/expr/parser"
)

// filter is what the index can know of a condition without running it:
// the event types and zaaktype identificaties it requires. A nil set means
// "any". It is always implied by the condition, never instead of it: a rule
// passing the filter still runs its program.
type filter struct {
	events    map[string]bool
	zaaktypen map[string]bool
}

func setOf(vals []string) map[string]bool {
	if vals == nil {
		return nil
	}
	m := make(map[string]bool, len(vals))
	for _, v := range vals {
		m[v] = true
	}
	return m
}

func intersect(a, b map[string]bool) map[string]bool {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	out := map[string]bool{}
	for k := range a {
		if b[k] {
			out[k] = true
		}
	}
	return out
}

func (f filter) and(g filter) filter {
	return filter{events: intersect(f.events, g.events), zaaktypen: intersect(f.zaaktypen, g.zaaktypen)}
}

// filterFromWhen finds `event.type == "x"`, `event.type in [...]` and the
// same for zaaktype.identificatie among the top-level && terms of an
// expression, so that hand-written conditions are indexed like shorthands.
func filterFromWhen(src string) filter {
	tree, err := exprparser.Parse(src)
	if err != nil {
		return filter{}
	}
	var f filter
	var walk func(n ast.Node)
	walk = func(n ast.Node) {
		b, ok := n.(*ast.BinaryNode)
		if !ok {
			return
		}
		switch b.Operator {
		case "&&", "and":
			walk(b.Left)
			walk(b.Right)
		case "==":
			field, val := memberPath(b.Left), b.Right
			if field == "" {
				field, val = memberPath(b.Right), b.Left
			}
			if s, ok := val.(*ast.StringNode); ok {
				f = f.and(termFilter(field, []string{s.Value}))
			}
		case "in":
			arr, ok := b.Right.(*ast.ArrayNode)
			if !ok {
				return
			}
			var vals []string
			for _, e := range arr.Nodes {
				s, ok := e.(*ast.StringNode)
				if !ok {
					return
				}
				vals = append(vals, s.Value)
			}
			f = f.and(termFilter(memberPath(b.Left), vals))
		}
	}
	walk(tree.Node)
	return f
}

func termFilter(field string, vals []string) filter {
	switch field {
	case "event.type":
		return filter{events: setOf(append([]string{}, vals...))}
	case "zaaktype.identificatie":
		return filter{zaaktypen: setOf(append([]string{}, vals...))}
	}
	return filter{}
}

func memberPath(n ast.Node) string {
	m, ok := n.(*ast.MemberNode)
	if !ok || m.Method {
		return ""
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	prop, ok2 := m.Property.(*ast.StringNode)
	if !ok || !ok2 {
		return ""
	}
	return id.Value + "." + prop.Value
}

const anyKey = "\x00any"

// ruleIndex maps event type, then zaaktype identificatie, to the rules (in
// order) whose filter admits that pair. Keys the rules never mention share
// the anyKey list, so a 200-rule file evaluates only the handful of rules
// that can apply.
type ruleIndex map[string]map[string]candidates

// candidates is one list of the index, with the explanation sentence that
// says how far the index narrowed the rules down.
type candidates struct {
	rules []int
	line  string
}

func buildIndex(rules []*Rule) ruleIndex {
	events := map[string]bool{anyKey: true}
	zaaktypen := map[string]bool{anyKey: true}
	for _, r := range rules {
		for e := range r.filter.events {
			events[e] = true
		}
		for z := range r.filter.zaaktypen {
			zaaktypen[z] = true
		}
	}
	idx := ruleIndex{}
	for e := range events {
		byZ := map[string]candidates{}
		for z := range zaaktypen {
			var list []int
			for i, r := range rules {
				if admits(r.filter.events, e) && admits(r.filter.zaaktypen, z) {
					list = append(list, i)
				}
			}
			byZ[z] = candidates{rules: list, line: strconv.Itoa(len(list)) + " van de " + strconv.Itoa(len(rules)) +
				" regels komen in aanmerking op gebeurtenistype en zaaktype."}
		}
		idx[e] = byZ
	}
	return idx
}

func admits(set map[string]bool, key string) bool {
	if set == nil {
		return true
	}
	return key != anyKey && set[key]
}

func (idx ruleIndex) candidates(eventType, zaaktype string) candidates {
	byZ, ok := idx[eventType]
	if !ok {
		byZ = idx[anyKey]
	}
	list, ok := byZ[zaaktype]
	if !ok {
		list = byZ[anyKey]
	}
	return list
}

// fieldHint lists the fields of the part an unknown field was asked of.
func fieldHint(msg string) string {
	parts := map[string][]string{}
	for name, fields := range envFields() {
		parts[name] = fields
	}
	for name, fields := range parts {
		if strings.HasPrefix(msg, name+" has no field") || strings.Contains(msg, "."+name+" ") {
			sort.Strings(fields)
			return name + " has: " + strings.Join(fields, ", ")
		}
	}
	names := make([]string, 0, len(parts))
	for n := range parts {
		names = append(names, n)
	}
	sort.Strings(names)
	fallback := "the environment has: " + strings.Join(names, ", ")
	if _, after, ok := strings.Cut(msg, "unknown name "); ok {
		if f := strings.Fields(after); len(f) > 0 {
			return suggest(f[0], names, fallback)
		}
	}
	return fallback
}
