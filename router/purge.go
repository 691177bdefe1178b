package router

import (
	"context"
	"fmt"
	"time"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/zgw"
)

// DefaultPurgeGrace is how long after a zaak destroy notification the
// zaak's records are purged when Options.PurgeGrace is not set: at once.
// config.Default() holds the same value.
const DefaultPurgeGrace time.Duration = 0

// ZaakPurgeFunc deletes every record Koerier holds about the zaak at
// zaakURL (see app.PurgeZaak).
type ZaakPurgeFunc func(ctx context.Context, zaakURL string) error

// IsZaakDestroy reports whether n says that a zaak was destroyed (Open
// Archiefbeheer or Open Zaak at the end of its retention period).
func IsZaakDestroy(n *event.Notification) bool {
	return n != nil && n.Kanaal == "zaken" && n.Resource == "zaak" && n.Actie == "destroy"
}

// GroupKey is the cache key of the group window of recipientRef (a
// SubjectRef) and zaakURL, so that a purge can find it.
func GroupKey(recipientRef, zaakURL string) string { return groupKey(recipientRef, zaakURL) }

// purgeDestroyed handles a zaak destroy notification: once the grace period
// after its aanmaakdatum has passed, it purges the zaak; before that, it
// puts the notification back on the bus, due when the grace period ends,
// so no worker waits. It records nothing about the zaak: the purge leaves
// the one line that says it happened.
func (r *Router) purgeDestroyed(ctx context.Context, in event.Inbound) (Result, error) {
	n := in.Notification
	due := n.Aanmaakdatum.Add(r.o.PurgeGrace)
	if r.o.PurgeGrace > 0 && due.After(r.d.Now()) {
		// Back on the bus under a new id (the dedup middleware marks this
		// one done), due when the grace period ends.
		return Result{Status: "requeued", Outputs: []Output{{Topic: event.TopicInbound, ID: in.ID + ":purge", Value: in, Due: due}}}, nil
	}
	zaakURL := n.ResourceURL
	if zaakURL == "" {
		zaakURL = n.HoofdObject
	}
	if err := r.d.PurgeZaak(ctx, zaakURL); err != nil {
		return Result{}, temporary(fmt.Errorf("purge zaak: %w", err))
	}
	return Result{Status: "purged"}, nil
}

// inboundZaakRef is the ZaakRef of a notification on kanaal zaken (its
// hoofdObject is the zaak), for every ledger line enrich writes about it.
func (r *Router) inboundZaakRef(in event.Inbound) string {
	if n := in.Notification; n != nil && n.Kanaal == "zaken" {
		return store.ZaakRef(r.o.SubjectKey, n.HoofdObject)
	}
	return ""
}

// eventZaak records which zaak ev is about on rec, and ties a taak's state
// to its zaak so that purging the zaak deletes it.
func (r *Router) eventZaak(ctx context.Context, ev event.Event, rec *store.Record) error {
	zaakURL := ""
	switch {
	case ev.Zaak != nil && ev.Zaak.URL != "":
		zaakURL = ev.Zaak.URL
	case ev.Taak != nil:
		zaakURL = ev.Taak.ZaakURL
	}
	if zaakURL == "" {
		return nil
	}
	rec.ZaakRef = store.ZaakRef(r.o.SubjectKey, zaakURL)
	if ev.Taak != nil && ev.Taak.URL != "" {
		if err := store.LinkZaak(ctx, r.d.Store, rec.ZaakRef, zgw.TaakStateKey(ev.Taak.URL)); err != nil {
			return temporary(fmt.Errorf("link taak state to its zaak: %w", err))
		}
	}
	return nil
}
