#!/usr/bin/env bash
# Installs everything sfconnector needs to build, test and run, from Debian's
# packages. Idempotent: when every package is present it returns at once.
set -euo pipefail

PKGS=(
    build-essential cmake pkg-config clang
    librabbitmq-dev libcurl4-openssl-dev libcjson-dev libssl-dev
    libconfig-dev libmicrohttpd-dev libcmocka-dev libhiredis-dev libyaml-dev
    rabbitmq-server redis-server
    python3 python3-pika python3-kombu python3-redis
    valgrind curl ca-certificates openssl procps
    systemd # systemd-analyze verifies the unit (unit_connector_systemd_unit)
    stress-ng # SFC_TEST_STRESS=1 scripts/test.sh: the suite on a busy machine
    lowdown man-db
)

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

# Node.js runs the tests with clients from npm (faye, jsforce, cometd):
# any Node.js >= 18 with npm will do, Debian's or one already on the machine.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

# npm ci again whenever package-lock.json changed since the last install.
npm_deps() {
    local dir stamp
    dir="$(dirname "$0")/../tests/sfsim/npm"
    stamp="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
    if [ "$(cat "$dir/node_modules/.sfc-lock" 2>/dev/null)" != "$stamp" ]; then
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
        echo "$stamp" >"$dir/node_modules/.sfc-lock"
    fi
    # An independent CometD server for the streaming tests.
    dir="$(dirname "$0")/../tests/cometd"
    if [ ! -d "$dir/node_modules/cometd-nodejs-server" ]; then
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
}

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi

# promtool checks the Prometheus alert rules (etc/prometheus/alerts.yml). It
# is taken out of Debian's prometheus package into tests/tools/ rather than
# installed: the package would also install and start a Prometheus server.
promtool_dep() {
    local tools tmp
    tools="$(dirname "$0")/../tests/tools"
    [ -x "$tools/promtool" ] && return 0
    tmp=$(mktemp -d)
    chmod 755 "$tmp" # apt downloads as its own user
    if ! (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1); then
        $SUDO apt-get update -qq
        (cd "$tmp" && apt-get download -qq prometheus >/dev/null)
    fi
    mkdir -p "$tools"
    dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb |
        tar -x -O ./usr/bin/promtool >"$tools/promtool.tmp"
    chmod 755 "$tools/promtool.tmp"
    mv "$tools/promtool.tmp" "$tools/promtool"
    rm -rf "$tmp"
}

if [ "${#missing[@]}" -eq 0 ]; then
    npm_deps
    promtool_dep
    exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# rabbitmq-server's postinst starts the service where an init system exists;
# policy-rc.d keeps it from doing so in containers, the scripts start it.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
npm_deps
promtool_dep
