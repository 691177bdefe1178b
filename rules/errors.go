package rules

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mijnservices/koerier/internal/spelling"
)

// Pos is a place in a rule file.
type Pos struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Error is one problem found in a rule file, with where it is and how to fix
// it. Warnings use the same type.
type Error struct {
	Pos  Pos    `json:"pos"`
	Msg  string `json:"message"`
	Hint string `json:"hint,omitempty"`
}

func (e Error) Error() string {
	s := e.Pos.String() + ": " + e.Msg
	if e.Hint != "" {
		s += " (hint: " + e.Hint + ")"
	}
	return s
}

// Errors is every problem found while loading, in file order. Load returns
// all of them rather than the first, so that an admin fixes a file in one
// round.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Pos, es[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

// suggest returns a "did you mean" hint for a misspelt word, or fallback.
func suggest(got string, known []string, fallback string) string {
	best, bestD := spelling.Closest(got, known)
	if best != "" && bestD <= 2 && bestD < len(got) {
		return fmt.Sprintf("did you mean %q?", best)
	}
	return fallback
}
