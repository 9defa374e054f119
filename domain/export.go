package domain

import (
	"context"
	"math"
	"time"
)

// ExportPage is one page of the incremental user export.
type ExportPage struct {
	Users       []*User
	EndTime     time.Time // time-based: the last user's updated_at (the start when the page is empty)
	EndOfStream bool      // everything changed up to a minute ago has been returned
	// Cursor-based: where the next and the previous page start; Before is
	// empty on the first page.
	After, Before string
}

const (
	// MaxExportPage is the export's page size and the most per_page may ask.
	MaxExportPage = 1000
	// exportLag is how recent a change must not be to be exported: the
	// newest minute is left out (API-NOTES §6.9). It is also what makes the
	// cursor export exactly-once: a write commits within moments of taking
	// its updated_at from the clock, so no change can land at or before a
	// position a reader has already passed.
	exportLag = time.Minute
)

var exportSort = Sort{Field: "updated_at"}

const exportList = "incremental/users"

// exportFilter is every user, deleted ones too, changed before the lag.
func (s *Service) exportFilter() UserFilter {
	return UserFilter{IncludeInactive: true, UpdatedBefore: s.Now().Add(-exportLag)}
}

// exportStart checks an export's caller (admins only; the front end
// counts the request as an ExportRequest), its start time and page size.
func (s *Service) exportStart(ctx context.Context, start int64, perPage int) (int, error) {
	if _, err := admin(ctx); err != nil {
		return 0, err
	}
	if perPage == 0 {
		perPage = MaxExportPage
	}
	if perPage < 1 || perPage > MaxExportPage {
		return 0, badPage("per_page must be between 1 and %d", MaxExportPage)
	}
	if start > s.Now().Add(-exportLag).Unix() {
		return 0, &Error{Kind: BadRequest, Code: "InvalidValue", Msg: "Too recent start_time. Use a start_time older than 1 minute"}
	}
	return perPage, nil
}

// ExportUsersSince is the time-based export: users changed at or after
// start (Unix seconds), oldest first. A full page runs on to the end of its
// last second, so that the next page (from EndTime) always moves on; the
// next page repeats that second's users, as the real export does. Admins only.
func (s *Service) ExportUsersSince(ctx context.Context, start int64, perPage int) (ExportPage, error) {
	perPage, err := s.exportStart(ctx, start, perPage)
	if err != nil {
		return ExportPage{}, err
	}
	f := s.exportFilter()
	us, err := s.store.Users(ctx, f, Window{Sort: exportSort, After: &SortKey{Value: start}, Limit: perPage})
	if err != nil {
		return ExportPage{}, err
	}
	page := ExportPage{Users: us, EndTime: time.Unix(start, 0).UTC(), EndOfStream: len(us) < perPage}
	if len(us) == 0 {
		return page, nil
	}
	last := us[len(us)-1]
	page.EndTime = last.UpdatedAt
	if !page.EndOfStream {
		f.UpdatedBefore = last.UpdatedAt.Add(time.Second)
		rest, err := s.store.Users(ctx, f, Window{Sort: exportSort, After: &SortKey{ID: last.ID, Value: last.UpdatedAt.Unix()}, Limit: math.MaxInt32})
		if err != nil {
			return ExportPage{}, err
		}
		page.Users = append(page.Users, rest...)
	}
	return page, nil
}

// ExportUsersCursor is the cursor-based export, in (updated_at, id) order:
// from start (Unix seconds) when cursor is empty, else after (or before)
// the cursor's user. It never returns a user state twice. Admins only.
func (s *Service) ExportUsersCursor(ctx context.Context, start int64, cursor string, perPage int) (ExportPage, error) {
	if cursor != "" {
		start = 0 // the cursor says where to go on
	}
	perPage, err := s.exportStart(ctx, start, perPage)
	if err != nil {
		return ExportPage{}, err
	}
	w := Window{Sort: exportSort, After: &SortKey{Value: start}}
	list := sortedList(exportList, exportSort)
	if cursor != "" {
		if w.After, err = s.openCursor(list, cursor, 'a'); err != nil {
			if w.Before, err = s.openCursor(list, cursor, 'b'); err != nil {
				return ExportPage{}, err
			}
		}
	}
	w.Limit = perPage + 1
	us, err := s.store.Users(ctx, s.exportFilter(), w)
	if err != nil {
		return ExportPage{}, err
	}
	more := len(us) > perPage
	switch {
	case more && w.Before != nil:
		us = us[1:]
	case more:
		us = us[:perPage]
	}
	page := ExportPage{Users: us, EndOfStream: !more && w.Before == nil}
	key := func(u *User) SortKey { return userSorting.key(exportSort, u) }
	switch {
	case len(us) > 0:
		page.After = s.sealCursor(list, key(us[len(us)-1]), 'a')
		if cursor != "" {
			page.Before = s.sealCursor(list, key(us[0]), 'b')
		}
	case w.After != nil: // nothing new yet: the next call resumes here
		page.After = s.sealCursor(list, *w.After, 'a')
	}
	return page, nil
}
