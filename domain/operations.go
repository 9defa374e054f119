package domain

import (
	"context"
	"path/filepath"
	"time"
)

// Backup is a copy of the database the service made.
type Backup struct {
	Path      string
	Size      int64
	CreatedAt time.Time
}

// Backup writes a consistent copy of the database into the backup directory,
// named after the service clock. The account owner only: the copy holds
// every user and every password hash.
func (s *Service) Backup(ctx context.Context) (*Backup, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if !a.Owner {
		return nil, errForbidden
	}
	now := s.Now()
	path := filepath.Join(s.backupDir, "deskgate-"+now.Format("20060102T150405Z")+".db")
	size, err := s.store.BackupTo(ctx, path)
	if err != nil {
		return nil, err
	}
	return &Backup{Path: path, Size: size, CreatedAt: now}, nil
}

// Operator returns ctx acting as the account owner, for the command line:
// whoever can read the database file can read everything in it already.
func Operator(ctx context.Context) context.Context {
	return WithActor(ctx, &Actor{Role: Admin, Owner: true})
}

// SeatUsage counts the agent seats taken and allowed (0: unlimited), for
// the operator's metrics; it needs no actor because it names no one.
func (s *Service) SeatUsage(ctx context.Context) (used, allowed int, err error) {
	used, err = s.store.CountUsers(ctx, UserFilter{Roles: []Role{Agent, Admin}})
	return used, s.seats, err
}
