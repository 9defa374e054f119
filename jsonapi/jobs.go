package jsonapi

import (
	"net/http"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/observe"
)

// bulkUserInput is one element of a "users" array: a user, and for
// update_many the target's id (or its external_id, which is also a field).
type bulkUserInput struct {
	ID opt[int64] `json:"id"`
	userInput
}

// bulkItems reads {"users": [...]} into job items. An item whose values the
// domain cannot hold (an unknown role) fails alone when the job runs; a
// value of the wrong JSON type fails the whole request, as on the real API.
func bulkItems(r *http.Request, targeted bool) ([]domain.JobItem, error) {
	var in []bulkUserInput
	if err := decode(r, "users", &in); err != nil {
		return nil, err
	}
	items := make([]domain.JobItem, len(in))
	for i, u := range in {
		items[i] = itemOf(&u.userInput)
		if targeted {
			items[i].UserID, items[i].ExternalID = u.ID.v, u.ExternalID.v
			if items[i].UserID == 0 && items[i].ExternalID == "" {
				items[i].Invalid = append(items[i].Invalid, domain.FieldInvalid("id", "or external_id is needed to find the user"))
			}
		}
	}
	return items, nil
}

// itemOf is one item's changes, or why they cannot be made.
func itemOf(in *userInput) domain.JobItem {
	c, err := in.changes()
	if err != nil {
		return domain.JobItem{Changes: c, Invalid: domain.AsError(err).Fields}
	}
	return domain.JobItem{Changes: c}
}

// targets reads ?ids=1,2 or ?external_ids=a,b into items; ok is false when
// neither parameter is there.
func targets(r *http.Request) (items []domain.JobItem, ok bool, err error) {
	q := r.URL.Query()
	switch {
	case q.Has("ids"):
		ids, err := idList(q.Get("ids"), "ids")
		for _, id := range ids {
			items = append(items, domain.JobItem{UserID: id})
		}
		return items, true, err
	case q.Has("external_ids"):
		for _, ext := range stringList(q.Get("external_ids")) {
			items = append(items, domain.JobItem{ExternalID: ext})
		}
		return items, true, nil
	}
	return nil, false, nil
}

func (h *Handler) enqueue(w http.ResponseWriter, r *http.Request, t domain.JobType, items []domain.JobItem) error {
	j, err := h.svc.EnqueueJob(r.Context(), t, items)
	if err != nil {
		return err
	}
	// 200, not 202: the real service answers bulk requests so.
	writeJSON(w, http.StatusOK, map[string]any{"job_status": h.jobStatus(r, j)})
	return nil
}

func (h *Handler) createMany(w http.ResponseWriter, r *http.Request) error {
	items, err := bulkItems(r, false)
	if err != nil {
		return err
	}
	return h.enqueue(w, r, domain.JobCreateMany, items)
}

func (h *Handler) createOrUpdateMany(w http.ResponseWriter, r *http.Request) error {
	items, err := bulkItems(r, false)
	if err != nil {
		return err
	}
	return h.enqueue(w, r, domain.JobCreateOrUpdateMany, items)
}

// updateMany takes ?ids= or ?external_ids= with one {"user": …} for all,
// or a {"users": […]} array of per-user changes.
func (h *Handler) updateMany(w http.ResponseWriter, r *http.Request) error {
	items, byQuery, err := targets(r)
	if err != nil {
		return err
	}
	if !byQuery {
		if items, err = bulkItems(r, true); err != nil {
			return err
		}
		return h.enqueue(w, r, domain.JobUpdateMany, items)
	}
	var in userInput
	if err := decode(r, "user", &in); err != nil {
		return err
	}
	one := itemOf(&in)
	for i := range items {
		items[i].Changes, items[i].Invalid = one.Changes, one.Invalid
	}
	return h.enqueue(w, r, domain.JobUpdateMany, items)
}

