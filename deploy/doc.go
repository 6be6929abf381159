// Package deploy holds the files that run metronome as containers, and the
// tests that keep them honest: docker-compose.yml (at the repository root)
// with the Dockerfile, deploy/prometheus (scrape configuration),
// deploy/grafana (provisioning and the metronome dashboard),
// deploy/temporal (the server's dynamic config) and deploy/healthcheck (the
// image's health-check command). The package has no code of its own; its
// tests parse these files without Docker.
package deploy
