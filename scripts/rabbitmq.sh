#!/usr/bin/env bash
# Starts a local RabbitMQ unless one already answers, and waits until it is up.
set -euo pipefail
if rabbitmqctl -q status >/dev/null 2>&1; then
    exit 0
fi
echo "rabbitmq: starting a local broker" >&2
rabbitmq-server -detached
rabbitmqctl await_startup --timeout 120 >/dev/null
echo "rabbitmq: up" >&2
