#!/usr/bin/env bash
# tools/npm/install.sh PACKAGE-DIR: installs the npm packages that
# PACKAGE-DIR/package-lock.json pins, exactly (`npm ci`: the locked versions
# from the npm registry, each checked against the integrity hash in the
# lock, no install scripts run), and prints the path of the node_modules
# folder that holds them.
#
# The folder is installed once per machine for each distinct package.json
# and lock, in a shared cache (BULWARK_NPM_CACHE, default
# ~/.cache/bulwark/npm/<name>-<hash of package.json and lock>), so that both
# build flavours and every work tree use the same copy; callers link to it.
# Concurrent runs wait for each other (flock). Entries of the same package
# unused for 30 days are removed when a new one is installed.
set -euo pipefail

die() {
    printf 'tools/npm/install.sh: %s\n' "$*" >&2
    exit 1
}

(($# == 1)) || die "usage: install.sh PACKAGE-DIR"
pkg=$(cd "$1" 2>/dev/null && pwd -P) || die "no such folder: $1"
[[ -f $pkg/package.json && -f $pkg/package-lock.json ]] ||
    die "$pkg needs a package.json and a package-lock.json"
command -v npm >/dev/null 2>&1 ||
    die "npm is missing: install Debian's nodejs and npm packages (make build, make run and make test do)"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
name=${pkg#"$repo"/}
name=${name//\//-}
cache=${BULWARK_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bulwark/npm}
key=$(cat "$pkg/package.json" "$pkg/package-lock.json" | sha256sum | cut -c1-16)
dest=$cache/$name-$key

if [[ ! -f $dest/.complete ]]; then
    mkdir -p "$cache"
    exec 9>"$cache/.$name-$key.lock"
    flock 9
    if [[ ! -f $dest/.complete ]]; then
        printf '==> npm ci for %s (once for this lock; cached in %s)\n' "$name" "$dest" >&2
        tmp=$(mktemp -d "$cache/.$name-$key.XXXXXX")
        trap 'rm -rf "$tmp"' EXIT
        cp "$pkg/package.json" "$pkg/package-lock.json" "$tmp/"
        (cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --no-update-notifier \
            --loglevel=error) >&2 || die "npm ci failed for $name"
        touch "$tmp/.complete"
        rm -rf "$dest"
        mv "$tmp" "$dest"
        trap - EXIT
        find "$cache" -mindepth 1 -maxdepth 1 -name "$name-*" ! -name "$name-$key" -mtime +30 \
            -exec rm -rf {} + 2>/dev/null || true
    fi
    exec 9>&-
fi
touch "$dest"
printf '%s\n' "$dest/node_modules"
