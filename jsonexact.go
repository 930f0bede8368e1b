package caddyclerk

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// unmarshalExact decodes a JSON object into the struct dst points to, like
// json.Unmarshal but matching member names exactly, as JavaScript does.
// encoding/json matches names case-insensitively, so a signed claim "SUB"
// would otherwise override "sub", or "EXP" an expired "exp"; Clerk's SDK
// treats such members as other claims. Of repeated members the last counts,
// as with JSON.parse. Members that are not fields are ignored.
func unmarshalExact(data []byte, dst any) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return err
	}
	v := reflect.ValueOf(dst).Elem()
	for _, f := range exactFieldsOf(v.Type()) {
		raw, ok := members[f.name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, v.Field(f.index).Addr().Interface()); err != nil {
			return err
		}
	}
	return nil
}

// exactField is a struct field and the JSON member name it takes.
type exactField struct {
	name  string
	index int
}

var exactFieldCache sync.Map // reflect.Type → []exactField

// exactFieldsOf lists t's fields with their JSON names: the json tag's name,
// else the Go field name; fields tagged "-" and unexported ones are skipped.
func exactFieldsOf(t reflect.Type) []exactField {
	if fs, ok := exactFieldCache.Load(t); ok {
		return fs.([]exactField)
	}
	var fields []exactField
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		fields = append(fields, exactField{name: name, index: i})
	}
	exactFieldCache.Store(t, fields)
	return fields
}
