package bus

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Peeked is a message seen without consuming it.
type Peeked struct {
	Msg *message.Message
	// PublishedAt is when the message was put on the topic; zero when the
	// backend does not know (RabbitMQ).
	PublishedAt time.Time
}

// Peek returns up to max of the oldest messages waiting on topic without
// taking them off the bus, for an operator listing the dead-letter queue.
// It opens its own connection, so it works beside a running Koerier.
//
// On SQLite it only reads the table: nothing changes. On RabbitMQ it gets
// messages unacknowledged and then closes its channel, which hands them back
// to the queue: they stay, but their x-delivery-count goes up by one and
// they may come back in a different order. Messages that a consumer holds at
// that moment are not seen.
func Peek(ctx context.Context, o Options, topic string, max int) ([]Peeked, error) {
	o.setDefaults()
	if max <= 0 {
		return nil, nil
	}
	switch o.Backend {
	case BackendSQLite:
		return peekSQLite(ctx, o.SQLitePath, topic, max)
	case BackendAMQP:
		return peekAMQP(ctx, o.AMQPURL, topic, max)
	}
	return nil, fmt.Errorf("bus: peek: unknown backend %q", o.Backend)
}

func peekSQLite(ctx context.Context, path, topic string, max int) ([]Peeked, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("bus: sqlite: peek at %s: %w", topic, err)
	}
	q := url.Values{}
	q.Add("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("bus: sqlite: peek at %s: open %s: %w", topic, path, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx,
		`SELECT uuid, payload, metadata, published_at FROM messages WHERE topic = ? ORDER BY available_at, id LIMIT ?`, topic, max)
	if err != nil {
		return nil, fmt.Errorf("bus: sqlite: peek at %s: %w", topic, err)
	}
	defer rows.Close()
	var out []Peeked
	for rows.Next() {
		var (
			uuid, meta string
			payload    []byte
			published  int64
		)
		if err := rows.Scan(&uuid, &payload, &meta, &published); err != nil {
			return nil, fmt.Errorf("bus: sqlite: peek at %s: %w", topic, err)
		}
		m := message.NewMessage(uuid, payload)
		// A damaged metadata column still lists the message, without it.
		_ = json.Unmarshal([]byte(meta), &m.Metadata)
		if m.Metadata == nil {
			m.Metadata = message.Metadata{}
		}
		out = append(out, Peeked{Msg: m, PublishedAt: time.UnixMilli(published)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("bus: sqlite: peek at %s: %w", topic, err)
	}
	return out, nil
}

func peekAMQP(ctx context.Context, amqpURL, topic string, max int) ([]Peeked, error) {
	conn, err := amqp.DialConfig(amqpURL, amqp.Config{Dial: amqp.DefaultDial(30 * time.Second), Locale: "en_US",
		Properties: amqp.Table{"connection_name": "koerier-peek"}})
	if err != nil {
		return nil, fmt.Errorf("bus: amqp: peek at %s: connect: %w", topic, err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("bus: amqp: peek at %s: open channel: %w", topic, err)
	}
	// Closing the channel without acking returns every message it got.
	defer ch.Close()
	var out []Peeked
	for len(out) < max {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("bus: amqp: peek at %s: %w", topic, err)
		}
		d, ok, err := ch.Get(topic, false)
		if err != nil {
			var ae *amqp.Error
			if errors.As(err, &ae) && ae.Code == amqp.NotFound {
				return nil, fmt.Errorf("bus: amqp: peek at %s: the queue does not exist (has Koerier run with this broker?): %w", topic, err)
			}
			return nil, fmt.Errorf("bus: amqp: peek at %s: %w", topic, err)
		}
		if !ok {
			break
		}
		m, err := headerMarshaler{}.Unmarshal(d)
		if err != nil {
			return nil, fmt.Errorf("bus: amqp: peek at %s: %w", topic, err)
		}
		delete(m.Metadata, MetaDeliveryAttempt)
		out = append(out, Peeked{Msg: m, PublishedAt: d.Timestamp})
	}
	return out, nil
}
