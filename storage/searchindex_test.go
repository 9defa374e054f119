package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskgate/deskgate/domain"
)

// indexQueries dump what the search indexes hold, and that the deferral
// left nothing behind.
var indexQueries = []string{
	"SELECT id, name, active FROM users ORDER BY id",
	"SELECT user_id, type, value FROM identities ORDER BY id",
	"SELECT docid, name, email, notes, phone, external_id FROM user_words ORDER BY docid",
	"SELECT docid, details, tags FROM user_more_words ORDER BY docid",
	"SELECT trigram, user_id FROM user_name_trigrams ORDER BY trigram, user_id",
	"SELECT docid FROM user_words WHERE user_words MATCH 'renamed' ORDER BY docid",
	"SELECT 'pending', count(*) FROM search_index_pending UNION ALL SELECT 'deferred', count(*) FROM search_index_deferred",
}

// sameIndexes fails t where a query's rows in a differ from those in b or
// are none, and checks the integrity of a's full-text tables; aName and
// bName say how each was indexed.
func sameIndexes(t *testing.T, a, b *DB, aName, bName string, queries []string) {
	t.Helper()
	for _, q := range queries {
		got, want := dump(t, a, q), dump(t, b, q)
		if i := firstDifference(got, want); i >= 0 {
			t.Errorf("%s: %d rows %s, %d %s; row %d: %s %q, %s %q", q, len(got), aName, len(want), bName, i, aName, at(got, i), bName, at(want, i))
		}
		if len(got) == 0 {
			t.Errorf("%s: no rows", q)
		}
	}
	for _, table := range []string{"user_words", "user_more_words"} {
		if _, err := a.write.Exec("INSERT INTO " + table + " (" + table + ") VALUES ('integrity-check')"); err != nil {
			t.Errorf("%s: %v", table, err)
		}
	}
}

type jobStep struct {
	typ   domain.JobType
	items []domain.JobItem
}

// TestJobIndexesMatchTriggers: a bulk job's chunk indexes its users at its
// commit (DeferSearchIndex); the same items applied one at a time through
// the single-user operations, which the triggers index row by row, must
// give every item the same outcome and leave the same index rows and
// search answers. The jobs create users (a chunk boundary, phones, extra
// identities), update existing users and users the same chunk created
// (each indexed field alone, a second email, a phone), delete one, and
// fail items among them.
func TestJobIndexesMatchTriggers(t *testing.T) {
	s := func(v string) *string { return &v }
	shared := true
	created := make([]domain.JobItem, 60) // two chunks
	for i := range created {
		created[i].Changes = domain.UserChanges{Name: s(fmt.Sprintf("Import %d", i)), Email: s(fmt.Sprintf("import%d@example.com", i))}
	}
	created[7].Changes.Email = s("ann@example.com")                                                                    // taken: fails
	created[52].Changes.Email = s("import3@example.com")                                                               // taken within the job: fails
	created[10].Changes.Phone = s("+15550100010")                                                                      // a phone identity
	created[11].Changes.Tags = &[]string{"vip"}                                                                        // a user_more_words row
	created[12].Changes.Identities = []domain.NewIdentity{{Type: domain.IdentityEmail, Value: "second12@example.com"}} // a second email
	created[13].Invalid = []domain.FieldError{{Field: "role", Code: "InvalidValue"}}                                   // the front end's refusal
	steps := []jobStep{
		{domain.JobCreateMany, created},
		{domain.JobCreateOrUpdateMany, []domain.JobItem{
			{Changes: domain.UserChanges{Email: s("ann@example.com"), Name: s("Ann Renamed")}},
			{Changes: domain.UserChanges{Email: s("new@example.com"), Name: s("New Person"), ExternalID: s("ext-new")}},
			{Changes: domain.UserChanges{Email: s("new@example.com"), Name: s("New Renamed"), Details: s("made and renamed in one chunk")}},
			{Changes: domain.UserChanges{Email: s("bob@example.com"), Tags: &[]string{}}},
			{Changes: domain.UserChanges{Email: s("bad"), Name: s("Bad Email")}}, // fails
		}},
		{domain.JobUpdateMany, []domain.JobItem{
			{UserID: 15, Changes: domain.UserChanges{Phone: s("+15550100099")}}, // its phone identity changes
			{UserID: 6, Changes: domain.UserChanges{Email: s("second6@example.com")}},
			{UserID: 7, Changes: domain.UserChanges{Notes: s("noted")}},
			{UserID: 8, Changes: domain.UserChanges{Details: s("detailed")}},
			{UserID: 9, Changes: domain.UserChanges{Name: s("Renamed Import")}},
			{UserID: 10, Changes: domain.UserChanges{ExternalID: s("ext-ten")}},
			{UserID: 11, Changes: domain.UserChanges{Phone: s("+15550100077"), SharedPhoneNumber: &shared}}, // no identity
			{UserID: 9999, Changes: domain.UserChanges{Name: s("Nobody")}},                                  // fails
		}},
		{domain.JobDestroyMany, []domain.JobItem{{UserID: 4}, {UserID: 9999}}},
	}
	deferred, jobOutcomes := applySteps(t, steps, runJobs)
	rowByRow, singleOutcomes := applySteps(t, steps, runSingly)
	if !slices.Equal(jobOutcomes, singleOutcomes) {
		t.Errorf("outcomes: job %v, one at a time %v", jobOutcomes, singleOutcomes)
	}
	if n := slices.Index(jobOutcomes, "Failed"); n < 0 {
		t.Errorf("no item failed: %v", jobOutcomes)
	}
	// Every user the jobs changed went through the deferral (57 created,
	// Ann, Bob, Cid and New Person), and none of the single operations.
	if got := dump(t, deferred, "SELECT count(DISTINCT user_id) FROM noted"); !slices.Equal(got, []string{"61"}) {
		t.Errorf("users noted by the jobs: %v", got)
	}
	if got := dump(t, rowByRow, "SELECT count(*) FROM noted"); !slices.Equal(got, []string{"0"}) {
		t.Errorf("users noted one at a time: %v", got)
	}
	sameIndexes(t, deferred, rowByRow, "deferred", "row by row", append(slices.Clip(indexQueries),
		"SELECT docid FROM user_words WHERE user_words MATCH 'email:second*' ORDER BY docid",
		"SELECT docid FROM user_words WHERE user_words MATCH 'phone:1555*' ORDER BY docid",
		"SELECT docid FROM user_more_words WHERE user_more_words MATCH 'tags:vip' ORDER BY docid"))
}

