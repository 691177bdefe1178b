module github.com/ThreeDotsLabs/watermill-amqp/v2

go 1.21

require (
	github.com/ThreeDotsLabs/watermill v1.3.7
	github.com/cenkalti/backoff/v3 v3.2.2
	github.com/hashicorp/go-multierror v1.1.1
	github.com/pkg/errors v0.9.1
	github.com/rabbitmq/amqp091-go v1.10.0
)
