#!/usr/bin/env bash
# The embedded default: installs what is needed, builds, starts a local
# RabbitMQ and runs the connector on etc/demo.conf.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh normal
./scripts/rabbitmq.sh
exec ./build/bin/sfconnector check-config etc/demo.conf
