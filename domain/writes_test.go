package domain

import (
	"context"
	"slices"
	"testing"
	"time"
)

// passTx is a transaction whose user writes do nothing: scopedTx's marks
// are what TestScopedWritesMark looks at. Other calls would panic on the
// nil Tx it embeds.
type passTx struct{ Tx }

func (passTx) InsertIdentity(context.Context, *Identity) error               { return nil }
func (passTx) UpdateIdentity(context.Context, *Identity) error               { return nil }
func (passTx) DeleteIdentity(context.Context, int64, int64) error            { return nil }
func (passTx) SetPasswordHash(context.Context, int64, string) error          { return nil }
func (passTx) MoveIdentities(context.Context, int64, int64, time.Time) error { return nil }

// TestScopedWritesMark pins, each on its own, the user writes whose marks
// the end-to-end cache tests cannot tell apart: every operation that calls
// them also writes the users row, which marks the same user.
func TestScopedWritesMark(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		write func(Tx) error
		want  []int64
	}{
		{"InsertIdentity", func(tx Tx) error { return tx.InsertIdentity(ctx, &Identity{UserID: 7}) }, []int64{7}},
		{"UpdateIdentity", func(tx Tx) error { return tx.UpdateIdentity(ctx, &Identity{ID: 3, UserID: 7}) }, []int64{7}},
		{"DeleteIdentity", func(tx Tx) error { return tx.DeleteIdentity(ctx, 7, 3) }, []int64{7}},
		{"SetPasswordHash", func(tx Tx) error { return tx.SetPasswordHash(ctx, 7, "hash") }, []int64{7}},
		{"MoveIdentities", func(tx Tx) error { return tx.MoveIdentities(ctx, 7, 8, time.Time{}) }, []int64{7, 8}},
	} {
		var log writeLog
		scope := writeScope{log: &log}
		readAt := log.now()
		if err := tc.write(&scopedTx{tx: passTx{}, scope: &scope}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(scope.users, tc.want) || scope.all {
			t.Errorf("%s marked users %v (everything: %v), want %v", tc.name, scope.users, scope.all, tc.want)
		}
		for _, id := range tc.want {
			if log.fresh(id, readAt) {
				t.Errorf("%s: user %d fresh while the write is under way", tc.name, id)
			}
		}
		log.record(&scope)
		for _, id := range tc.want {
			if log.fresh(id, readAt) {
				t.Errorf("%s: user %d fresh after the write was recorded", tc.name, id)
			}
		}
		if !log.fresh(9, readAt) {
			t.Errorf("%s staled a user it did not write", tc.name)
		}
	}
}
