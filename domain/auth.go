package domain

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: OWASP's first recommended set (19 MiB, 2 passes, 1 lane).
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// argon2id runs one argon2id computation once a hashing slot is free. The
// slots bound how much CPU and memory hashing may take, so a flood of
// credentials cannot starve authenticated traffic. A caller that gives up
// while waiting (its client went away) gets TooManyRequests wrapping ctx's
// error: the client's doing, not a failure to log.
func (s *Service) argon2id(ctx context.Context, password, salt []byte, t, mem uint32, p uint8, keyLen uint32) ([]byte, error) {
	select {
	case s.hashSlots <- struct{}{}:
	case <-ctx.Done():
		e := tooManyRequests(time.Second, "Too many password checks at once")
		e.Err = ctx.Err()
		return nil, e
	}
	defer func() { <-s.hashSlots }()
	s.hashes.Add(1)
	return argon2.IDKey(password, salt, t, mem, p, keyLen), nil
}

// PasswordHashes reports how many argon2id computations the service has run.
func (s *Service) PasswordHashes() uint64 { return s.hashes.Load() }

// hashPassword returns a PHC-format argon2id hash of password.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := io.ReadFull(s.random, salt); err != nil {
		return "", err
	}
	key, err := s.argon2id(ctx, []byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	if err != nil {
		return "", err
	}
	return phc(salt, key), nil
}

// phc is the PHC text of an argon2id hash with the service's parameters.
func phc(salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decoyHash is checked when there is no password to check (no such user, or
// one without a password), so that the answer takes as long as a wrong
// password's and does not tell which addresses have accounts. No password
// hashes to its all-zero key.
var decoyHash = phc(make([]byte, argonSaltLen), make([]byte, argonKeyLen))

// checkPassword compares password with a PHC argon2id hash in constant time,
// using the parameters recorded in the hash. It returns Unauthenticated when
// they differ.
func (s *Service) checkPassword(ctx context.Context, hash, password string) error {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return errUnauthenticated
	}
	var mem, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil {
		return errUnauthenticated
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return errUnauthenticated
	}
	got, err := s.argon2id(ctx, []byte(password), salt, t, mem, p, uint32(len(want)))
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return errUnauthenticated
	}
	return nil
}

