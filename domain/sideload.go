package domain

import (
	"cmp"
	"context"
	"slices"
)

// Abilities say what the actor may do to a user (the abilities sideload).
type Abilities struct {
	UserID                int64
	CanEdit               bool
	CanEditPassword       bool
	CanManageIdentitiesOf bool
	CanVerifyIdentities   bool
}

// Include names the records ?include= adds next to users (API-NOTES §6.12).
type Include struct {
	Identities, Groups, Organizations, Abilities, Roles bool
}

// Sideloads are the records an Include asks for, each list de-duplicated
// by id. Roles stays empty: deskgate has no custom role records.
type Sideloads struct {
	Identities    []Identity
	Groups        []Group
	Organizations []*Organization
	Abilities     []Abilities
}

// Sideload gathers the records in asks for, for users the caller has just
// been shown.
func (s *Service) Sideload(ctx context.Context, us []*User, in Include) (Sideloads, error) {
	var out Sideloads
	a, err := actor(ctx)
	if err != nil || len(us) == 0 {
		return out, err
	}
	ids := make([]int64, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	if in.Identities {
		// The users whose identities the caller may see, as the identities
		// endpoints decide (an end user's own once verified), and of those
		// the types identityScope shows.
		var seen []int64
		for _, u := range us {
			if a.mayUseIdentities(u, viewIdentities) == nil {
				seen = append(seen, u.ID)
			}
		}
		if len(seen) > 0 {
			if out.Identities, err = s.store.IdentitiesOfUsers(ctx, seen); err != nil {
				return out, err
			}
		}
		if !a.Role.IsAgent() {
			out.Identities = slices.DeleteFunc(out.Identities, func(i Identity) bool { return !i.Type.seenByEndUsers() })
		}
	}
	if in.Organizations {
		if out.Organizations, err = s.store.OrganizationsOfUsers(ctx, ids); err != nil {
			return out, err
		}
	}
	if in.Groups {
		seen := map[int64]bool{}
		for _, u := range us {
			for _, m := range u.Groups {
				if !seen[m.GroupID] {
					seen[m.GroupID] = true
					out.Groups = append(out.Groups, m.Group)
				}
			}
		}
		slices.SortFunc(out.Groups, func(x, y Group) int { return cmp.Compare(x.ID, y.ID) })
	}
	if in.Abilities {
		for _, u := range us {
			out.Abilities = append(out.Abilities, a.abilities(u))
		}
	}
	return out, nil
}

// abilities applies the edit rules (mayEdit) to u.
func (a *Actor) abilities(u *User) Abilities {
	edit := a.mayEdit(u, &UserChanges{}) == nil
	return Abilities{
		UserID:                u.ID,
		CanEdit:               edit,
		CanEditPassword:       a.Role == Admin || a.ID == u.ID,
		CanManageIdentitiesOf: edit,
		CanVerifyIdentities:   a.Role == Admin,
	}
}
