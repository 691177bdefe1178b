# syntax=docker/dockerfile:1
#
# Koerier: one static Go binary. The embedded default (SQLite bus and store
# under /data) runs from this image as is; the scaled setup points it at
# RabbitMQ and Redis through KOERIER_* variables (see deploy/README.md).

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so a source change does not re-download them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# modernc.org/sqlite is pure Go: no cgo, so the binary runs on any base.
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" \
    -o /out/koerier ./cmd/koerier

# Alpine rather than distroless: busybox wget lets Docker and Compose run the
# HEALTHCHECK below without a health command in the binary.
FROM alpine:3.22
RUN apk add --no-cache ca-certificates tzdata \
 && addgroup -S -g 10001 koerier \
 && adduser -S -D -H -u 10001 -G koerier -s /sbin/nologin koerier \
 && mkdir -p /data /etc/koerier \
 && chown koerier:koerier /data
COPY --from=build /out/koerier /usr/local/bin/koerier
# The examples document every key; koerier.yaml is the example itself, so the
# image starts on the embedded default. Mount your own over it.
COPY config/koerier.example.yaml config/rules.example.yaml config/rules.example.cases.yaml /etc/koerier/
COPY config/letters /etc/koerier/letters
COPY config/koerier.example.yaml /etc/koerier/koerier.yaml
COPY deploy/koerier.scaled.yaml /etc/koerier/koerier.scaled.yaml

# The example config reads these; listening on 127.0.0.1 would be unreachable
# from outside the container.
ENV KOERIER_LISTEN=0.0.0.0:8080 \
    KOERIER_DATA_DIR=/data \
    KOERIER_RULES=/etc/koerier/rules.example.yaml \
    TZ=Europe/Amsterdam

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080
# /healthz needs no token and says only that the process serves HTTP;
# orchestrators should gate traffic on /readyz (bus and store reachable).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD wget -q -O /dev/null http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["koerier"]
CMD ["serve", "--config", "/etc/koerier/koerier.yaml"]