// HashToken returns how an API token is stored: its SHA-256. Tokens are long
// random strings, so a fast hash is enough.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// newToken returns a random API token of 40 URL-safe characters.
func (s *Service) newToken() (string, error) {
	b := make([]byte, 30)
	if _, err := io.ReadFull(s.random, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// credentialCache remembers successful authentications for a short while.
// Basic auth sends the password on every request and argon2id costs tens of
// milliseconds, which would hold a client to a few dozen requests a second;
// and looking the user up costs more than the request it authenticates.
// Entries are keyed by an HMAC of the credentials (no password sits in
// memory) and stamped with the write log's number read before the store
// was: a committed write recorded against the entry's user (or against
// everything) makes it stale, so a changed password, a deactivation or a
// role change counts from the next request on (writeLog). A stale entry
// still spares argon2id when the password hash it was checked against has
// not changed.
type credentialCache struct {
	ttl  time.Duration
	macs sync.Pool // of *credentialMAC, so a lookup neither keys a MAC nor allocates
	mu   sync.Mutex
	m    map[[32]byte]*credentialEntry // an entry never changes once stored: readers share it
}

type credentialEntry struct {
	principal Principal
	session   Session // for a session cookie's entry
	readAt    uint64  // the write log's number before the principal was read
	account   string  // accountKey of the email, for a password's or token's entry
	expires   time.Time
}

// credentialMAC is an HMAC-SHA256 under the cache's key and a buffer for its
// input. Reset returns the HMAC to its keyed state, so a sum costs two SHA-256
// blocks for short credentials, against four and two allocations for keying a
// new one each time.
type credentialMAC struct {
	mac     hash.Hash
	in, out []byte
}

const credentialCacheMax = 10000

func newCredentialCache(key []byte, ttl time.Duration) *credentialCache {
	c := &credentialCache{ttl: ttl, m: map[[32]byte]*credentialEntry{}}
	c.macs.New = func() any { return &credentialMAC{mac: hmac.New(sha256.New, key)} }
	return c
}

// sum is the cache key of a credential: its kind, the email it names (any
// case; none for a session) and the secret.
func (c *credentialCache) sum(kind Credential, email, secret string) [32]byte {
	m := c.macs.Get().(*credentialMAC)
	defer c.macs.Put(m)
	account := strings.ToLower(email)
	// The kind and the email's length first: no two credentials spell the
	// same input.
	m.in = append(m.in[:0], byte(kind))
	m.in = binary.AppendUvarint(m.in, uint64(len(account)))
	m.in = append(m.in, account...)
	m.in = append(m.in, secret...)
	m.mac.Reset()
	m.mac.Write(m.in)
	m.out = m.mac.Sum(m.out[:0])
	return [32]byte(m.out)
}

func (c *credentialCache) get(k [32]byte, now time.Time) (*credentialEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	return e, ok && now.Before(e.expires)
}

func (c *credentialCache) put(k [32]byte, p *Principal, account string, readAt uint64, now time.Time) {
	c.store(k, &credentialEntry{principal: *p, account: account, readAt: readAt}, now)
}

// putSession remembers the session a cookie's secret opens, and its user.
func (c *credentialCache) putSession(k [32]byte, ses *Session, p *Principal, readAt uint64, now time.Time) {
	c.store(k, &credentialEntry{principal: *p, session: *ses, readAt: readAt}, now)
}

func (c *credentialCache) store(k [32]byte, e *credentialEntry, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= credentialCacheMax {
		clear(c.m) // rare: a flood of distinct credentials; the next requests re-check
	}
	e.expires = now.Add(c.ttl)
	c.m[k] = e
}

// loginRefresh is how stale last_login_at may get: API use bumps it, but a
// write on every request would cost more than the request.
const loginRefresh = time.Hour

// Authenticate checks HTTP Basic credentials: "email" with a password, or
// "email/token" with an API token. It returns Unauthenticated for wrong
// credentials and for inactive or suspended users.
func (s *Service) Authenticate(ctx context.Context, username, secret string) (*Actor, error) {
	email, isToken := strings.CutSuffix(username, "/token")
	if email == "" || secret == "" {
		return nil, errUnauthenticated
	}
	p, err := s.principal(ctx, email, secret, isToken)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	if now.Sub(p.LastLoginAt) >= loginRefresh {
		if err := s.inTx(ctx, func(tx Tx) error { return tx.TouchLogin(ctx, p.ID, now) }); err != nil {
			return nil, err
		}
	}
	cred := CredentialPassword
	if isToken {
		cred = CredentialToken
	}
	return &Actor{ID: p.ID, Role: p.Role, Owner: p.Owner, Credential: cred}, nil
}

// mayAuthenticate is the one rule on who may authenticate at all, whatever
// the credential (password, token, session): active users who are not
// suspended.
func mayAuthenticate(p *Principal) error {
	if !p.Active || p.Suspended {
		return errUnauthenticated
	}
	return nil
}

// mayStillAct applies the same rule to a user who acts, or is acted for,
// past the request that authenticated them: a queued job's creator, an
// agent's open event stream.
func (u *User) mayStillAct() bool {
	return mayAuthenticate(&Principal{Active: u.Active, Suspended: u.Suspended}) == nil
}

// principal checks credentials once the limits on failed authentication
// allow it: every password or token check goes through here, so past the
// limits no hash is computed and even the right password waits.
func (s *Service) principal(ctx context.Context, email, secret string, isToken bool) (*Principal, error) {
	now := s.now()
	client := clientKey(ctx)
	// The account's key is a digest: worked out only when some failure
	// counts, a check fails or a credential is cached, which keeps it.
	if !s.failures.none(now) {
		if wait := s.failures.wait(accountKey(email), client, now); wait > 0 {
			return nil, tooManyRequests(wait, "Too many failed attempts to authenticate")
		}
	}
	p, account, err := s.checkCredentials(ctx, email, secret, isToken, now)
	switch {
	case KindOf(err) == Unauthenticated:
		s.failures.failed(accountKey(email), client, now)
	case err == nil:
		s.failures.succeeded(account, client, now)
	}
	return p, err
}

// checkCredentials returns the principal the credentials name and the
// failure buckets' key of its account.
func (s *Service) checkCredentials(ctx context.Context, email, secret string, isToken bool, now time.Time) (*Principal, string, error) {
	kind := CredentialPassword
	if isToken {
		kind = CredentialToken
	}
	k := s.credentials.sum(kind, email, secret)
	readAt := s.writes.now() // before the store: a write committed meanwhile makes the entry stale
	cached, hit := s.credentials.get(k, now)
	if hit && s.writes.fresh(cached.principal.ID, cached.readAt) {
		return &cached.principal, cached.account, nil // shared, as every caller only reads it
	}
	var p *Principal
	var err error
	if isToken {
		p, err = s.store.PrincipalByToken(ctx, HashToken(secret), email)
	} else {
		p, err = s.store.PrincipalByEmail(ctx, email)
	}
	switch {
	case KindOf(err) == NotFound && !isToken:
		p = &Principal{} // nobody, whose password check costs what a wrong password's does
	case KindOf(err) == NotFound:
		return nil, "", errUnauthenticated
	case err != nil:
		return nil, "", err
	}
	// The password before the rest: a refusal that came sooner would tell
	// who has an account, or a suspended one.
	if !isToken && !(hit && cached.principal.PasswordHash == p.PasswordHash) {
		if err := s.checkPassword(ctx, cmp.Or(p.PasswordHash, decoyHash), secret); err != nil {
			return nil, "", err
		}
	}
	if !isToken && p.PasswordHash == "" {
		return nil, "", errUnauthenticated
	}
	if err := mayAuthenticate(p); err != nil {
		return nil, "", err
	}
	account := accountKey(email)
	s.credentials.put(k, p, account, readAt, now)
	return p, account, nil
}

// Owner describes the account owner to create on an empty database.
type Owner struct {
	Name     string
	Email    string
	Password string // generated when empty
	Token    string // optional API token
}

// Bootstrap creates the account owner, an admin, when the store holds no
// user, and the account's default group when there is none. It returns the
// password it generated, if it had to, and whether it created the owner.
func (s *Service) Bootstrap(ctx context.Context, o Owner) (generated string, created bool, err error) {
	if err := s.ensureDefaultGroup(ctx); err != nil {
		return "", false, err
	}
	n, err := s.store.CountUsersTotal(ctx)
	if err != nil || n > 0 {
		return "", false, err
	}
	if o.Password == "" {
		if o.Password, err = s.newToken(); err != nil {
			return "", false, err
		}
		generated = o.Password
	}
	if o.Name == "" {
		o.Name = "Account Owner"
	}
	role := Admin
	verified := true
	ch := UserChanges{Name: &o.Name, Email: &o.Email, Password: &o.Password, Role: &role, Verified: &verified}
	err = s.inTx(ctx, func(tx Tx) error {
		u, err := s.insertUser(ctx, tx, &ch, true)
		if err != nil || o.Token == "" {
			return err
		}
		return tx.AddToken(ctx, u.ID, HashToken(o.Token), s.Now())
	})
	if err != nil {
		return "", false, err
	}
	return generated, true, nil
}
