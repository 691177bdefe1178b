// Package notifynl owns Koerier's side of Notify NL (a fork of GOV.UK Notify,
// API v2): the API key and its per-request JWT, a thin typed client for
// sending email and SMS and looking notifications up by reference, the
// email and SMS channels built on that client, and the handler for Notify's
// delivery-status callbacks.
//
// It classifies Notify's answers once, here at the boundary: 429, 5xx and
// timeouts are failure.Temporary (with Notify's Retry-After); a 400 about the
// recipient, or no address at all, is failure.Permanent; an authentication
// failure or a 400 about the template or sender is failure.Config, which no
// retry and no other channel will fix.
//
// It must not know about the router, the bus or the rules.
package notifynl
