#!/usr/bin/env bash
# Brings a database up to date: applies the migrations of each component, in
# the order given (common first), with bulwarkctl, then creates or updates the
# login role the services use (app-role.sql). The same script serves the local
# scripts, the docker-compose `migrate` service and the Kubernetes Job.
#
#   migrate.sh [COMPONENT=DIR...]
#
# Without arguments it migrates the components listed, in order, in
# $BULWARK_MIGRATIONS_DIR/ORDER (default /usr/share/bulwark/migrations, where
# the images keep them; see collect-migrations.sh), each from the folder of
# its name beside that file.
#
# Environment: BULWARK_ADMIN_DATABASE_URL (the database owner),
# BULWARK_APP_PASSWORD (the password to give bulwark_app), BULWARKCTL and PSQL
# (the programs, default: from PATH).
set -euo pipefail

if (($# == 0)); then
    root=${BULWARK_MIGRATIONS_DIR:-/usr/share/bulwark/migrations}
    [[ -f $root/ORDER ]] || {
        printf 'usage: %s COMPONENT=DIR...\n(or set BULWARK_MIGRATIONS_DIR to a folder with an ORDER file)\n' "$0" >&2
        exit 2
    }
    while read -r name; do
        [[ -n $name ]] && set -- "$@" "$name=$root/$name"
    done <"$root/ORDER"
fi
: "${BULWARK_ADMIN_DATABASE_URL:?set BULWARK_ADMIN_DATABASE_URL to the URL of the owner role}"
: "${BULWARK_APP_PASSWORD:?set BULWARK_APP_PASSWORD to the password for bulwark_app}"
here=$(dirname "$(readlink -f "$0")")

"${BULWARKCTL:-bulwarkctl}" migrate "$@"

# psql takes the URL on its command line, which any local user can read:
# move the password, if the URL has one, to PGPASSWORD.
url=$BULWARK_ADMIN_DATABASE_URL
if [[ $url =~ ^(postgres(ql)?://[^:@/]*):([^@]*)@(.*)$ ]]; then
    encoded=${BASH_REMATCH[3]}
    PGPASSWORD=$(printf '%b' "${encoded//%/\\x}")
    export PGPASSWORD
    url="${BASH_REMATCH[1]}@${BASH_REMATCH[4]}"
fi
"${PSQL:-psql}" -X -q -d "$url" -f "$here/app-role.sql"
echo "bulwark_app is ready"
