package domain

import "testing"

// BenchmarkCredentialKey is the per-request cost of finding a request's
// credentials in the cache.
//
//	go test ./domain -run '^$' -bench CredentialKey
func BenchmarkCredentialKey(b *testing.B) {
	c := newCredentialCache(make([]byte, 32), 0)
	b.ReportAllocs()
	for b.Loop() {
		c.sum(CredentialToken, "owner@example.com", "owner-api-token-0123456789")
	}
}
