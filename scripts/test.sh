#!/usr/bin/env bash
# The whole test suite: installs what is needed, starts RabbitMQ, builds the
# normal, the AddressSanitizer and the ThreadSanitizer trees, and runs ctest in
# each: everything in the normal tree (benchmarks only there: sanitizers
# distort their figures), all but benchmarks in the ASan tree, and the
# integration tests of the threaded paths (connector, RPC, streaming, api) in
# the TSan tree, where any race report fails the run. Exits non-zero when any
# test fails.
#
# SFC_TEST_STRESS=1 runs two CPU-burning stress-ng workers beside the suite
# for its whole length: the tests must hold on a busy machine.
set -uo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh || exit 1
./scripts/rabbitmq.sh || exit 1
./scripts/build.sh normal || exit 1
./scripts/build.sh sanitize || exit 1
./scripts/build.sh thread || exit 1

stress_pid=
stop_stress() {
    if [ -n "$stress_pid" ]; then
        kill "$stress_pid" 2>/dev/null
        wait "$stress_pid" 2>/dev/null
        stress_pid=
    fi
}
trap stop_stress EXIT
if [ "${SFC_TEST_STRESS:-0}" = 1 ]; then
    echo "== stress: two stress-ng CPU workers run beside the suite"
    stress-ng --cpu 2 --cpu-method all --quiet &
    stress_pid=$!
fi

# The benchmarks in their short form: a check for gross regressions within
# the suite's time; the figures to quote come from full runs (docs/benchmarks.md).
export SFC_BENCH_SHORT=${SFC_BENCH_SHORT:-1}
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

echo "== ctest: ThreadSanitizer build (integration tests of the threaded paths)"
# Every process (test programs, the daemons they start, sfsim) writes its
# reports to tsan_dir, whatever becomes of its stderr: any report fails the
# run.
tsan_dir=$(mktemp -d)
(cd build-tsan &&
 TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 log_path=$tsan_dir/report" \
 ctest --output-on-failure -j1 -L integration -LE 'bench|demo|package' \
     -R '^integration_(connector|rpc|streaming|api|doctor|observability)') 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
reports=$(grep -l "WARNING: ThreadSanitizer" "$tsan_dir"/report* 2>/dev/null)
if [ -n "$reports" ]; then
    echo "ThreadSanitizer reports:"
    cat $reports
    echo "ctest: ThreadSanitizer found $(echo "$reports" | wc -l) processes with races"
    status=1
fi
rm -rf "$tsan_dir"
stop_stress

# One closing line over all runs.
total=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1 \2/p' "$log" |
        awk '{f += $1; t += $2} END {printf "%d passed, %d failed", t - f, f}')
rm -f "$log"
[ $status -eq 0 ] || case "$total" in *", 0 failed") total="${total%, 0 failed}, 1 failed";; esac
echo "ctest: $total"
exit $status
