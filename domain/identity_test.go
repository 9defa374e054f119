package domain

import (
	"strings"
	"testing"
)

func TestIdentityValues(t *testing.T) {
	for _, tc := range []struct {
		typ   IdentityType
		value string
		ok    bool
	}{
		{IdentityEmail, "someone@example.com", true},
		{IdentityEmail, "  someone@example.com  ", true}, // trimmed
		{IdentityEmail, "someone@example", false},
		{IdentityEmail, "some\u200bone@example.com", false}, // zero-width space
		{IdentityEmail, "some\u00adone@example.com", false}, // soft hyphen
		{IdentityEmail, "someone@exam\u202eple.com", false}, // right-to-left override
		{IdentityEmail, "some\tone@example.com", false},
		{IdentityEmail, "Some One <someone@example.com>", false},
		{IdentityGoogle, "example@gmail.com", true},
		{IdentityTwitter, "screen_name", true},
		{IdentityTwitter, "@screen_name", false},
		{IdentityTwitter, "sixteen_chars_xx", false},
		{IdentityTwitter, "scrëen", false},
		{IdentityFacebook, "855769377321", true},
		{IdentityFacebook, "85576937732x", false},
		{IdentityPhone, "+1 555-123-4567", true},
		{IdentityPhone, "(555) 123.4567", true},
		{IdentityPhone, "+1 555-123-4567 ext 2", false},
		{IdentityPhone, "123456", false},
		{IdentityPhone, "+1234567890123456", false},
		{IdentityPhone, "1+5551234567", false},
		{IdentityAgentForwarding, "+1 555-123-4567", true},
		{IdentityType("sdk"), "device", false}, // listed, but not creatable
		{IdentityType("pager"), "123", false},
	} {
		var v invalid
		_, ok := checkIdentityValue(tc.typ, tc.value, "type", "value", &v)
		if ok != tc.ok || ok != (len(v) == 0) {
			t.Errorf("%s %q: ok %t, errors %v; want ok %t", tc.typ, tc.value, ok, v, tc.ok)
		}
	}
}

// The requirements the API lists and the rules it enforces are one table:
// each listed sentence is what a password breaking that rule is told.
func TestPasswordPolicyIsOneTable(t *testing.T) {
	breaking := map[string]string{
		"must be at least 5 characters":        "abcd",
		"must be at most 128 characters":       strings.Repeat("x", 129),
		"must be different from email address": "Al@Example.com",
	}
	if len(breaking) != len(passwordPolicy) {
		t.Fatalf("%d rules, %d tested", len(passwordPolicy), len(breaking))
	}
	for _, r := range passwordPolicy {
		var v invalid
		checkPasswordPolicy(breaking[r.requirement], "al@example.com", &v)
		if len(v) != 1 || v[0].Description != "Password: "+r.requirement || v[0].Code != r.code {
			t.Errorf("%q: %v", r.requirement, v)
		}
	}
	var v invalid
	checkPasswordPolicy("a fine password", "al@example.com", &v)
	if len(v) != 0 {
		t.Errorf("a fine password breaks %v", v)
	}
}
