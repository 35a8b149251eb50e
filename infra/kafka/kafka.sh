#!/usr/bin/env bash
# Runs a single-node Apache Kafka broker (KRaft) from the jars of infra/kafka/pom.xml.
#   kafka.sh install   resolve the jars into infra/kafka/lib (Maven Central, cached in ~/.m2)
#   kafka.sh start     format the storage once, start the broker, wait until it answers
#   kafka.sh stop      stop the broker started by this script
#   kafka.sh status    exit 0 when the broker answers
# State lives in $OBS_VAR_DIR/kafka (default var/kafka): data/, broker.log, kafka.pid.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
var="${OBS_VAR_DIR:-$root/var}/kafka"
port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-9093}"
lib="$here/lib"
pidfile="$var/kafka.pid"
log="$var/broker.log"
java_opts=(-Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$here/log4j2.properties" "-Dkafka.logs.dir=$var/logs")

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

install() {
  if [ -f "$lib/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { echo "kafka.sh: Maven (mvn) is required" >&2; exit 1; }
  rm -rf "$lib"
  (cd "$here" && mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
      -DoutputDirectory=lib -DincludeScope=runtime)
  touch "$lib/.complete"
}

start() {
  install
  if running && answers; then echo "kafka: already running on 127.0.0.1:$port"; return 0; fi
  if answers; then echo "kafka: a broker not started by this script already answers on 127.0.0.1:$port; using it"; return 0; fi
  mkdir -p "$var/data" "$var/logs"
  sed -e "s#@KAFKA_PORT@#$port#g" -e "s#@CONTROLLER_PORT@#$controller_port#g" -e "s#@DATA_DIR@#$var/data#g" \
    "$here/server.properties.template" > "$var/server.properties"
  if [ ! -f "$var/data/meta.properties" ]; then
    cluster_id="$(java -cp "$lib/*" kafka.tools.StorageTool random-uuid)"
    java "${java_opts[@]}" -cp "$lib/*" kafka.tools.StorageTool format --standalone \
      -t "$cluster_id" -c "$var/server.properties" --ignore-formatted >>"$log" 2>&1
  fi
  nohup java "${java_opts[@]}" -cp "$lib/*" kafka.Kafka "$var/server.properties" >>"$log" 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 1 120); do
    if ! running; then echo "kafka: broker exited; last lines of $log:" >&2; tail -n 30 "$log" >&2; exit 1; fi
    if answers; then echo "kafka: ready on 127.0.0.1:$port (log: $log)"; return 0; fi
    sleep 0.5
  done
  echo "kafka: not answering after 60 s; see $log" >&2; exit 1
}

stop() {
  if ! running; then rm -f "$pidfile"; echo "kafka: not running"; return 0; fi
  pid="$(cat "$pidfile")"
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  echo "kafka: stopped"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) answers ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
