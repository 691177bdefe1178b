package rules

import "fmt"

// lint finds what is legal but almost certainly a mistake: rules that an
// earlier rule always catches first, and messages no rule sends.
func lint(rs *RuleSet) Errors {
	var ws Errors
	for j, later := range rs.rules {
		for _, earlier := range rs.rules[:j] {
			if covers(earlier, later) {
				ws = append(ws, Error{Pos: later.Pos,
					Msg:  fmt.Sprintf("rule %q can never match: rule %q (%s) catches every event it would", later.Name, earlier.Name, earlier.Pos),
					Hint: "move the more specific rule above the general one, or give the general one continue: true"})
				break
			}
		}
	}
	used := map[string]bool{}
	for _, r := range rs.rules {
		used[r.Message] = true
	}
	for _, name := range rs.Messages() {
		if !used[name] {
			m := rs.messages[name]
			ws = append(ws, Error{Pos: m.Pos, Msg: fmt.Sprintf("message %q is not used by any rule", name),
				Hint: "remove it, or refer to it with message: " + name})
		}
	}
	ws.sort()
	return ws
}

// covers reports whether every input that matches later also matches
// earlier, which then stops evaluation. Only conditions we can reason about
// count: no `when` on earlier, and a shorthand that is a superset of
// later's on every key.
func covers(earlier, later *Rule) bool {
	if earlier.Continue || earlier.when != "" {
		return false
	}
	if later.roleMask&^earlier.roleMask != 0 {
		return false
	}
	for key, vals := range earlier.match {
		lv, ok := later.match[key]
		if !ok {
			return false
		}
		set := setOf(vals)
		for _, v := range lv {
			if !set[v] {
				return false
			}
		}
	}
	return true
}
