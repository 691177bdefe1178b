// Package notifynl owns Koerier's side of Notify NL (a fork of GOV.UK Notify,
// API v2): the API key and its per-request JWT, a thin typed client for
// sending email and SMS and looking notifications up by reference, the
// email and SMS channels built on that client, and the handler for Notify's
// delivery-status callbacks.
//
// It classifies Notify's answers once, here at the boundary: 429, 5xx and
// timeouts are channels.Temporary; a 400 about the recipient is
// channels.Permanent; an authentication failure or a 400 about the template
// or sender is a *ConfigError, which no retry and no other channel will fix.
//
// It must not know about the router, the bus or the rules.
package notifynl
