package jsonapi

import "net/http"

// passwordInput is the bare body of the password endpoints:
// {"password": "…"} to set, plus "previous_password" to change one's own.
type passwordInput struct {
	Password         string `json:"password"`
	PreviousPassword string `json:"previous_password"`
}

func (h *Handler) readPassword(r *http.Request) (int64, passwordInput, error) {
	var in passwordInput
	userID, err := pathID(r, "user_id")
	if err == nil {
		err = decode(r, "", &in)
	}
	return userID, in, err
}

// setPassword is an admin setting another user's password: 200, empty.
func (h *Handler) setPassword(w http.ResponseWriter, r *http.Request) error {
	userID, in, err := h.readPassword(r)
	if err != nil {
		return err
	}
	if err := h.svc.SetPassword(r.Context(), userID, in.Password); err != nil {
		return err
	}
	emptyOK(w)
	return nil
}

// changePassword is a user changing its own password: 200, empty.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) error {
	userID, in, err := h.readPassword(r)
	if err != nil {
		return err
	}
	if err := h.svc.ChangePassword(r.Context(), userID, in.PreviousPassword, in.Password); err != nil {
		return err
	}
	emptyOK(w)
	return nil
}

func (h *Handler) passwordRequirements(w http.ResponseWriter, r *http.Request) error {
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	reqs, err := h.svc.PasswordRequirements(r.Context(), userID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"requirements": reqs})
	return nil
}
