#!/usr/bin/env bash
# Copies every component's migrations into DEST/<component>/ and writes
# DEST/ORDER, the components in the order they apply, for the container
# images: deploy/migrate.sh run without arguments reads it. The list is the
# one the local scripts use (bw_migration_components in local/lib.sh), so a
# new service's migrations reach the images without editing the Dockerfile.
#
#   collect-migrations.sh DEST
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/local/lib.sh"

dest=${1:?usage: collect-migrations.sh DEST}
mkdir -p "$dest"
order=()
while read -r comp; do
    name=${comp%%=*}
    mkdir -p "$dest/$name"
    cp -R "$BW_REPO/${comp#*=}/." "$dest/$name/"
    order+=("$name")
done < <(bw_migration_components)
printf '%s\n' "${order[@]}" >"$dest/ORDER"
echo "collected migrations of: ${order[*]}"
