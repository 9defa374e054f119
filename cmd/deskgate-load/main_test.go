package main

import "testing"

func TestReadExportPage(t *testing.T) {
	for _, tc := range []struct {
		body  string
		users int
		after string
		end   bool
	}{
		{`{"after_url":"http://x/next?cursor=a","end_of_stream":false,"users":[{"id":1,"user_fields":{"o":{"id":2}},"name":"a \"users\":[{"},{"id":3,"tags":["]"]}]}`, 2, "http://x/next?cursor=a", false},
		{`{"users":[],"after_url":null,"end_of_stream":true}`, 0, "", true},
		{`{"meta":{"users":[{}]},"users":[{"id":1}],"end_of_stream":true}`, 1, "", true},
	} {
		page, err := readExportPage([]byte(tc.body))
		if err != nil || page.users != tc.users || page.AfterURL != tc.after || page.EndOfStream != tc.end {
			t.Errorf("%s: %+v, %v", tc.body, page, err)
		}
	}
	if _, err := readExportPage([]byte(`{"error":"RecordNotFound"}`)); err == nil {
		t.Error("a body without users: no error")
	}
}
