#!/usr/bin/env bash
# Brings a database up to date: with a superuser at hand, first creates or
# updates the owner role (owner-role.sql); then applies the migrations of
# each component as the owner, in the order given (common first), with
# bulwarkctl; then creates or updates each process's login role
# (app-role.sql). The same script serves the local scripts, the
# docker-compose `migrate` service and the Kubernetes Job.
#
#   migrate.sh [COMPONENT=DIR...]
#
# Without arguments it migrates the components listed, in order, in
# $BULWARK_MIGRATIONS_DIR/ORDER (default /usr/share/bulwark/migrations, where
# the images keep them; see collect-migrations.sh), each from the folder of
# its name beside that file.
#
# Environment:
#   BULWARK_ADMIN_DATABASE_URL         the owner of the database and schemas
#                                      (bulwark_owner: NOSUPERUSER, CREATEROLE)
#   BULWARK_APP_PASSWORD_GATEWAY, _SCOPING, _CROSSWALK, _INCIDENTS,
#   _ATTESTATIONS                      the passwords of the login roles
#                                      bulwark_app_gateway, bulwark_app_scoping, ...
#   BULWARK_APP_PASSWORD_INTEGRATIONS  optional: the password of
#                                      bulwark_app_integrations (without it
#                                      that role is not made or changed)
#   BULWARK_SUPERUSER_DATABASE_URL     optional: a superuser, to create the
#                                      owner role (then BULWARK_OWNER_PASSWORD
#                                      is its password); unset on managed
#                                      PostgreSQL, where the owner exists
#   BULWARKCTL, PSQL                   the programs (default: from PATH)
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
missing=()
for process in GATEWAY SCOPING CROSSWALK INCIDENTS ATTESTATIONS; do
    var=BULWARK_APP_PASSWORD_$process
    [[ -n ${!var:-} ]] || missing+=("$var")
done
if ((${#missing[@]} > 0)); then
    printf 'migrate.sh: set %s: the passwords of the login roles bulwark_app_<process>\n' \
        "${missing[*]}" >&2
    exit 2
fi
if [[ -n ${BULWARK_SUPERUSER_DATABASE_URL:-} ]]; then
    : "${BULWARK_OWNER_PASSWORD:?set BULWARK_OWNER_PASSWORD to the password for bulwark_owner}"
fi
here=$(dirname "$(readlink -f "$0")")

# run_sql URL FILE: runs FILE with psql. psql takes the URL on its command
# line, which any local user can read: the password, if the URL has one,
# goes to PGPASSWORD instead.
run_sql() (
    url=$1
    if [[ $url =~ ^(postgres(ql)?://[^:@/]*):([^@]*)@(.*)$ ]]; then
        encoded=${BASH_REMATCH[3]}
        PGPASSWORD=$(printf '%b' "${encoded//%/\\x}")
        export PGPASSWORD
        url="${BASH_REMATCH[1]}@${BASH_REMATCH[4]}"
    fi
    "${PSQL:-psql}" -X -q -d "$url" -f "$2"
)

if [[ -n ${BULWARK_SUPERUSER_DATABASE_URL:-} ]]; then
    run_sql "$BULWARK_SUPERUSER_DATABASE_URL" "$here/owner-role.sql"
    echo "bulwark_owner is ready"
fi
"${BULWARKCTL:-bulwarkctl}" migrate "$@"
run_sql "$BULWARK_ADMIN_DATABASE_URL" "$here/app-role.sql"
echo "bulwark_app_gateway, bulwark_app_scoping, bulwark_app_crosswalk, bulwark_app_incidents and bulwark_app_attestations are ready"
if [[ -n ${BULWARK_APP_PASSWORD_INTEGRATIONS:-} ]]; then
    echo "bulwark_app_integrations is ready"
fi
