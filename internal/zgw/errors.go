package zgw

import (
	"errors"
	"fmt"
	"net/http"
)

// Enrich classifies its errors with the failure package, once, here:
//
//   - failure.Later with a Reason (ReasonRolOntbreekt, ReasonTaakBezet): the
//     Enricher expected this and decided from in.Attempt that another try
//     after the delay is worthwhile (the rol race, or a taak another replica
//     is handling). The router's re-queue middleware re-publishes the
//     inbound message with that delay and its attempt counter plus one (in
//     in.Attempt on the next try), and acks the original.
//   - failure.DeadLetter (the rol never came) and failure.Config (a 401 or
//     403: Koerier's credentials or autorisaties are wrong, an *AuthError):
//     dead-letter at once; a retry cannot help.
//   - failure.Temporary: the peer is down or slow (5xx, 429, 408, timeout,
//     connection refused) or our store failed; retry with backoff, then
//     dead-letter.
//   - anything else: a bug or a malformed peer answer; dead-letter.
//
// A notification Koerier deliberately ignores (404 on the resource, a URL
// off the allow-list, informeren false) is not an error: Result.Skipped
// says why.

// AuthError is a 401 or 403 from a ZGW API: Koerier's client id, secret
// or autorisaties are wrong. It names the API root and client id, never the
// secret. Client.Get returns it classified as failure.Config.
type AuthError struct {
	APIRoot  string
	ClientID string
	Status   int
}

func (e *AuthError) Error() string {
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

// temporaryStatus reports whether a peer's status is worth retrying later.
func temporaryStatus(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
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
