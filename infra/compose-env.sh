#!/bin/sh
# Writes .env beside docker-compose.yml (or FILE) with a random secret for every password compose
# requires, once: an existing file is left as it is (the database keeps the passwords it was
# created with). `make lint` checks the compose file with one written to var/.
set -eu
cd "$(dirname "$0")/.."
target="${1:-.env}"
if [ -e "$target" ]; then
    echo "$target exists: left as it is"
    exit 0
fi
mkdir -p "$(dirname "$target")"
secret() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
umask 077
cat > "$target" <<ENV
OBS_DB_ADMIN_PASSWORD=$(secret)
OBS_DB_PASSWORD_HARVESTER=$(secret)
OBS_DB_PASSWORD_CONSOLIDATOR=$(secret)
OBS_DB_PASSWORD_INDICATORS=$(secret)
OBS_DB_PASSWORD_CONTRIBUTIONS=$(secret)
OBS_DB_PASSWORD_API=$(secret)
OBS_GRAFANA_ADMIN_PASSWORD=$(secret)
ENV
echo "wrote $target (mode 600): Grafana's admin password is OBS_GRAFANA_ADMIN_PASSWORD there"
