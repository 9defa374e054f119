package jsonapi

import (
	"bytes"
	"reflect"
	"testing"
)

// TestUserAppendersMatchReflection: the user shapes' own encoders write the
// bytes encoding/json writes for them, with every field set (fill reaches
// fields added later too), empty, and null, for strings that need escapes.
func TestUserAppendersMatchReflection(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " back \ slash`, "<b>&amp;</b>", "tab\t nl\n ctrl\x01 del\x7f",
		"é ü 日本", "sep\u2028\u2029", "bad \xff utf8"} {
		full, pub := new(userJSON), new(endUserJSON)
		fill(reflect.ValueOf(full).Elem(), s)
		fill(reflect.ValueOf(pub).Elem(), s)
		empty := &userJSON{Tags: []string{}, UserFields: map[string]any{}}
		list := userList{full, pub, empty, new(userJSON), new(endUserJSON)}
		var want, got bytes.Buffer
		if err := encodeJSON(&want, []any(list)); err != nil {
			t.Fatal(err)
		}
		if err := encodeJSON(&got, list); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%q:\n got %s\nwant %s", s, got.String(), want.String())
		}
		// The single-user bodies, against the same shapes as plain structs,
		// which encoding/json reflects on.
		type reflectedBody struct {
			User any `json:"user"`
		}
		type reflectedMe struct {
			*endUserJSON
			AuthenticityToken string `json:"authenticity_token"`
		}
		for _, u := range []any{full, pub, endUserWithToken{pub, s}} {
			reflected := u
			if me, ok := u.(endUserWithToken); ok {
				reflected = reflectedMe(me)
			}
			want.Reset()
			if err := encodeJSON(&want, reflectedBody{reflected}); err != nil {
				t.Fatal(err)
			}
			body, err := renderJSON(userBody{u})
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != want.String() {
				t.Errorf("%q, %T in a user body:\n got %s\nwant %s", s, u, body, want.String())
			}
		}
	}
}

// fill sets every field of v, through pointers and embedded structs, to a
// value that is not zero, s for every string.
func fill(v reflect.Value, s string) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i), s)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), s)
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(42)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range v.Len() {
			fill(v.Index(i), s)
		}
	case reflect.Map:
		v.Set(reflect.ValueOf(map[string]any{"k" + s: s, "n": 1.5, "list": []any{s, true}}))
	default:
		panic("fill: " + v.Kind().String())
	}
}
