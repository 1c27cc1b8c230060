#!/usr/bin/env bash
# The whole test suite: installs what is needed, starts RabbitMQ, builds the
# normal and the sanitizer trees, and runs ctest in both. Benchmarks run in the
# normal tree only (sanitizers distort their figures). Exits non-zero when any
# test fails.
set -uo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh || exit 1
./scripts/rabbitmq.sh || exit 1
./scripts/build.sh normal || exit 1
./scripts/build.sh sanitize || exit 1

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
log=$(mktemp)
echo "== ctest: normal build (unit, integration, fuzz corpora, benchmarks)"
(cd build && ctest --output-on-failure -j1) 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "== ctest: AddressSanitizer + UndefinedBehaviorSanitizer build"
(cd build-asan && ctest --output-on-failure -j1 -LE 'bench|demo') 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# One closing line over both runs.
total=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1 \2/p' "$log" |
        awk '{f += $1; t += $2} END {printf "%d passed, %d failed", t - f, f}')
rm -f "$log"
[ $status -eq 0 ] || case "$total" in *", 0 failed") total="${total%, 0 failed}, 1 failed";; esac
echo "ctest: $total"
exit $status
