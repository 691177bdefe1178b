package rules

import (
	"sort"
)

// LetterUse is one letter the rules name: print: {letter: …} of a message
// in one language variant.
type LetterUse struct {
	Message  string
	Language string // the variant: nld for the top level, else eng, …
	Letter   string
	Pos      Pos
	// Fields are the personalisation keys the rules add for this message
	// (defaults, message and the rules that send it), besides the
	// router's fixed keys.
	Fields []string
}

// Letters lists every letter the rules name, by message and language, so
// that `rules check` can render each once with sample data.
func (rs *RuleSet) Letters() []LetterUse {
	var out []LetterUse
	for _, m := range rs.messages {
		fields := map[string]bool{}
		add := func(l personalisationLevel) {
			for n := range l.all {
				fields[n] = true
			}
			for _, k := range l.kind {
				for n := range k {
					fields[n] = true
				}
			}
		}
		add(rs.defaults.personalisation)
		add(m.personalisation)
		for _, r := range rs.rules {
			if r.Message != m.Name {
				continue
			}
			for _, k := range r.personalisation {
				for n := range k {
					fields[n] = true
				}
			}
		}
		names := make([]string, 0, len(fields))
		for n := range fields {
			names = append(names, n)
		}
		sort.Strings(names)
		for lang, chans := range m.Variants {
			if t, ok := chans["print"]; ok && t.Letter != "" {
				out = append(out, LetterUse{Message: m.Name, Language: lang, Letter: t.Letter, Pos: m.Pos, Fields: names})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Message != out[j].Message {
			return out[i].Message < out[j].Message
		}
		return out[i].Language < out[j].Language
	})
	return out
}
