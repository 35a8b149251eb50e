#!/usr/bin/env bash
# Installs the Docker Compose v2 CLI plugin when the docker client has none, built from source with
# the Go module proxy (`make lint` runs `docker compose config`; no Docker engine is needed for it).
set -euo pipefail
version="${COMPOSE_VERSION:-v2.40.3}"
plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
if docker compose version >/dev/null 2>&1; then exit 0; fi
command -v go >/dev/null || { echo "install-compose: Go is needed to build docker compose" >&2; exit 1; }
dir="$(GOFLAGS=-mod=mod go mod download -json "github.com/docker/compose/v2@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
work="$(mktemp -d)"
cp -r "$dir/." "$work/"
chmod -R u+w "$work"
(cd "$work" && CGO_ENABLED=0 go build -trimpath -ldflags "-X github.com/docker/compose/v2/internal.Version=$version" -o docker-compose ./cmd)
mkdir -p "$plugin_dir"
mv "$work/docker-compose" "$plugin_dir/docker-compose"
rm -rf "$work"
docker compose version
