package wuzapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// MaxCheckBatch is the most phones CheckUsers asks about in one call. Mass
// "is on WhatsApp" lookups get numbers locked, so checks go in small
// batches just before sending.
const MaxCheckBatch = 20

// UserCheck is WhatsApp's answer about one phone.
type UserCheck struct {
	// Query is the phone as asked (digits, no "+").
	Query string
	// IsInWhatsapp: the phone has a WhatsApp account. A phone that has none
	// must not be sent to: such sends trigger the reach-out lock.
	IsInWhatsapp bool
	// JID is the account WhatsApp knows ("551187654321@s.whatsapp.net"); it
	// may differ from Query (older Brazilian mobiles lack the 9th digit),
	// and newer servers may answer a "@lid" JID.
	JID          string
	VerifiedName string
}

// Phone is the phone number of the JID, to address sends to: the digits
// before "@" (and before a ":device" part) of a phone JID, or "" when the
// JID carries no phone (empty, "@lid").
func (u UserCheck) Phone() string {
	user, server, ok := strings.Cut(u.JID, "@")
	if !ok || server != "s.whatsapp.net" {
		return ""
	}
	user, _, _ = strings.Cut(user, ":")
	user, _, _ = strings.Cut(user, ".")
	if user == "" || strings.Trim(user, "0123456789") != "" {
		return ""
	}
	return user
}

// CheckUsers asks WhatsApp (POST /user/check) whether each phone (E.164
// digits, with or without "+") has an account. At most MaxCheckBatch
// phones per call (more, or none, is a Permanent error without a call).
// The answer maps each phone as given to WhatsApp's answer; a phone the
// server did not answer about is absent, which means unknown, not "not on
// WhatsApp". With the socket down the error is NotReady.
func (c *Client) CheckUsers(ctx context.Context, phones []string) (map[string]UserCheck, error) {
	const op, path = "check users", "/user/check"
	if len(phones) == 0 || len(phones) > MaxCheckBatch {
		return nil, &Error{Op: op, Path: path, Kind: KindRejected, Class: Permanent,
			Text: fmt.Sprintf("check %d phones: a call checks 1 to %d", len(phones), MaxCheckBatch)}
	}
	// whatsmeow wants the "+" here; the server echoes the query as sent.
	in := struct {
		Phone []string `json:"Phone"`
	}{make([]string, len(phones))}
	byDigits := make(map[string][]string, len(phones))
	for i, p := range phones {
		d := strings.TrimPrefix(p, "+")
		in.Phone[i] = "+" + d
		byDigits[d] = append(byDigits[d], p)
	}
	var out struct {
		Users []struct {
			Query        string `json:"Query"`
			IsInWhatsapp bool   `json:"IsInWhatsapp"`
			JID          string `json:"JID"`
			VerifiedName string `json:"VerifiedName"`
		} `json:"Users"`
	}
	if err := c.call(ctx, op, http.MethodPost, path, in, &out); err != nil {
		return nil, err
	}
	res := make(map[string]UserCheck, len(phones))
	for _, u := range out.Users {
		d := strings.TrimPrefix(u.Query, "+")
		for _, asked := range byDigits[d] {
			res[asked] = UserCheck{Query: d, IsInWhatsapp: u.IsInWhatsapp, JID: u.JID, VerifiedName: u.VerifiedName}
		}
	}
	return res, nil
}

// Chat presence states of ChatPresence.
const (
	Composing = "composing" // "typing…"
	Paused    = "paused"    // stopped typing
)

// ChatPresence shows the number as typing (Composing) or not (Paused) in
// the chat with phone (POST /chat/presence). A failure changes nothing
// for the message itself; WuzAPI words it "failure sending chat presence
// to Whatsapp servers" (Transient) or, with no session, NotReady.
func (c *Client) ChatPresence(ctx context.Context, phone, state string) error {
	in := struct {
		Phone string `json:"Phone"`
		State string `json:"State"`
		Media string `json:"Media"`
	}{strings.TrimPrefix(phone, "+"), state, ""}
	return c.call(ctx, "chat presence", http.MethodPost, "/chat/presence", in, nil)
}
