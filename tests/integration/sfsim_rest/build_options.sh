#!/usr/bin/env bash
# sfsim is a program users run (scripts/demo.sh, `cmake --install`), so it is
# configured, built and installed without the test suite; -DSFC_BUILD_SFSIM=OFF
# leaves it out. Configures this source tree into scratch build directories
# and looks for the sfsim target and its install rule.
set -euo pipefail
src="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

has_target() { # dir
    find "$1" -type d -name 'sfsim.dir' | grep -q .
}
installs_sfsim() { # dir
    find "$1" -name cmake_install.cmake -exec grep -l '/sfsim"' {} + | grep -q .
}

cmake -S "$src" -B "$work/no-tests" -DSFC_BUILD_TESTS=OFF >"$work/log1" 2>&1 ||
    { cat "$work/log1"; echo "configure with SFC_BUILD_TESTS=OFF failed"; exit 1; }
has_target "$work/no-tests" ||
    { echo "FAIL: no sfsim target with -DSFC_BUILD_TESTS=OFF"; exit 1; }
installs_sfsim "$work/no-tests" ||
    { echo "FAIL: cmake --install would not install sfsim"; exit 1; }

cmake -S "$src" -B "$work/no-sfsim" -DSFC_BUILD_TESTS=OFF -DSFC_BUILD_SFSIM=OFF \
    >"$work/log2" 2>&1 ||
    { cat "$work/log2"; echo "configure with SFC_BUILD_SFSIM=OFF failed"; exit 1; }
if has_target "$work/no-sfsim"; then
    echo "FAIL: -DSFC_BUILD_SFSIM=OFF still builds sfsim"; exit 1
fi
echo "1 passed, 0 failed"
