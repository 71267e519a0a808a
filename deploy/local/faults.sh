#!/usr/bin/env bash
# `make faults`: what the stack survives, measured. On a throwaway cluster
# and free ports (like make test) it starts the stack, a second and a third
# gateway on the same database (BULWARK_GATEWAY_REPLICAS=2, with a rate
# limit), and runs tests/faults/faults.py: kill -9 of each service under
# load, kill -9 of the gateway, SIGTERM of a service and of the gateway under
# writes, slow clients, revocation and the rate limit across two gateways,
# then a soak at 70 % of the peak wrk measures, sampling every process's
# RSS (BULWARK_SOAK_SECONDS, 600 by default; .ci/run shortens it). It
# prints the figures and exits non-zero if anything was not survived.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD=${BULWARK_FAULTS_BUILD_DIR:-$BW_REPO/build}
DATA=

cleanup() {
    local rc=$? name pid
    trap - EXIT INT TERM
    # The processes faults.py started again are not bw_proc_start's: stop
    # them by their pid files.
    for name in "${BW_STARTED[@]}" gateway2 gateway3; do
        pid=$(cat "$BW_RUN_DIR/$name.pid" 2>/dev/null) || continue
        [[ $pid =~ ^[0-9]+$ ]] && BW_PIDS[$name]=$pid
        [[ " ${BW_STARTED[*]} " == *" $name "* ]] || BW_STARTED+=("$name")
    done
    bw_procs_stop
    bw_pg_stop || true
    [[ -n $DATA ]] && rm -rf "$DATA"
    [[ -n ${BW_PG_HOME:-} && $BW_PG_HOME != "$DATA" ]] && rm -rf "$BW_PG_HOME"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bw_deps_ensure "${BW_DEPS[@]}" "${BW_DEPS_FAULTS[@]}"
bw_node_ensure
BW_BUILD_TARGETS=$(bw_binary_targets) bw_build "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo

DATA=$(mktemp -d /tmp/bulwark-faults.XXXXXX)
bw_data_setup "$DATA"
bw_secrets_load
bw_tls_setup
bw_free_port
BW_PG_PORT=$BW_PORT
BW_FREE_PORTS=1 bw_stack_addrs
bw_pg_init
bw_pg_start
bw_migrate "$BUILD"
bw_stack_start "$BUILD" 60
# faults.py kills and starts them again itself: no job notices from bash.
disown -a
URL=$(bw_addr_url "${BW_ADDRS[http]}")
bw_tenant_create "$URL" "$BW_OPERATOR_TOKEN" Faults

# restart-NAME.sh in the run directory: starts NAME again as it was first
# started (its variables, its command, its log), writing its pid file; for
# faults.py, which kills and restarts processes.
write_restart() {
    local name=$1 file=$BW_RUN_DIR/restart-$1.sh
    {
        printf 'set -eu\n'
        printf 'args=(%s)\n' "$2"
        # shellcheck disable=SC2016 # expanded when the script runs
        printf '%s\n' 'vars=(); while [ "${args[0]}" != -- ]; do vars+=("${args[0]}"); args=("${args[@]:1}"); done; args=("${args[@]:1}")' \
            "printf '\\n=== %s start\\n' \"\$(date -u +%FT%TZ)\" >>$(printf %q "$BW_LOG_DIR/$name.log")" \
            '( for v in "${vars[@]}"; do export "$v"; done' \
            "  exec setsid \"\${args[@]}\" </dev/null >>$(printf %q "$BW_LOG_DIR/$name.log") 2>&1 ) &" \
            "echo \$! >$(printf %q "$BW_RUN_DIR/$name.pid")"
    } >"$file"
}
for name in "${BW_STARTED[@]}"; do write_restart "$name" "${BW_CMDS[$name]}"; done

# Two more gateways on the same database, each enforcing half of a tenant
# rate limit of 40 requests/s (burst 40), on their own ports.
declare -A EXTRA_URLS=()
for name in gateway2 gateway3; do
    bw_free_port
    http=127.0.0.1:$BW_PORT
    bw_free_port
    tenancy=127.0.0.1:$BW_PORT
    args=${BW_CMDS[gateway]}
    args=${args//BULWARK_HTTP_ADDR=${BW_ADDRS[http]}/BULWARK_HTTP_ADDR=$http}
    args=${args//BULWARK_TENANCY_ADDR=${BW_ADDRS[tenancy]}/BULWARK_TENANCY_ADDR=$tenancy}
    args="BULWARK_RATE_LIMIT_RPS=40 BULWARK_RATE_LIMIT_BURST=40 BULWARK_GATEWAY_REPLICAS=2 $args"
    write_restart "$name" "$args"
    bash "$BW_RUN_DIR/restart-$name.sh"
    EXTRA_URLS[$name]=$(bw_addr_url "$http")
done
for name in gateway2 gateway3; do bw_wait_ready "${EXTRA_URLS[$name]}" 20; done

python3 "$BW_REPO/tests/faults/faults.py" --url "$URL" --key "$BW_TENANT_KEY" \
    --run-dir "$BW_RUN_DIR" --gateway2 "${EXTRA_URLS[gateway2]}" --gateway3 "${EXTRA_URLS[gateway3]}" \
    --soak-seconds "${BULWARK_SOAK_SECONDS:-600}" --services "${BW_SERVICES[*]}"
