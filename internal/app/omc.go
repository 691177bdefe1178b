package app

import (
	"context"
	"net/http"
	"strings"

	"github.com/mijnservices/koerier/channels/notifynl"
	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpapi"
)

// mountOMC serves the OMC's (NotifyNL-OMC) endpoints when
// server.omc_compat is configured, so that a gemeente can point its
// existing Open Notificaties abonnement and Notify callback at Koerier
// unchanged (docs/migratie-omc.md).
func (a *App) mountOMC(o config.OMCCompat) {
	if !o.Enabled() {
		return
	}
	auth := httpapi.OMCAuth{Secret: o.JWTSecret, Issuer: o.JWTIssuer, Audience: o.JWTAudience, ClockSkew: o.ClockSkew}
	a.api.Mount("POST /Events/Listen", a.api.OMCListen(auth))
	a.api.Mount("POST /Notify/Confirm", httpapi.RequireOMCJWT(auth, omcNotifyConfirm(a.publishOutcome)))
}

// omcNotifyConfirm is Notify's delivery-status callback as the OMC received
// it: Notify sends the OMC JWT as its bearer token, which RequireOMCJWT has
// checked, so the receipt is handed to our own callback handler with that
// token as the expected one.
func omcNotifyConfirm(sink func(context.Context, event.Outcome) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimSpace(r.Header.Get("Authorization")[len("Bearer "):])
		notifynl.CallbackHandler(tok, sink).ServeHTTP(w, r)
	})
}
