package berichtenbox

// This file turns Logius' answer to a batch into what happens to each
// delivery in it: one outcome per delivery (delivered, or permanent with
// the code as reason so the plan moves on), a resend of the same BerichtID,
// or a dead letter; and it corrects the subscription cache when Logius
// says the inwoner has no box after all.

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/mijnservices/koerier/internal/event"
)

// SubscriptionCorrector forgets a cached "subscribed" answer that Logius
// contradicted (NietActiefOfGeabonneerd), so the next message to this
// inwoner does not try the Berichtenbox again.
type SubscriptionCorrector interface {
	MarkNotSubscribed(ctx context.Context, bsn string)
}

// MarkNotSubscribed records bsn as not subscribed to the checker's
// berichttype for the cache lifetime.
func (c *Checker) MarkNotSubscribed(ctx context.Context, bsn string) {
	c.v.toCache(ctx, c.berichtType, bsn, event.No)
}

// Settlement is what one result means for one delivery.
type Settlement struct {
	Delivery event.Delivery
	Code     Code
	Judgement
	// Outcome is the outcome to publish on koerier.outcomes; nil when the
	// delivery is to be resent (VerdictTemporary) or dead-lettered.
	Outcome *event.Outcome
}

// Settler judges batch results.
type Settler struct {
	Corrector SubscriptionCorrector // may be nil
	Logger    *slog.Logger
	Metrics   *Metrics // may be nil
	Now       func() time.Time
}

// Settle judges r for the deliveries of its batch. A delivery of the batch
// that the response does not mention is left out: the batch's result
// timeout resends it.
func (s Settler) Settle(ctx context.Context, r Response, deliveries []event.Delivery) []Settlement {
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	byBericht := make(map[string]event.Delivery, len(deliveries))
	for _, d := range deliveries {
		byBericht[BerichtIDFor(d.ID)] = d
	}
	var out []Settlement
	for _, res := range r.Berichten {
		d, ok := byBericht[strings.ToLower(res.BerichtID)]
		if !ok {
			log.WarnContext(ctx, "berichtenbox: result for a bericht that is not in this batch", "batch", r.BatchID, "bericht", res.BerichtID, "code", res.Code)
			continue
		}
		j := Judge(res.Code)
		st := Settlement{Delivery: d, Code: res.Code, Judgement: j}
		s.Metrics.result(ctx, res.Code)
		if j.NotSubscribed && s.Corrector != nil && d.Recipient.Subject.BSN != "" {
			s.Corrector.MarkNotSubscribed(ctx, d.Recipient.Subject.BSN)
		}
		if j.OurConfig {
			// Not the inwoner's doing: every bericht will meet it until an
			// operator fixes berichttype, OIN, clock or XSD.
			log.ErrorContext(ctx, "berichtenbox: Logius refused a bericht because of our configuration; fix it, the plan falls back meanwhile",
				"code", res.Code, "batch", r.BatchID, "bericht", res.BerichtID, "bericht_type", res.BerichtType, "delivery", d.ID)
		}
		if status := j.Verdict.OutcomeStatus(); status != event.OutcomeTemporary && status != "" {
			o := event.Outcome{DeliveryID: d.ID, InboundID: d.InboundID, EventID: d.EventID, Channel: event.ChannelBerichtenbox,
				Status: status, ProviderID: r.BatchID + "/" + res.BerichtID, At: s.now()}
			if status == event.OutcomePermanent {
				dd := d
				o.Delivery, o.Reason = &dd, fmt.Sprintf("berichtenbox: %s (batch %s)", res.Code, r.BatchID)
			}
			st.Outcome = &o
		}
		out = append(out, st)
	}
	return out
}

func (s Settler) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

// Metrics are the Berichtenbox's own: batches sent and berichten per
// result code. (The age of the oldest unsealed bericht belongs to the
// batch store.)
type Metrics struct {
	batches metric.Int64Counter
	results metric.Int64Counter
}

// NewMetrics registers the metrics on meter.
func NewMetrics(meter metric.Meter) (*Metrics, error) {
	b, err := meter.Int64Counter("koerier_berichtenbox_batches_sent_total",
		metric.WithDescription("GLOBE batches handed to the ebMS adapter, resends included."))
	if err != nil {
		return nil, err
	}
	r, err := meter.Int64Counter("koerier_berichtenbox_berichten_total",
		metric.WithDescription("Berichtenbox berichten by Logius' VerwerkingsCode."))
	if err != nil {
		return nil, err
	}
	return &Metrics{batches: b, results: r}, nil
}

// BatchSent counts one batch handed over.
func (m *Metrics) BatchSent(ctx context.Context) {
	if m != nil {
		m.batches.Add(ctx, 1)
	}
}

// result counts one bericht's result; unknown codes are counted as
// "onbekend" so a misbehaving peer cannot grow the label set.
func (m *Metrics) result(ctx context.Context, c Code) {
	if m == nil {
		return
	}
	label := string(c)
	if Judge(c).Verdict == VerdictDeadLetter {
		label = "onbekend"
	}
	m.results.Add(ctx, 1, metric.WithAttributes(attribute.String("code", label)))
}
