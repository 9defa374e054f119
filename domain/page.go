package domain

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// PageRequest is how a v2 client asks for part of a list: cursor paging
// when Cursor is set (page[size], page[after], page[before]), offset paging
// (page, per_page) otherwise.
type PageRequest struct {
	Cursor bool
	Size   int    // page[size] or per_page; 0 = the default
	Number int    // offset paging: 1-based page number; 0 = the first
	After  string // cursor paging: an after_cursor from an earlier page
	Before string // cursor paging: a before_cursor from an earlier page
}

// PageInfo tells a client where it is and how to go on.
type PageInfo struct {
	Cursor       bool
	Size         int
	Number       int  // offset paging
	Count        int  // offset paging: how many match in all
	HasPrev      bool // offset paging
	HasNext      bool // offset paging
	HasMore      bool // cursor paging: more items in the direction travelled
	AfterCursor  string
	BeforeCursor string
	NextCursor   bool // cursor paging: a next link makes sense
	PrevCursor   bool // cursor paging: a prev link makes sense
}

const (
	DefaultPageSize = 100
	MaxPageSize     = 100
	// MaxOffsetRecords is how deep offset paging may reach: beyond it the
	// real service answers 400 and asks for cursor paging.
	MaxOffsetRecords = 10000
)

func badPage(format string, args ...any) error {
	return &Error{Kind: BadRequest, Code: "InvalidPaginationParameter", Msg: fmt.Sprintf(format, args...)}
}

// window turns the request into a store window, checking its bounds. list
// names the list and its filters, so that a cursor only opens where it was made.
func (s *Service) window(list string, p PageRequest) (Window, PageInfo, error) {
	info := PageInfo{Cursor: p.Cursor, Size: p.Size, Number: p.Number}
	if info.Size == 0 {
		info.Size = DefaultPageSize
	}
	if info.Size < 1 || info.Size > MaxPageSize {
		return Window{}, info, badPage("page size must be between 1 and %d", MaxPageSize)
	}
	if !p.Cursor {
		if info.Number == 0 {
			info.Number = 1
		}
		if info.Number < 1 {
			return Window{}, info, badPage("page must be a whole number from 1 up")
		}
		if info.Number > MaxOffsetRecords/info.Size { // not Number*Size: a huge page number overflows it
			return Window{}, info, badPage("Offset pagination reaches at most %d records; use cursor pagination (page[size]) to go further", MaxOffsetRecords)
		}
		return Window{Offset: (info.Number - 1) * info.Size, Limit: info.Size + 1}, info, nil
	}
	w := Window{Limit: info.Size + 1}
	var err error
	switch {
	case p.After != "" && p.Before != "":
		return w, info, badPage("page[after] and page[before] cannot be combined")
	case p.After != "":
		w.AfterID, err = s.openCursor(list, p.After, 'a')
	case p.Before != "":
		w.BeforeID, err = s.openCursor(list, p.Before, 'b')
	}
	return w, info, err
}

// finish trims the extra item fetched to learn whether more follow and
// fills in the cursors.
func finish[T any](s *Service, list string, w Window, info PageInfo, items []T, id func(T) int64) ([]T, PageInfo) {
	more := len(items) > info.Size
	switch {
	case more && w.BeforeID != 0: // the extra item is the farthest back
		items = items[1:]
	case more:
		items = items[:info.Size]
	}
	if !info.Cursor {
		info.HasNext = more
		info.HasPrev = info.Number > 1
		return items, info
	}
	info.HasMore = more
	if len(items) > 0 {
		info.AfterCursor = s.sealCursor(list, id(items[len(items)-1]), 'a')
		info.BeforeCursor = s.sealCursor(list, id(items[0]), 'b')
	}
	if w.BeforeID != 0 {
		info.PrevCursor = more
		info.NextCursor = len(items) > 0
	} else {
		info.NextCursor = more
		info.PrevCursor = w.AfterID != 0 && len(items) > 0
	}
	return items, info
}

// paginate runs one page of a list: fetch reads a window (in ascending id
// order, also before a cursor), count the total for offset paging.
func paginate[T any](s *Service, list string, p PageRequest, id func(T) int64,
	fetch func(Window) ([]T, error), count func() (int, error)) ([]T, PageInfo, error) {
	w, info, err := s.window(list, p)
	if err != nil {
		return nil, info, err
	}
	items, err := fetch(w)
	if err != nil {
		return nil, info, err
	}
	items, info = finish(s, list, w, info, items, id)
	if !info.Cursor {
		if info.Count, err = count(); err != nil {
			return nil, info, err
		}
	}
	return items, info, nil
}

// pageSlice pages a short list the store returns whole, in its own order;
// a cursor marks an item by id.
func pageSlice[T any](s *Service, list string, p PageRequest, all []T, id func(T) int64) ([]T, PageInfo, error) {
	w, info, err := s.window(list, p)
	if err != nil {
		return nil, info, err
	}
	at := func(want int64) int { return slices.IndexFunc(all, func(t T) bool { return id(t) == want }) }
	var items []T
	switch {
	case w.AfterID != 0:
		if i := at(w.AfterID); i >= 0 {
			items = all[i+1:]
		}
		items = items[:min(len(items), w.Limit)]
	case w.BeforeID != 0:
		if i := at(w.BeforeID); i >= 0 {
			items = all[max(0, i-w.Limit):i]
		}
	default:
		items = all[min(w.Offset, len(all)):]
		items = items[:min(len(items), w.Limit)]
	}
	items, info = finish(s, list, w, info, items, id)
	info.Count = len(all)
	return items, info, nil
}

// A cursor is base64url(direction, list fingerprint, id, MAC). The MAC makes
// it tamper-evident; the fingerprint makes a cursor from another list or
// other filters fail instead of landing on a wrong page.
const cursorMACLen = 16

func (s *Service) sealCursor(list string, id int64, dir byte) string {
	b := make([]byte, 0, 1+8+8+cursorMACLen)
	b = append(b, dir)
	b = binary.BigEndian.AppendUint64(b, listFingerprint(list))
	b = binary.BigEndian.AppendUint64(b, uint64(id))
	b = append(b, s.cursorMAC(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Service) openCursor(list, token string, dir byte) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != 1+8+8+cursorMACLen {
		return 0, badPage("The cursor is not one this server issued")
	}
	body, mac := b[:17], b[17:]
	if !hmac.Equal(mac, s.cursorMAC(body)) {
		return 0, badPage("The cursor is not one this server issued")
	}
	if body[0] != dir || binary.BigEndian.Uint64(body[1:9]) != listFingerprint(list) {
		return 0, badPage("The cursor belongs to another list or direction")
	}
	id := int64(binary.BigEndian.Uint64(body[9:17]))
	if id < 1 {
		return 0, badPage("The cursor is not one this server issued")
	}
	return id, nil
}

func (s *Service) cursorMAC(b []byte) []byte {
	m := hmac.New(sha256.New, s.cursorKey)
	m.Write(b)
	return m.Sum(nil)[:cursorMACLen]
}

func listFingerprint(list string) uint64 {
	sum := sha256.Sum256([]byte(list))
	return binary.BigEndian.Uint64(sum[:8])
}

// key is a canonical text of the filter, for cursor fingerprints.
func (f UserFilter) key() string {
	var b strings.Builder
	for _, r := range f.Roles {
		b.WriteString(r.String() + ",")
	}
	fmt.Fprintf(&b, "|%d|%s|%s|%t", f.CustomRoleID, strings.ToLower(f.ExternalID), strings.ToLower(f.NameContains), f.IncludeInactive)
	return b.String()
}
