#!/usr/bin/env bash
# Configures and builds one tree: scripts/build.sh [normal|sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-normal}
jobs=$(nproc 2>/dev/null || echo 2)
case "$kind" in
normal)
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j"$jobs"
    ;;
sanitize)
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSFC_SANITIZE=ON >/dev/null
    cmake --build build-asan -j"$jobs"
    ;;
*)
    echo "usage: $0 [normal|sanitize]" >&2
    exit 2
    ;;
esac
