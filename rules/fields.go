package rules

import (
	"reflect"
	"strings"
	"sync"
)

var envFields = sync.OnceValue(func() map[string][]string {
	out := map[string][]string{}
	t := reflect.TypeOf(Env{})
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("expr")
		if f.Type.Kind() != reflect.Struct || f.Type.PkgPath() == "time" {
			out[name] = nil
			continue
		}
		var fields []string
		for j := 0; j < f.Type.NumField(); j++ {
			fields = append(fields, f.Type.Field(j).Tag.Get("expr"))
		}
		out[name] = fields
	}
	return out
})

// envTypeNames rewrites Go type names in expr's messages ("type
// rules.ZaakEnv has no field foo") to the names admins write ("zaak has no
// field foo").
var envTypeNames = func() *strings.Replacer {
	var pairs []string
	t := reflect.TypeOf(Env{})
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() != "time" {
			pairs = append(pairs, "type rules."+f.Type.Name(), f.Tag.Get("expr"), "rules."+f.Type.Name(), f.Tag.Get("expr"))
		}
	}
	pairs = append(pairs, "rules.Env", "the environment")
	return strings.NewReplacer(pairs...)
}()

// Fields returns every field a condition can use, as "part.field", for the
// documentation and `koerier rules explain --fields`.
func Fields() []string {
	var out []string
	t := reflect.TypeOf(Env{})
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("expr")
		if f.Type.Kind() != reflect.Struct || f.Type.PkgPath() == "time" {
			out = append(out, name)
			continue
		}
		for j := 0; j < f.Type.NumField(); j++ {
			out = append(out, name+"."+f.Type.Field(j).Tag.Get("expr"))
		}
	}
	return out
}
