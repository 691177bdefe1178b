// Package zgw owns Koerier's side of the ZGW landscape: typed clients for
// the Zaken, Catalogi, Besluiten, Documenten and Objecten APIs (ZGW JWT or
// Objecten token, an allow-list of API roots against SSRF, Accept-Crs), and
// the Enricher, which turns an inbound notification into typed events with
// their subjects, or into a recorded skip.
//
// It must not know about the bus, the rules or the channels: the router
// calls Enricher.Enrich and acts on the Result or the error class (see
// errors.go).
package zgw