// applySteps opens a database with an owner and three users (Ann, Bob
// with tags and details, Cid), applies the steps through apply and
// returns the database and each item's outcome.
func applySteps(t *testing.T, steps []jobStep, apply func(*testing.T, context.Context, *domain.Service, []jobStep) []string) (*DB, []string) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	db := openTestDB(t)
	// noted keeps who search_index_pending held, which the commit empties.
	if _, err := db.write.Exec(`CREATE TABLE noted (user_id INTEGER);
		CREATE TRIGGER noting AFTER INSERT ON search_index_pending BEGIN INSERT INTO noted VALUES (NEW.user_id); END`); err != nil {
		t.Fatal(err)
	}
	svc, err := domain.NewService(ctx, db, domain.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Bootstrap(ctx, domain.Owner{Name: "Owner", Email: "owner@example.com", Password: "an owner's long password"}); err != nil {
		t.Fatal(err)
	}
	owner, err := db.AccountOwner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ctx = domain.WithActor(ctx, &domain.Actor{ID: owner.ID, Role: owner.Role, Owner: true})
	s := func(v string) *string { return &v }
	for _, c := range []domain.UserChanges{
		{Name: s("Ann Old"), Email: s("ann@example.com"), Phone: s("+15550100001")},
		{Name: s("Bob Keep"), Email: s("bob@example.com"), Tags: &[]string{"vip"}, Details: s("likes tea")},
		{Name: s("Cid Gone"), Email: s("cid@example.com")},
	} {
		if _, err := svc.CreateUser(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return db, apply(t, ctx, svc, steps)
}

// runJobs queues each step as a job and lets the worker apply it.
func runJobs(t *testing.T, ctx context.Context, svc *domain.Service, steps []jobStep) []string {
	var worker sync.WaitGroup
	work, stop := context.WithCancel(ctx)
	worker.Go(func() { svc.RunJobs(work) })
	defer func() { stop(); worker.Wait() }()
	var out []string
	for _, st := range steps {
		j, err := svc.EnqueueJob(ctx, st.typ, st.items)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !j.State.Ended() {
			if time.Now().After(deadline) {
				t.Fatalf("job %s still %s", j.Type, j.State)
			}
			time.Sleep(5 * time.Millisecond)
			if j, err = svc.Job(ctx, j.ID); err != nil {
				t.Fatal(err)
			}
		}
		if j.State != domain.JobCompleted || len(j.Results) != len(st.items) {
			t.Fatalf("job %s %s with %d results", j.Type, j.State, len(j.Results))
		}
		for _, r := range j.Results {
			out = append(out, string(r.Status))
		}
	}
	return out
}

// runSingly applies each item through its single-user operation.
func runSingly(t *testing.T, ctx context.Context, svc *domain.Service, steps []jobStep) []string {
	var out []string
	for _, st := range steps {
		for _, it := range st.items {
			status, err := domain.ResultCreated, error(nil)
			switch {
			case len(it.Invalid) > 0:
				status = domain.ResultFailed // the front end's refusal, no operation
			case st.typ == domain.JobCreateMany:
				_, err = svc.CreateUser(ctx, it.Changes)
			case st.typ == domain.JobCreateOrUpdateMany:
				var made bool
				if _, made, err = svc.CreateOrUpdateUser(ctx, it.Changes); !made {
					status = domain.ResultUpdated
				}
			case st.typ == domain.JobUpdateMany:
				_, err = svc.UpdateUser(ctx, it.UserID, it.Changes)
				status = domain.ResultUpdated
			default:
				_, err = svc.DeleteUser(ctx, it.UserID)
				status = domain.ResultDeleted
			}
			if err != nil {
				if domain.KindOf(err) == domain.Internal {
					t.Fatal(err)
				}
				status = domain.ResultFailed
			}
			out = append(out, string(status))
		}
	}
	return out
}

// TestDeferredIndexRollsBackWithSavepoint: with indexing deferred, what a
// failed savepoint wrote is not indexed at the commit, what the
// transaction kept is (a user renamed after its insert, an existing user's
// email changed, another's second email removed, which no job does), and a
// transaction that fails leaves the deferral off; the same writes indexed
// row by row give the same indexes.
func TestDeferredIndexRollsBackWithSavepoint(t *testing.T) {
	ctx := context.Background()
	deferred, rowByRow := openTestDB(t), openTestDB(t)
	errItem := errors.New("the item fails after its writes")
	now := time.Unix(1_700_000_000, 0)
	user := func(name string) (*domain.User, *domain.Identity) {
		return &domain.User{Name: name, Role: domain.EndUser, Restriction: domain.DefaultRestriction(domain.EndUser), Active: true,
				Locale: "en-US", TimeZone: domain.DefaultZone, Details: "details of " + name, Tags: []string{}, UserFields: map[string]any{},
				CreatedAt: now, UpdatedAt: now},
			&domain.Identity{Type: domain.IdentityEmail, Value: name + "@example.com", Primary: true, CreatedAt: now, UpdatedAt: now}
	}
	for _, db := range []*DB{deferred, rowByRow} {
		old, email := user("old")
		older, olderEmail := user("older")
		second := &domain.Identity{Type: domain.IdentityEmail, Value: "second@example.com", CreatedAt: now, UpdatedAt: now}
		err := db.InTx(ctx, func(tx domain.Tx) error {
			if err := tx.InsertUser(ctx, old, email); err != nil {
				return err
			}
			if err := tx.InsertUser(ctx, older, olderEmail); err != nil {
				return err
			}
			second.UserID = older.ID
			return tx.InsertIdentity(ctx, second)
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.InTx(ctx, func(tx domain.Tx) error {
			if db == deferred {
				if err := tx.DeferSearchIndex(ctx); err != nil {
					return err
				}
			}
			for _, name := range []string{"kept", "rolledback", "renamed"} {
				err := tx.Savepoint(ctx, func() error {
					u, email := user(name)
					if err := tx.InsertUser(ctx, u, email); err != nil {
						return err
					}
					switch name {
					case "renamed":
						u.Name = "Renamed Later"
						return tx.UpdateUser(ctx, u)
					case "rolledback":
						return errItem
					}
					return nil
				})
				if err != nil && !errors.Is(err, errItem) {
					return err
				}
			}
			email.Value = "changed@example.com"
			if err := tx.UpdateIdentity(ctx, email); err != nil {
				return err
			}
			return tx.DeleteIdentity(ctx, second.UserID, second.ID)
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.InTx(ctx, func(tx domain.Tx) error {
			if err := tx.DeferSearchIndex(ctx); err != nil {
				return err
			}
			u, email := user("neverindexed")
			if err := tx.InsertUser(ctx, u, email); err != nil {
				return err
			}
			return errItem
		})
		if !errors.Is(err, errItem) {
			t.Fatal(err)
		}
	}
	sameIndexes(t, deferred, rowByRow, "deferred", "row by row", indexQueries)
	if got := dump(t, deferred, "SELECT docid, name, email FROM user_words ORDER BY docid"); !slices.Equal(got, []string{
		"1|old|changed@example.com", "2|older|older@example.com", "3|kept|kept@example.com", "4|Renamed Later|renamed@example.com",
	}) {
		t.Errorf("words: %q", got)
	}
}

// TestDeferredIndexPlans: the statements that index a chunk's users look
// each noted user up, never scan the users, the name trigrams or a
// full-text table (SQLite has no statistics to go by, so it would be as
// slow on a million users as a scan is).
func TestDeferredIndexPlans(t *testing.T) {
	db := seededDB(t, 100)
	for _, q := range deferredIndexStatements {
		plan := explain(t, db, q, nil)
		for _, bad := range []string{"SCAN u\n", "SCAN u USING", "SCAN users", "SCAN user_name_trigrams", "(trigram=?)", "VIRTUAL TABLE INDEX 0"} {
			if strings.Contains(plan+"\n", bad) {
				t.Errorf("%q in the plan of %s:\n%s", strings.TrimSpace(bad), q, plan)
			}
		}
	}
}
