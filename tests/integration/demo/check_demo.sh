#!/usr/bin/env bash
# Runs scripts/demo.sh for 8 seconds and checks that events arrived.
set -uo pipefail
# The test's broker when one is named (a developer's own node).
if [ -n "${SFC_TEST_AMQP_URI:-}" ]; then export AMQP_URI=$SFC_TEST_AMQP_URI; fi
out=$(DEMO_SECONDS=8 "$1/scripts/demo.sh" 2>&1)
echo "$out" | tail -5
n=$(echo "$out" | sed -n 's/^\([0-9]*\) events received$/\1/p')
if [ -z "$n" ] || [ "$n" -lt 3 ]; then
    echo "FAILED: the demo delivered ${n:-no} events"
    exit 1
fi
echo "demo delivered $n events"
