package httpapi

import (
	"context"
	"net/http"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
)

// fillHealth sets each view's health: what stops the instance sending and
// its delivery rate from Postgres, today's counts from the send limiter.
// session, when set, is the live WuzAPI session of a single instance (GET
// /v1/instances/{id}); a list uses the last recorded check. A limiter that
// cannot answer leaves today null; the rest is still shown.
func (s *Server) fillHealth(ctx context.Context, views []instanceView, session *campaign.InstanceStatus) error {
	if len(views) == 0 {
		return nil
	}
	t := tenantFrom(ctx)
	now := s.now()
	ids := make([]string, len(views))
	for i, v := range views {
		ids[i] = v.ID
	}
	statuses, err := s.opts.DB.InstanceStatuses(ctx, t.ID, ids, now.Add(-campaign.GuardAge))
	if err != nil {
		return err
	}
	loc := t.Location()
	for i := range views {
		st := statuses[views[i].ID]
		if session != nil {
			st.Connected, st.LoggedIn, st.SessionError = session.Connected, session.LoggedIn, session.SessionError
		}
		var today *campaign.Today
		if s.opts.Sends != nil {
			td, err := s.opts.Sends.Today(ctx, views[i].Policy(loc))
			if err != nil {
				s.log.WarnContext(ctx, "today's sends unreadable; health shows today null", "instance_id", views[i].ID, "error", err.Error())
			} else {
				today = &td
			}
		}
		h := st.Health(views[i].ID, today, now)
		views[i].Health = &h
	}
	return nil
}

// resumeInstance reopens the instance's new-contact sending that the
// delivery guard paused (POST /v1/instances/{id}/resume). Another tenant's
// instance is NOT_FOUND; a lane that is not paused (open, or locked by
// WhatsApp, which cannot be lifted) is INVALID_STATE.
func (s *Server) resumeInstance(w http.ResponseWriter, r *http.Request) error {
	inst, err := s.instanceFromPath(r)
	if err != nil {
		return err
	}
	if err := s.opts.DB.ResumeNewLane(r.Context(), inst.TenantID, inst.ID, s.now()); err != nil {
		if errcode.CodeOf(err) != errcode.InvalidState {
			return err
		}
		views := []instanceView{{Instance: inst}}
		if herr := s.fillHealth(r.Context(), views, nil); herr == nil && views[0].Health.State == campaign.HealthLocked {
			return errcode.New(errcode.InvalidState, "new-contact sending is locked by WhatsApp (error 463), not paused: a lock cannot be lifted, it ends by itself")
		}
		return err
	}
	view := instanceView{Instance: inst, WebhookURL: s.webhookURL(inst.ID, "")}
	views := []instanceView{view}
	if err := s.fillHealth(r.Context(), views, nil); err != nil {
		return err
	}
	writeData(w, http.StatusOK, views[0])
	return nil
}
