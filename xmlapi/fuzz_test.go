package xmlapi

import (
	"context"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/deskgate/deskgate/domain"
)

// Seeds: the legacy API's documented bodies and the hostile ones its tests
// refuse (legacy_test.go).
var documentSeeds = []string{
	"<user><email>aljohnson@yourcompany.dk</email><name>Al Johnson</name><roles>4</roles><restriction-id>1</restriction-id></user><groups>2,3</groups>",
	"<user>\n  <name>Albert Johnson</name>\n</user>\n<groups>\n  2\n</groups>\n",
	"\xef\xbb\xbf<user><name>BOM</name></user>",
	`<?xml version="1.0" encoding="ISO-8859-1"?><user><name>Bj` + "\xf8" + `rn</name></user>`,
	`<!DOCTYPE user [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><user><name>&b;</name></user>`,
	`<!DOCTYPE user SYSTEM "file:///etc/passwd"><user><name>x</name></user>`,
	"<groups>2</groups><user><name>x</name></user>",
	`{"user":{"name":"Jason"}}`,
	"<user><name>Bad \xc3\x28 byte</name></user>",
	"<user><name>&nbsp;</name></user>",
	"<user><roles>9</roles><is-active>maybe</is-active><time-format>x</time-format></user><groups>a,b</groups>",
	"<user><name>a</name><name>b</name></user>",
	"<x:user xmlns:x=\"urn:x\"><x:name>ns</x:name></x:user>",
	"<user><name>&#13;&#x9;</name></user>",
	"<user><a><b><c><d><e><f><g><h>deep</h></g></f></e></d></c></b></a></user>",
	"",
}

// FuzzReadDocument: any body either fails as a client error (400/422, so
// nothing is written) or reads as changes that survive being written out
// and read again.
func FuzzReadDocument(f *testing.F) {
	for _, s := range documentSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c, err := readBody(body)
		if err != nil {
			if k := domain.KindOf(err); k != domain.BadRequest && k != domain.Invalid {
				t.Fatalf("%q: %v is not a client error", body, err)
			}
			return
		}
		// Written out with the API's own XML writer, as it shows a user.
		d, _ := readDocument(httptest.NewRequest("POST", "/users.xml", strings.NewReader(body)))
		var out xmlWriter
		out.open("user")
		for _, e := range d.user.ChildElements() {
			out.elem(e.Tag, e.Text())
		}
		out.close("user")
		if d.groups != nil {
			out.elem("groups", d.groups.Text())
		}
		again, err := readBody(out.String())
		if err != nil || !reflect.DeepEqual(c, again) {
			t.Fatalf("%q read as %+v, written as %q, read again as %+v (%v)", body, c, out.String(), again, err)
		}
	})
}

func readBody(body string) (domain.UserChanges, error) {
	d, err := readDocument(httptest.NewRequestWithContext(context.Background(), "POST", "/users.xml", strings.NewReader(body)))
	if err != nil {
		return domain.UserChanges{}, err
	}
	return d.changes()
}

// FuzzGroupIDs: a <groups> text either fails or lists ids from 1 up that
// read back the same once joined with commas.
func FuzzGroupIDs(f *testing.F) {
	for _, s := range []string{"2,3", "\n  2\n", "", ",", "a,b", "-1", "0", "1,,2", " 4 , 5 ", "99999999999999999999", "1e3", "0x10", "١"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := groupIDs(s)
		if err != nil {
			return
		}
		text := make([]string, len(ids))
		for i, id := range ids {
			if id < 1 {
				t.Fatalf("%q read as id %d", s, id)
			}
			text[i] = strconv.FormatInt(id, 10)
		}
		again, err := groupIDs(strings.Join(text, ","))
		if err != nil || !reflect.DeepEqual(ids, again) {
			t.Fatalf("%q read as %v, joined reads as %v (%v)", s, ids, again, err)
		}
	})
}
