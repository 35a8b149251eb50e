#!/usr/bin/env bash
# Starts and stops the five services (and, for the demo, the simulated portals) as background
# processes of this machine. Logs in var/log/<name>.log, pids in var/run/<name>.pid.
#   services.sh start [simulator]   start what is not running, wait until every service is ready
#   services.sh stop                stop everything this script started
#   services.sh status              print each service's readiness
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
py="$root/.venv/bin/python"
services=(harvester consolidator indicators api contributions)
declare -A ports=([api]="${OBS_API_PORT:-8000}" [harvester]="${OBS_HARVESTER_PORT:-8001}"
  [consolidator]="${OBS_CONSOLIDATOR_PORT:-8002}" [indicators]="${OBS_INDICATORS_PORT:-8003}"
  [contributions]="${OBS_CONTRIBUTIONS_PORT:-8004}" [simulator]="${OBS_SIMULATOR_PORT:-8090}")
mkdir -p var/log var/run

running() { [ -f "var/run/$1.pid" ] && kill -0 "$(cat "var/run/$1.pid")" 2>/dev/null; }

launch() {  # name module
  if running "$1"; then return 0; fi
  nohup "$py" -m "$2" >>"var/log/$1.log" 2>&1 &
  echo $! >"var/run/$1.pid"
}

wait_ready() {  # name path
  for _ in $(seq 1 360); do
    if ! running "$1"; then echo "$1 exited; last lines of var/log/$1.log:" >&2; tail -n 20 "var/log/$1.log" >&2; exit 1; fi
    if curl -fs "http://127.0.0.1:${ports[$1]}$2" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "$1 not ready after 180 s; see var/log/$1.log" >&2
  exit 1
}

start() {
  for s in "${services[@]}"; do launch "$s" "services.$s"; done
  if [ "${1:-}" = simulator ]; then launch simulator simulated_portals; wait_ready simulator /udata/datagouv/api/1/datasets/; fi
  for s in "${services[@]}"; do wait_ready "$s" /readyz; done
  echo "Observatoire ready: http://127.0.0.1:${ports[api]}/ (logs in var/log/)"
}

stop() {
  for name in simulator "${services[@]}"; do
    if running "$name"; then
      pid="$(cat "var/run/$name.pid")"
      kill "$pid"
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
      echo "$name: stopped"
    fi
    rm -f "var/run/$name.pid"
  done
}

status() {
  for s in "${services[@]}"; do
    printf '%-14s %s\n' "$s" "$(curl -s "http://127.0.0.1:${ports[$s]}/readyz" || echo 'not running')"
  done
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start [simulator]|stop|status" >&2; exit 2 ;;
esac
