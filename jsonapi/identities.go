package jsonapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/deskgate/deskgate/domain"
)

type identityJSON struct {
	ID                 int64  `json:"id"`
	URL                string `json:"url"`
	UserID             int64  `json:"user_id"`
	Type               string `json:"type"`
	Value              string `json:"value"`
	Verified           bool   `json:"verified"`
	Primary            bool   `json:"primary"`
	CreatedAt          string `json:"created_at"`
	UpdatedAt          string `json:"updated_at"`
	UndeliverableCount int    `json:"undeliverable_count"`
	DeliverableState   string `json:"deliverable_state,omitempty"` // email identities only
}

func (h *Handler) identity(r *http.Request, i *domain.Identity) identityJSON {
	out := identityJSON{
		ID:     i.ID,
		URL:    h.base(r) + "/api/v2/users/" + strconv.FormatInt(i.UserID, 10) + "/identities/" + strconv.FormatInt(i.ID, 10) + ".json",
		UserID: i.UserID, Type: string(i.Type), Value: i.Value, Verified: i.Verified, Primary: i.Primary,
		CreatedAt: v2Time(i.CreatedAt), UpdatedAt: v2Time(i.UpdatedAt), UndeliverableCount: i.UndeliverableCount,
	}
	if i.Type == domain.IdentityEmail {
		out.DeliverableState = "deliverable" // deskgate delivers no mail that could bounce
	}
	return out
}

func (h *Handler) identities(r *http.Request, ids []domain.Identity) []identityJSON {
	return eachHeld(r, ids, h.identity)
}

// listIdentities serves a user's identities, narrowed by the repeatable
// type[] filter.
func (h *Handler) listIdentities(w http.ResponseWriter, r *http.Request) error {
	var types []domain.IdentityType
	for _, name := range r.URL.Query()["type[]"] {
		t, ok := domain.ParseIdentityType(name)
		if !ok {
			return &domain.Error{Kind: domain.BadRequest, Code: "InvalidParameter",
				Msg: "type[] must name identity types: email, twitter, facebook, google, phone_number, agent_forwarding, any_channel, foreign, sdk, messaging or microsoft"}
		}
		types = append(types, t)
	}
	return listOfUser(h, "identities", func(ctx context.Context, userID int64, p domain.PageRequest) ([]domain.Identity, domain.PageInfo, error) {
		return h.svc.Identities(ctx, userID, types, p)
	}, h.identities)(w, r)
}

// identityInput is the body of an identity create or update. primary is
// read on create only; an update ignores it, as the seed says.
type identityInput struct {
	Type               string      `json:"type"`
	Value              opt[string] `json:"value"`
	Primary            bool        `json:"primary"`
	Verified           opt[bool]   `json:"verified"`
	VerificationMethod opt[string] `json:"verification_method"`
	SkipVerifyEmail    bool        `json:"skip_verify_email"`
}

// verified reads verified, or else verification_method (low = verified,
// none = not), as the seed describes the update.
func (in *identityInput) verified() (*bool, error) {
	if in.Verified.set || !in.VerificationMethod.set {
		return in.Verified.ptr(), nil
	}
	v, ok := map[string]bool{"low": true, "none": false}[in.VerificationMethod.v]
	if !ok {
		return nil, &domain.Error{Kind: domain.Invalid, Msg: "Record validation errors",
			Fields: []domain.FieldError{domain.FieldInvalid("verification_method", `must be "low" (verified) or "none" (not verified)`)}}
	}
	return &v, nil
}

// readIdentity decodes an identity body and the verified state it asks for.
func readIdentity(r *http.Request) (in identityInput, verified *bool, err error) {
	if err = decode(r, "identity", &in); err == nil {
		verified, err = in.verified()
	}
	return in, verified, err
}

func (h *Handler) createIdentity(w http.ResponseWriter, r *http.Request) error {
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	in, verified, err := readIdentity(r)
	if err != nil {
		return err
	}
	id, err := h.svc.CreateIdentity(r.Context(), userID, domain.NewIdentity{
		Type: domain.IdentityType(in.Type), Value: in.Value.v, Primary: in.Primary,
		Verified: verified != nil && *verified, SkipVerifyEmail: in.SkipVerifyEmail,
	})
	if err != nil {
		return err
	}
	h.created(w, r, "identity", "users/"+strconv.FormatInt(userID, 10)+"/identities", id.ID, h.identity(r, id))
	return nil
}

func (h *Handler) updateIdentity(w http.ResponseWriter, r *http.Request) error {
	userID, id, err := userAndRecord(r, "identity_id")
	if err != nil {
		return err
	}
	in, verified, err := readIdentity(r)
	if err != nil {
		return err
	}
	i, err := h.svc.UpdateIdentity(r.Context(), userID, id, domain.IdentityChanges{Value: in.Value.ptr(), Verified: verified})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"identity": h.identity(r, i)})
	return nil
}

// requestVerification mails the user: 200 with an empty body.
func (h *Handler) requestVerification(w http.ResponseWriter, r *http.Request) error {
	userID, id, err := userAndRecord(r, "identity_id")
	if err != nil {
		return err
	}
	if err := h.svc.RequestVerification(r.Context(), userID, id); err != nil {
		return err
	}
	emptyOK(w)
	return nil
}
