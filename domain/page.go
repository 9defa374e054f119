package domain

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// PageRequest is how a v2 client asks for part of a list: cursor paging
// when Cursor is set (page[size], page[after], page[before]), offset paging
// (page, per_page) otherwise. Either may be sorted.
type PageRequest struct {
	Cursor bool
	Size   int    // page[size] or per_page; 0 = the default
	Number int    // offset paging: 1-based page number; 0 = the first
	After  string // cursor paging: an after_cursor from an earlier page
	Before string // cursor paging: a before_cursor from an earlier page
	Sort   Sort
}

// Sort orders a list by one of its sort fields. The id breaks ties in the
// same direction, so every item has one place a cursor can mark; it is
// also the order without a field.
type Sort struct {
	Field string // "" (or "id"): by id
	Desc  bool
}

// SortKey is an item's place in a sorted list: what a cursor carries.
type SortKey struct {
	ID    int64
	Value any // the sort field's value: nil (by id), a string or an int64 (times in Unix seconds)
}

// sorting is what paging needs of a list's items: their id and the value
// of each sort field the list offers.
type sorting[T any] struct {
	id     func(T) int64
	fields map[string]func(T) any
}

func (st sorting[T]) key(sort Sort, t T) SortKey {
	k := SortKey{ID: st.id(t)}
	if sort.Field != "" {
		k.Value = st.fields[sort.Field](t)
	}
	return k
}

// check refuses a sort field the list does not offer, rather than answer
// in another order than asked.
func (st sorting[T]) check(sort *Sort) error {
	if sort.Field == "id" {
		sort.Field = ""
	}
	if _, ok := st.fields[sort.Field]; ok || sort.Field == "" {
		return nil
	}
	names := append([]string{"id"}, slices.Sorted(maps.Keys(st.fields))...)
	return &Error{Kind: BadRequest, Code: "InvalidParameter",
		Msg: fmt.Sprintf("%q is not a sort field of this list; sort by %s", sort.Field, strings.Join(names, ", "))}
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

// window turns the request into a store window, checking its bounds and
// its sort. list names the list and its filters, so that a cursor only
// opens where it was made.
func window[T any](s *Service, list string, p PageRequest, st sorting[T]) (Window, PageInfo, error) {
	info := PageInfo{Cursor: p.Cursor, Size: p.Size, Number: p.Number}
	if err := st.check(&p.Sort); err != nil {
		return Window{}, info, err
	}
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
		return Window{Offset: (info.Number - 1) * info.Size, Limit: info.Size + 1, Sort: p.Sort}, info, nil
	}
	w := Window{Limit: info.Size + 1, Sort: p.Sort}
	var err error
	switch {
	case p.After != "" && p.Before != "":
		return w, info, badPage("page[after] and page[before] cannot be combined")
	case p.After != "":
		w.After, err = s.openCursor(sortedList(list, p.Sort), p.After, 'a')
	case p.Before != "":
		w.Before, err = s.openCursor(sortedList(list, p.Sort), p.Before, 'b')
	}
	return w, info, err
}

// sortedList names a list in a sort order: a cursor made in one order does
// not open in another.
func sortedList(list string, sort Sort) string {
	return fmt.Sprintf("%s|sort=%s,%t", list, sort.Field, sort.Desc)
}

// finish trims the extra item fetched to learn whether more follow and
// fills in the cursors.
func finish[T any](s *Service, list string, w Window, info PageInfo, items []T, st sorting[T]) ([]T, PageInfo) {
	more := len(items) > info.Size
	switch {
	case more && w.Before != nil: // the extra item is the farthest back
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
		list = sortedList(list, w.Sort)
		info.AfterCursor = s.sealCursor(list, st.key(w.Sort, items[len(items)-1]), 'a')
		info.BeforeCursor = s.sealCursor(list, st.key(w.Sort, items[0]), 'b')
	}
	if w.Before != nil {
		info.PrevCursor = more
		info.NextCursor = len(items) > 0
	} else {
		info.NextCursor = more
		info.PrevCursor = w.After != nil && len(items) > 0
	}
	return items, info
}

// paginate runs one page of a list: fetch reads a window (in sort order,
// also before a cursor), count the total for offset paging.
func paginate[T any](s *Service, list string, p PageRequest, st sorting[T],
	fetch func(Window) ([]T, error), count func() (int, error)) ([]T, PageInfo, error) {
	w, info, err := window(s, list, p, st)
	if err != nil {
		return nil, info, err
	}
	items, err := fetch(w)
	if err != nil {
		return nil, info, err
	}
	items, info = finish(s, list, w, info, items, st)
	switch {
	case info.Cursor:
	case !info.HasNext && len(items) > 0:
		// The last page: what precedes it and what it holds is the count,
		// which a lookup of one user then costs no second query for.
		info.Count = w.Offset + len(items)
	default:
		if info.Count, err = count(); err != nil {
			return nil, info, err
		}
	}
	return items, info, nil
}

