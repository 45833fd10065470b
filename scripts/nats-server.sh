#!/usr/bin/env bash
# Installs NATS server from Debian's packages when it is missing, then prints the path of the
# nats-server binary on stdout (progress and errors go to stderr). bench/peers/nats-process.ts runs
#   "$(scripts/nats-server.sh)" -c <config>
# for the performance race. Debian bookworm ships nats-server 2.9.x, which has no `sync_interval`
# setting (it came with 2.10): JetStream there cannot be told to fsync every write, so the race runs
# NATS in its default durability only and says so.
#
# Environment:
#   NATS_SERVER_BIN  use this binary instead (nothing is installed)
set -euo pipefail

if [ -n "${NATS_SERVER_BIN:-}" ]; then
  printf '%s\n' "$NATS_SERVER_BIN"
  exit 0
fi
if ! command -v nats-server >/dev/null 2>&1; then
  if [ "$(id -u)" != "0" ]; then
    echo "nats-server.sh: nats-server is not installed and this is not root (sudo apt-get install -y nats-server)" >&2
    exit 2
  fi
  echo "nats-server.sh: installing nats-server from Debian's packages" >&2
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y nats-server >&2
fi
# The Debian package also installs a systemd unit; the race starts its own server on a free loopback
# port with its own store directory, so a system service (where systemd runs) is left alone.
command -v nats-server
