# One image with both binaries: /usr/local/bin/worker (the default command)
# and /usr/local/bin/starter, plus /usr/local/bin/healthcheck for container
# health checks.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t metronome .
#   docker run --rm metronome /usr/local/bin/starter --help
#
# cgo is required: DuckDB (github.com/duckdb/duckdb-go/v2) links a prebuilt
# C++ library, so the binaries need glibc, libstdc++ and libgcc at run time:
# hence distroless/cc (glibc) rather than distroless/static.

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=1 GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# VERSION becomes activities.Version, the code version in every manifest.
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    ldflags="-s -w -X github.com/metronome-data/metronome/activities.Version=${VERSION}" && \
    go build -ldflags "$ldflags" -o /out/worker ./worker && \
    go build -ldflags "$ldflags" -o /out/starter ./starter && \
    CGO_ENABLED=0 go build -ldflags "-s -w" -o /out/healthcheck ./deploy/healthcheck

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/worker /out/starter /out/healthcheck /usr/local/bin/
# nonroot (65532) owns its home: the working directory, so the default
# data_dir ("data") is writable.
WORKDIR /home/nonroot
USER nonroot:nonroot
# The worker's /metrics, /healthz and /readyz (with
# METRONOME_WORKER_METRICS_ADDR=0.0.0.0:9090).
EXPOSE 9090
CMD ["/usr/local/bin/worker"]
