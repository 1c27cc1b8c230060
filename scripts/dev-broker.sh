#!/usr/bin/env bash
# A private RabbitMQ node for one developer, so that tests which stop the
# broker or raise a memory alarm do not disturb anybody else's run:
#
#   eval "$(scripts/dev-broker.sh NAME PORT)"     # start (or reuse) the node
#   scripts/dev-broker.sh --stop NAME             # stop it
#
# Prints the exports that point rabbitmqctl (RABBITMQ_NODENAME) and the tests
# (SFC_TEST_AMQP_URI) at the node. Its files live in /tmp/sfc-broker-NAME.
set -euo pipefail

if [ "${1:-}" = "--stop" ]; then
    RABBITMQ_NODENAME="${2:?name}@localhost" rabbitmqctl -q stop >/dev/null 2>&1 || true
    exit 0
fi
name=${1:?usage: dev-broker.sh NAME PORT}
port=${2:?usage: dev-broker.sh NAME PORT}
dir=/tmp/sfc-broker-$name

export RABBITMQ_NODENAME="$name@localhost"
export RABBITMQ_NODE_PORT="$port"
export RABBITMQ_DIST_PORT=$((port + 20000))
export RABBITMQ_MNESIA_BASE="$dir/mnesia"
export RABBITMQ_LOG_BASE="$dir/log"
export RABBITMQ_PID_FILE="$dir/pid"
export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/plugins"
export RABBITMQ_FEATURE_FLAGS_FILE="$dir/feature_flags"
# Idle schedulers sleep instead of spinning: several nodes share 2 cores.
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="+sbwt none +sbwtdcpu none +sbwtdio none"

if ! rabbitmqctl -q status >/dev/null 2>&1; then
    mkdir -p "$dir/mnesia" "$dir/log"
    [ -f "$dir/plugins" ] || echo "[]." >"$dir/plugins"
    # Debian's wrapper runs the server as the rabbitmq user.
    chown -R rabbitmq:rabbitmq "$dir" 2>/dev/null || true
    rabbitmq-server -detached
    deadline=$((SECONDS + 120))
    until rabbitmqctl await_startup --timeout 60 >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "dev-broker: node $name did not start; see $dir/log" >&2
            exit 1
        fi
        sleep 1
    done
fi
echo "export RABBITMQ_NODENAME=$RABBITMQ_NODENAME"
echo "export SFC_TEST_AMQP_URI=amqp://guest:guest@127.0.0.1:$port//"
