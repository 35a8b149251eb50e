#!/usr/bin/env bash
# Debian's promtool (from the prometheus package, unpacked: no server installed or started) for
# checking infra/prometheus, and kcat for the subscription examples of docs/events.md.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=var/tools
if [ -x "$TOOLS/promtool" ] && command -v kcat >/dev/null; then exit 0; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if ! command -v kcat >/dev/null; then
  apt-get install -y -qq --no-install-recommends kcat >/dev/null
fi
if [ ! -x "$TOOLS/promtool" ]; then
  mkdir -p "$TOOLS/deb"
  (cd "$TOOLS/deb" && apt-get download -qq prometheus)
  dpkg-deb -x "$TOOLS"/deb/prometheus_*.deb "$TOOLS/prometheus"
  ln -sf "$PWD/$TOOLS/prometheus/usr/bin/promtool" "$TOOLS/promtool"
  rm -rf "$TOOLS/deb"
fi
"$TOOLS/promtool" --version | head -1
kcat -V | head -1
