#!/usr/bin/env bash
# The embedded default, end to end: installs what is needed, builds, starts
# a local RabbitMQ, the bundled Salesforce simulator (sfsim --demo, which
# keeps creating and updating Contacts and Leads) and the connector on
# etc/demo.conf, then prints the events a Nameko consumer receives.
# Ctrl-C stops everything; DEMO_SECONDS=N stops after N seconds; AMQP_URI
# names another broker than the local one.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh normal >/dev/null
./scripts/rabbitmq.sh

work=$(mktemp -d /tmp/sfconnector-demo.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Port 8765 unless it is taken, then any free port.
port=${SFSIM_PORT:-8765}
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then port=0; fi
./build/bin/sfsim --demo --port "$port" --url-file "$work/url" \
    >"$work/sfsim.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
export SFSIM_URL
SFSIM_URL=$(cat "$work/url")
echo "sfsim (demo org) listening on $SFSIM_URL"

SFC_DEMO_DIR="$work" ./build/bin/sfconnector check-config etc/demo.conf >/dev/null
SFC_DEMO_DIR="$work" ./build/bin/sfconnector run -c etc/demo.conf \
    2>"$work/sfconnector.log" &
pids+=($!)
echo "sfconnector running (log: $work/sfconnector.log)"

/usr/bin/python3 tests/pylib/watch_events.py --seconds "${DEMO_SECONDS:-0}" \
    --amqp "${AMQP_URI:-amqp://guest:guest@127.0.0.1:5672//}"
