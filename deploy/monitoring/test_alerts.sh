#!/usr/bin/env bash
# The alerting rules: promtool's check of alerts.yml and the unit tests of
# alerts_test.yml (each alert fires on the series that should raise it, not
# before its `for`, not on a healthy system; its summary as written). Run
# by ctest test_alerts.
#
#   test_alerts.sh [CACHE-DIR]
#
# promtool comes from Debian's prometheus package: the one on PATH, else
# the package's files unpacked into CACHE-DIR (apt-get download: nothing is
# installed and no service started).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${1:-${TMPDIR:-/tmp}/bulwark-promtool}

download() {
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1) &&
        mkdir -p "$cache" && dpkg-deb -x "$tmp"/prometheus_*.deb "$cache"
    local rc=$?
    rm -rf "$tmp"
    return $rc
}

promtool=$(command -v promtool || true)
if [[ -z $promtool ]]; then
    promtool=$cache/usr/bin/promtool
    if [[ ! -x $promtool ]]; then
        # A fresh machine may have no package lists yet.
        download || { ((EUID == 0)) && apt-get update >/dev/null && download; } || {
            echo "FAIL: no promtool: could not download Debian's prometheus package" \
                "(apt-get download prometheus)" >&2
            exit 1
        }
    fi
fi
cd "$here"
"$promtool" check rules alerts.yml
"$promtool" test rules alerts_test.yml
