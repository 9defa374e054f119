package jsonapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/deskgate/deskgate/domain"
)

// mergeUser merges the end user in the path into the one the body names:
// {"user": {"id": TARGET}} → 200 with the target.
func (h *Handler) mergeUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	var in struct {
		ID opt[int64] `json:"id"`
	}
	if err := decode(r, "user", &in); err != nil {
		return err
	}
	u, err := h.svc.MergeUser(r.Context(), id, in.ID.v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": h.user(r, u)})
	return nil
}

// mergeMe merges the user the body's credentials prove into the caller:
// {"user": {"email": …, "password": …}} → 200 with the caller.
func (h *Handler) mergeMe(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decode(r, "user", &in); err != nil {
		return err
	}
	u, err := h.svc.MergeIntoMe(r.Context(), in.Email, in.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": h.user(r, u)})
	return nil
}

// deletedUserJSON is the spec's DeletedUserObject. A permanently deleted
// user keeps the shape, with its personal fields null.
type deletedUserJSON struct {
	userHead
	userProfile
	Active bool `json:"active"`
}

// deletedUser builds the one deleted-user shape. Its url has no .json, as
// the spec's examples show it.
func (h *Handler) deletedUser(r *http.Request, u *domain.User) deletedUserJSON {
	head, profile := userParts(u, h.base(r)+"/api/v2/deleted_users/"+strconv.FormatInt(u.ID, 10))
	return deletedUserJSON{userHead: head, userProfile: profile, Active: u.Active}
}

func (h *Handler) listDeletedUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	us, info, err := h.svc.DeletedUsers(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.listBody(r, "deleted_users", each(r, us, h.deletedUser), info))
	return nil
}

func (h *Handler) countDeletedUsers(w http.ResponseWriter, r *http.Request) error {
	n, err := h.svc.CountDeletedUsers(r.Context())
	if err != nil {
		return err
	}
	h.writeCount(w, n)
	return nil
}

func (h *Handler) showDeletedUser(w http.ResponseWriter, r *http.Request) error {
	return h.answerDeletedUser(w, r, h.svc.DeletedUser)
}

// eraseUser is the permanent deletion: 200 with the scrubbed deleted user.
func (h *Handler) eraseUser(w http.ResponseWriter, r *http.Request) error {
	return h.answerDeletedUser(w, r, h.svc.EraseUser)
}

func (h *Handler) answerDeletedUser(w http.ResponseWriter, r *http.Request, op func(context.Context, int64) (*domain.User, error)) error {
	id, err := pathID(r, "deleted_user_id")
	if err != nil {
		return err
	}
	u, err := op(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted_user": h.deletedUser(r, u)})
	return nil
}

func (h *Handler) complianceDeletionStatuses(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	sts, info, err := h.svc.ComplianceDeletionStatuses(r.Context(), id, r.URL.Query().Get("application"), p)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(sts))
	for i, s := range sts {
		out[i] = map[string]any{"action": s.Action, "application": s.Application, "account_subdomain": "deskgate",
			"executer_id": nullID(s.ExecuterID), "user_id": s.UserID, "created_at": v2Time(s.CreatedAt)}
	}
	writeJSON(w, http.StatusOK, h.listBody(r, "compliance_deletion_statuses", out, info))
	return nil
}