// pageSlice pages a short list the store returns whole, in its own order
// unless a sort is asked for; a cursor marks an item by id.
func pageSlice[T any](s *Service, list string, p PageRequest, all []T, st sorting[T]) ([]T, PageInfo, error) {
	w, info, err := window(s, list, p, st)
	if err != nil {
		return nil, info, err
	}
	if w.Sort != (Sort{}) {
		all = slices.Clone(all)
		slices.SortStableFunc(all, func(a, b T) int { return compareKeys(st.key(w.Sort, a), st.key(w.Sort, b), w.Sort.Desc) })
	}
	at := func(k *SortKey) int { return slices.IndexFunc(all, func(t T) bool { return st.id(t) == k.ID }) }
	var items []T
	switch {
	case w.After != nil:
		if i := at(w.After); i >= 0 {
			items = all[i+1:]
		}
		items = items[:min(len(items), w.Limit)]
	case w.Before != nil:
		if i := at(w.Before); i >= 0 {
			items = all[max(0, i-w.Limit):i]
		}
	default:
		items = all[min(w.Offset, len(all)):]
		items = items[:min(len(items), w.Limit)]
	}
	items, info = finish(s, list, w, info, items, st)
	info.Count = len(all)
	return items, info, nil
}

// compareKeys orders two keys of one sort: by value, then by id.
func compareKeys(a, b SortKey, desc bool) int {
	c := 0
	switch av := a.Value.(type) {
	case int64:
		c = cmp.Compare(av, b.Value.(int64))
	case string: // case-insensitive, as the store's NOCASE columns
		c = cmp.Compare(strings.ToLower(av), strings.ToLower(b.Value.(string)))
	}
	if c == 0 {
		c = cmp.Compare(a.ID, b.ID)
	}
	if desc {
		return -c
	}
	return c
}

// A cursor is base64url(direction, list fingerprint, id, value kind, value,
// MAC). The MAC makes it tamper-evident; the fingerprint (of the list, its
// filters and its sort) makes a cursor from elsewhere fail instead of
// landing on a wrong page.
const (
	cursorMACLen  = 16
	cursorHeadLen = 1 + 8 + 8 + 1
)

func (s *Service) sealCursor(list string, k SortKey, dir byte) string {
	b := make([]byte, 0, cursorHeadLen+8+cursorMACLen)
	b = append(b, dir)
	b = binary.BigEndian.AppendUint64(b, listFingerprint(list))
	b = binary.BigEndian.AppendUint64(b, uint64(k.ID))
	switch v := k.Value.(type) {
	case int64:
		b = binary.BigEndian.AppendUint64(append(b, 'i'), uint64(v))
	case string:
		b = append(append(b, 's'), v...)
	default:
		b = append(b, '-')
	}
	b = append(b, s.cursorMAC(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Service) openCursor(list, token string, dir byte) (*SortKey, error) {
	forged := badPage("The cursor is not one this server issued")
	b, err := base64.RawURLEncoding.DecodeString(token)
	// A cursor has one spelling: the decoder skips newlines and ignores the
	// last character's unused bits, and fuzzing found both.
	if err != nil || len(b) < cursorHeadLen+cursorMACLen || base64.RawURLEncoding.EncodeToString(b) != token {
		return nil, forged
	}
	body, mac := b[:len(b)-cursorMACLen], b[len(b)-cursorMACLen:]
	if !hmac.Equal(mac, s.cursorMAC(body)) {
		return nil, forged
	}
	if body[0] != dir || binary.BigEndian.Uint64(body[1:9]) != listFingerprint(list) {
		return nil, badPage("The cursor belongs to another list, sort or direction")
	}
	k := &SortKey{ID: int64(binary.BigEndian.Uint64(body[9:17]))}
	switch value := body[cursorHeadLen:]; body[cursorHeadLen-1] {
	case 'i':
		if len(value) != 8 {
			return nil, forged
		}
		k.Value = int64(binary.BigEndian.Uint64(value))
	case 's':
		k.Value = string(value)
	}
	if k.ID < 0 { // 0: the start of the export, before any user
		return nil, forged
	}
	return k, nil
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
	fmt.Fprintf(&b, "|%d|%s|%s|%s|%v|%d|%t|%t", f.CustomRoleID, strings.ToLower(f.ExternalID), strings.ToLower(f.NameContains),
		strings.ToLower(f.NamePrefix), f.Search, f.UpdatedBefore.Unix(), f.IncludeInactive, f.Deleted)
	return b.String()
}
