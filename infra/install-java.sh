#!/usr/bin/env bash
# Installs a JDK and Maven from Debian's packages when the machine has none (the Kafka broker runs on Java 17+).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null
