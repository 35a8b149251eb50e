#!/usr/bin/env bash
# Runs PostgreSQL from Debian's packages on 127.0.0.1:$POSTGRES_PORT (default 5432).
#   postgres.sh install   apt-get install postgresql when no server is on the machine
#   postgres.sh start     create the cluster if needed, start it, create the admin role
#   postgres.sh stop      stop the cluster
#   postgres.sh status    exit 0 when the server accepts connections
# The admin role ($OBS_DB_ADMIN_USER, CREATEDB CREATEROLE) is what `python -m shared.admin init` uses
# to create the database, the per-service roles and schemas (see shared/db/bootstrap.py).
set -euo pipefail
port="${POSTGRES_PORT:-5432}"
admin_user="${OBS_DB_ADMIN_USER:-observatoire_admin}"
admin_password="${OBS_DB_ADMIN_PASSWORD:-observatoire_admin}"

server_version() { ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1; }
as_postgres() { runuser -u postgres -- "$@"; }

install() {
  if [ -n "$(server_version)" ] && [ -x "/usr/lib/postgresql/$(server_version)/bin/postgres" ]; then return 0; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
}

# The Observatoire's settings (observatoire.conf beside this script; why: see there).
configure() {
  local file="/etc/postgresql/$1/$2/conf.d/observatoire.conf"
  mkdir -p "$(dirname "$file")"
  cp "$(dirname "$0")/observatoire.conf" "$file"
  chmod 644 "$file"
}

cluster() { pg_lsclusters --no-header | awk -v v="$1" '$1 == v {print $2; exit}'; }

start() {
  install
  version="$(server_version)"
  name="$(cluster "$version")"
  if [ -z "$name" ]; then
    name=main
    pg_createcluster --port "$port" "$version" "$name" >/dev/null
  fi
  configure "$version" "$name"
  if ! pg_lsclusters --no-header | awk -v v="$version" -v n="$name" '$1 == v && $2 == n' | grep -q online; then
    pg_ctlcluster "$version" "$name" start
  else
    pg_ctlcluster "$version" "$name" reload
  fi
  for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 0.5
  done
  pg_isready -q -h 127.0.0.1 -p "$port" || { echo "postgres: not answering on 127.0.0.1:$port" >&2; exit 1; }
  as_postgres psql -q -p "$port" -v ON_ERROR_STOP=1 -v user="$admin_user" -v password="$admin_password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB CREATEROLE PASSWORD %L', :'user', :'password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \gexec
-- Dropping a test database WITH (FORCE) ends the sessions of every service role.
SELECT format('GRANT pg_signal_backend TO %I', :'user') \gexec
SQL
  echo "postgres: ready on 127.0.0.1:$port (cluster $version/$name)"
}

stop() {
  version="$(server_version)"
  [ -n "$version" ] || { echo "postgres: not installed"; return 0; }
  name="$(cluster "$version")"
  [ -n "$name" ] && pg_ctlcluster "$version" "$name" stop 2>/dev/null || true
  echo "postgres: stopped"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) pg_isready -q -h 127.0.0.1 -p "$port" ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
