package zgw

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// How the enrich stage must treat an error from Enrich:
//
//   - *RetryLater: re-publish the inbound message with a delay of After and
//     Attempt+1, and ack the original (the rol race,
//     or a taak another replica is handling). The Enricher already
//     decided from in.Attempt that another try is worthwhile.
//   - *DeadLetter and *ConfigError: dead-letter at once with Reason; a retry
//     cannot help (the rol never came, or Koerier's credentials are wrong).
//   - IsTemporary(err): the peer is down or slow (5xx, 429, timeout,
//     connection refused); retry with backoff, then dead-letter.
//   - anything else: a bug or a malformed peer answer; retry briefly, then
//     dead-letter.
//
// A notification Koerier deliberately ignores (404 on the resource, a URL
// off the allow-list, informeren false) is not an error: Result.Skipped
// says why.

// RetryLater asks the caller to try the same inbound message again after a
// delay, without holding a worker.
type RetryLater struct {
	After  time.Duration
	Reason string
}

func (e *RetryLater) Error() string {
	return fmt.Sprintf("zgw: retry in %s: %s", e.After, e.Reason)
}

// DeadLetter says the message cannot be processed, ever; Reason is a short
// machine-readable key such as ReasonRolOntbreekt.
type DeadLetter struct {
	Reason string
	Detail string
}

func (e *DeadLetter) Error() string {
	if e.Detail == "" {
		return "zgw: " + e.Reason
	}
	return "zgw: " + e.Reason + ": " + e.Detail
}

// ConfigError is a 401 or 403 from a ZGW API: Koerier's client id, secret
// or autorisaties are wrong. It names the API root and client id, never the
// secret.
type ConfigError struct {
	APIRoot  string
	ClientID string
	Status   int
}

func (e *ConfigError) Error() string {
	if e.ClientID == "" {
		return fmt.Sprintf("zgw: %s answered %d: check the api token configured for this api root", e.APIRoot, e.Status)
	}
	return fmt.Sprintf("zgw: %s answered %d for client id %q: check the client id, secret and autorisaties configured for this api root", e.APIRoot, e.Status, e.ClientID)
}

// StatusError is an unexpected HTTP status from a peer.
type StatusError struct {
	Method string
	URL    string
	Status int
	Body   string // first bytes, for the operator
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("zgw: %s %s: %d %s", e.Method, e.URL, e.Status, e.Body)
}

// NotFound reports whether err is a 404 (or 410) from a peer.
func NotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && (se.Status == 404 || se.Status == 410)
}

type temporary struct{ err error }

func (t temporary) Error() string { return t.err.Error() }
func (t temporary) Unwrap() error { return t.err }

// IsTemporary reports whether err is worth retrying later: a 5xx or 429
// from a peer, a timeout or a connection failure.
func IsTemporary(err error) bool {
	if err == nil {
		return false
	}
	var t temporary
	if errors.As(err, &t) {
		return true
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status >= 500 || se.Status == 429 || se.Status == 408
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// Skip reasons in Result.Skipped and dead-letter reasons.
const (
	ReasonInformerenUit          = "statustype-informeren-uit"
	ReasonNietGevonden           = "resource-niet-gevonden"
	ReasonURLNietToegestaan      = "url-niet-toegestaan"
	ReasonRolOntbreekt           = "initiator-rol-ontbreekt"
	ReasonRolZonderIdentificatie = "rol-zonder-identificatie"
	ReasonNietOndersteund        = "notificatie-niet-ondersteund"
	ReasonKanaalTest             = "kanaal-test"
	// zaak_afsluiten: only the eindstatus makes zaak.afgesloten.
	ReasonAfsluitenViaEindstatus = "zaak-afgesloten-via-eindstatus"
	// A zaak create arrives before its rollen exist; its first status is
	// the trigger for zaak.aangemaakt.
	ReasonZaakWijziging        = "zaak-wijziging-zonder-event"
	ReasonZaakViaEersteStatus  = "zaak-aangemaakt-via-eerste-status"
	ReasonBesluitAndereTrigger = "besluit-andere-trigger"
	ReasonBesluitZonderZaak    = "besluit-zonder-zaak"
	ReasonDocumentenUit        = "document-toegevoegd-uit"
	ReasonGeenTaakObjecttype   = "objecttype-geen-taak"
	// Another replica is handling a notification for the same taak.
	ReasonTaakBezet                  = "taak-wordt-verwerkt"
	ReasonTaakOnleesbaar             = "taak-onleesbaar"
	ReasonTaakNietOpen               = "taak-niet-open"
	ReasonTaakOngewijzigd            = "taak-ongewijzigd"
	ReasonTaakZonderIdentificatie    = "taak-zonder-identificatie"
	ReasonHerinneringVervallen       = "herinnering-vervallen"
	ReasonSubjectZonderIdentificatie = "subject-zonder-identificatie"
)
