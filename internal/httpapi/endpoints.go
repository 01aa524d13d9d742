package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"unicode/utf8"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/webhook"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

// Bounds of a webhook endpoint.
const (
	maxEndpointURLChars         = 2000
	maxEndpointDescriptionChars = 500
)

func (s *Server) registerWebhookRoutes() {
	s.handle("POST /v1/webhook-endpoints", s.tenant(s.createEndpoint))
	s.handle("GET /v1/webhook-endpoints", s.tenant(s.listEndpoints))
	s.handle("GET /v1/webhook-endpoints/{id}", s.tenant(s.getEndpoint))
	s.handle("PATCH /v1/webhook-endpoints/{id}", s.tenant(s.patchEndpoint))
	s.handle("DELETE /v1/webhook-endpoints/{id}", s.tenant(s.deleteEndpoint))
	s.handle("GET /v1/webhook-endpoints/{id}/deliveries", s.tenant(s.listDeliveries))
	s.handle("POST /v1/webhook-endpoints/{id}/deliveries/{deliveryId}/retry", s.tenant(s.retryDelivery))
}

type endpointIn struct {
	URL         *string  `json:"url"`
	Events      []string `json:"events"`
	Description *string  `json:"description"`
}

// createdEndpoint is the 201 body: the endpoint and, this once, its secret.
type createdEndpoint struct {
	webhook.Endpoint
	Secret string `json:"secret"`
}

// check validates the fields present in in (all required when create) and
// returns the URL as it is stored.
func (s *Server) checkEndpoint(r *http.Request, in endpointIn, create bool) (string, error) {
	var v errcode.Validator
	var url string
	switch {
	case in.URL == nil:
		v.Check(!create, "url", "required", "url is required")
	case utf8.RuneCountInString(*in.URL) > maxEndpointURLChars:
		v.Add("url", "too_long", fmt.Sprintf("url has at most %d characters", maxEndpointURLChars))
	default:
		u, err := s.guard().CheckWebhookURL(r.Context(), *in.URL, "url")
		var ue *wuzapi.URLError
		switch {
		case errors.As(err, &ue):
			v.Add("url", ue.Code, ue.Message)
		case err != nil:
			return "", err
		}
		url = u
	}
	if in.Events != nil || create {
		v.Check(len(in.Events) > 0, "events", "required", "events lists at least one event type")
		for i, e := range in.Events {
			v.Check(webhook.ValidEvent(e), fmt.Sprintf("events[%d]", i), "unknown_event",
				fmt.Sprintf("%q is not an event type; known: %v", e, webhook.Events))
		}
	}
	if in.Description != nil {
		v.Check(utf8.RuneCountInString(*in.Description) <= maxEndpointDescriptionChars, "description", "too_long",
			fmt.Sprintf("description has at most %d characters", maxEndpointDescriptionChars))
	}
	return url, v.Err()
}

// uniqueEvents drops repeated event types, keeping the first of each.
func uniqueEvents(events []string) []string {
	var out []string
	for _, e := range events {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

func (s *Server) createEndpoint(w http.ResponseWriter, r *http.Request) error {
	var in endpointIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	url, err := s.checkEndpoint(r, in, true)
	if err != nil {
		return err
	}
	secret, err := webhook.NewSecret()
	if err != nil {
		return err
	}
	var desc string
	if in.Description != nil {
		desc = *in.Description
	}
	e, err := s.opts.DB.CreateWebhookEndpoint(r.Context(), tenantFrom(r.Context()).ID, url, uniqueEvents(in.Events), desc, secret)
	if err != nil {
		return err
	}
	writeData(w, http.StatusCreated, createdEndpoint{Endpoint: e, Secret: secret})
	return nil
}

func (s *Server) listEndpoints(w http.ResponseWriter, r *http.Request) error {
	p, err := pageFrom(r)
	if err != nil {
		return err
	}
	es, err := s.opts.DB.WebhookEndpoints(r.Context(), tenantFrom(r.Context()).ID, p.After, p.Limit)
	if err != nil {
		return err
	}
	writeList(w, p, es, func(e webhook.Endpoint) string { return e.ID })
	return nil
}

func (s *Server) endpointFromPath(r *http.Request) (webhook.Endpoint, error) {
	id, err := pathID(r, "id", "webhook endpoint")
	if err != nil {
		return webhook.Endpoint{}, err
	}
	return s.opts.DB.WebhookEndpoint(r.Context(), tenantFrom(r.Context()).ID, id)
}

func (s *Server) getEndpoint(w http.ResponseWriter, r *http.Request) error {
	e, err := s.endpointFromPath(r)
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, e)
	return nil
}

func (s *Server) patchEndpoint(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "webhook endpoint")
	if err != nil {
		return err
	}
	var in endpointIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	url, err := s.checkEndpoint(r, in, false)
	if err != nil {
		return err
	}
	p := postgres.EndpointPatch{Description: in.Description}
	if in.URL != nil {
		p.URL = &url
	}
	if in.Events != nil {
		p.Events = uniqueEvents(in.Events)
	}
	e, err := s.opts.DB.UpdateWebhookEndpoint(r.Context(), tenantFrom(r.Context()).ID, id, p)
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, e)
	return nil
}

func (s *Server) deleteEndpoint(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "webhook endpoint")
	if err != nil {
		return err
	}
	if err := s.opts.DB.DeleteWebhookEndpoint(r.Context(), tenantFrom(r.Context()).ID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	e, err := s.endpointFromPath(r)
	if err != nil {
		return err
	}
	p, err := pageFrom(r)
	if err != nil {
		return err
	}
	status := r.URL.Query().Get("status")
	if status != "" && status != webhook.StatusPending && status != webhook.StatusDelivered && status != webhook.StatusFailed {
		return errcode.Validation(errcode.Detail{Field: "status", Code: "invalid", Message: "status must be one of pending, delivered, failed"})
	}
	items, err := s.opts.DB.WebhookDeliveries(r.Context(), tenantFrom(r.Context()).ID, e.ID, status, p.After, p.Limit)
	if err != nil {
		return err
	}
	writeList(w, p, items, func(l webhook.LogEntry) string { return l.ID })
	return nil
}

// retryDelivery makes a delivery due now, whatever its status, and asks
// for a delivery run at once (when that message cannot be sent, the
// scheduler's relay asks within a minute). A failed delivery gets this one
// attempt; a pending one keeps its retries.
func (s *Server) retryDelivery(w http.ResponseWriter, r *http.Request) error {
	e, err := s.endpointFromPath(r)
	if err != nil {
		return err
	}
	did, err := pathID(r, "deliveryId", "delivery")
	if err != nil {
		return err
	}
	if err := s.opts.DB.RetryWebhookDelivery(r.Context(), tenantFrom(r.Context()).ID, e.ID, did, s.now()); err != nil {
		return err
	}
	if s.opts.WebhookSender != nil && s.opts.WebhooksQueueURL != "" {
		if err := s.opts.WebhookSender.Send(r.Context(), s.opts.WebhooksQueueURL, webhook.NewMessage(e.ID), 0); err != nil {
			s.log.WarnContext(r.Context(), "webhook delivery run not queued; the relay will", "endpoint_id", e.ID, "error", err.Error())
		}
	}
	writeData(w, http.StatusAccepted, map[string]any{"id": did, "status": webhook.StatusPending})
	return nil
}