func (h *Handler) destroyMany(w http.ResponseWriter, r *http.Request) error {
	items, ok, err := targets(r)
	switch {
	case err != nil:
		return err
	case !ok:
		return &domain.Error{Kind: domain.BadRequest, Code: "InvalidParameter", Msg: "Pass ids=1,2,3 or external_ids=a,b,c"}
	}
	return h.enqueue(w, r, domain.JobDestroyMany, items)
}

// createOrUpdateUser answers 201 when it created the user and 200 when it
// updated one, with Location either way.
func (h *Handler) createOrUpdateUser(w http.ResponseWriter, r *http.Request) error {
	c, err := h.readUser(r)
	if err != nil {
		return err
	}
	u, created, err := h.svc.CreateOrUpdateUser(r.Context(), c)
	if err != nil {
		return err
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	w.Header().Set("Location", h.resourceURL(r, "users", u.ID))
	writeJSON(w, code, map[string]any{"user": h.user(r, u)})
	return nil
}

func (h *Handler) showJobStatus(w http.ResponseWriter, r *http.Request) error {
	j, err := h.svc.Job(r.Context(), observe.Vars(r)["job_id"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"job_status": h.jobStatus(r, j)})
	return nil
}

func (h *Handler) listJobStatuses(w http.ResponseWriter, r *http.Request) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	js, info, err := h.svc.Jobs(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.listBody(r, "job_statuses", each(r, js, h.jobStatus), info))
	return nil
}

func (h *Handler) showManyJobStatuses(w http.ResponseWriter, r *http.Request) error {
	js, err := h.svc.JobsByIDs(r.Context(), stringList(r.URL.Query().Get("ids")))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"job_statuses": each(r, js, h.jobStatus)})
	return nil
}

// jobStatusJSON is the spec's JobStatusObject. While queued, total,
// progress, message and results are null; results show once the job ended.
type jobStatusJSON struct {
	ID       string           `json:"id"`
	URL      string           `json:"url"`
	JobType  string           `json:"job_type"`
	Total    *int             `json:"total"`
	Progress *int             `json:"progress"`
	Status   string           `json:"status"`
	Message  *string          `json:"message"`
	Results  []map[string]any `json:"results"`
}

func (h *Handler) jobStatus(r *http.Request, j *domain.JobStatus) jobStatusJSON {
	out := jobStatusJSON{
		ID: j.ID, URL: h.base(r) + "/api/v2/job_statuses/" + j.ID + ".json",
		JobType: string(j.Type), Status: string(j.State),
	}
	if j.State == domain.JobQueued {
		return out
	}
	out.Total, out.Progress, out.Message = &j.Total, &j.Progress, text(j.Message)
	if j.State.Ended() {
		out.Results = make([]map[string]any, len(j.Results))
		for i, res := range j.Results {
			out.Results[i] = jobResult(j.Type, res)
		}
	}
	return out
}

// jobResult is one item's result in the shape the real service gives that
// job type (API-NOTES §2.3): create_many {id, index}; create_or_update_many
// {id, status, email}, where a failed item's id is its index; update and
// delete {id, action, status, success}.
func jobResult(t domain.JobType, res domain.JobResult) map[string]any {
	failed := res.Status == domain.ResultFailed
	var out map[string]any
	switch t {
	case domain.JobCreateMany:
		out = map[string]any{"index": res.Index}
		if !failed {
			out["id"] = res.UserID
		}
	case domain.JobCreateOrUpdateMany:
		out = map[string]any{"id": res.UserID, "status": res.Status, "email": text(res.Email)}
		if failed {
			out = map[string]any{"id": res.Index, "status": res.Status}
		}
	default:
		action := "update"
		if t == domain.JobDestroyMany {
			action = "delete"
		}
		out = map[string]any{"id": nullID(res.UserID), "action": action, "status": res.Status, "success": !failed}
		if res.ExternalID != "" {
			out["external_id"] = res.ExternalID
		}
	}
	if failed {
		out["error"], out["details"] = itemError(t, res.Failure)
	}
	return out
}
