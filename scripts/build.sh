#!/usr/bin/env bash
# Configures and builds one tree: scripts/build.sh [normal|sanitize|thread]
#   normal    build/       RelWithDebInfo: -O2 -g -DNDEBUG, what is shipped
#   sanitize  build-asan/  Debug with AddressSanitizer + UBSan
#   thread    build-tsan/  RelWithDebInfo with ThreadSanitizer
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
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSFC_SANITIZE=address >/dev/null
    cmake --build build-asan -j"$jobs"
    ;;
thread)
    cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSFC_SANITIZE=thread >/dev/null
    cmake --build build-tsan -j"$jobs"
    ;;
*)
    echo "usage: $0 [normal|sanitize|thread]" >&2
    exit 2
    ;;
esac
