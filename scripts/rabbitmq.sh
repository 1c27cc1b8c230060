#!/usr/bin/env bash
# Starts a local RabbitMQ unless one already answers, and waits until it is up.
#
# `rabbitmqctl await_startup` fails at once while the freshly started Erlang
# node has not yet registered with epmd, so it is retried until the node
# answers or the deadline passes.
set -euo pipefail
if rabbitmqctl -q status >/dev/null 2>&1; then
    exit 0
fi
echo "rabbitmq: starting a local broker" >&2
rabbitmq-server -detached
deadline=$((SECONDS + ${RABBITMQ_START_TIMEOUT:-180}))
until rabbitmqctl await_startup --timeout 60 >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "rabbitmq: the broker did not start; its log ends with:" >&2
        tail -n 40 /var/log/rabbitmq/*.log >&2 2>/dev/null || true
        exit 1
    fi
    sleep 1
done
echo "rabbitmq: up" >&2
