#!/usr/bin/env bash
# `make run`: builds Bulwark, starts a private PostgreSQL cluster and every
# Bulwark process on 127.0.0.1, creates a demo tenant on the first run, prints
# how to use it, and stays in the foreground until Ctrl-C or SIGTERM, when it
# stops everything it started. State (cluster, secrets, logs) persists in
# ${BULWARK_DATA_DIR:-.bulwark}, so a second run keeps the data. It exits
# non-zero when something fails to start. While it runs it supervises: a
# process that dies is started again (with a back-off that doubles up to 30 s
# while it keeps dying), and so is the cluster; the rest keeps serving.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD=$BW_REPO/build
BW_PG_PORT=${BULWARK_PG_PORT:-55432}
SERVING=0

cleanup() {
    local rc=$? name bad=0
    trap - EXIT INT TERM
    [[ ${#BW_PIDS[@]} -gt 0 ]] && bw_say "stopping"
    bw_procs_stop
    bw_pg_stop || rc=1
    for name in "${BW_STARTED[@]}"; do
        if [[ ${BW_EXITS[$name]:-0} != 0 ]]; then
            bw_warn "$name exited with status ${BW_EXITS[$name]}"
            bad=1
        fi
    done
    if [[ -n ${BW_RUN_DIR:-} ]]; then
        rm -f "$BW_RUN_DIR/stack.env" "$BW_RUN_DIR/run.pid"
    fi
    # A clean stop asked for with Ctrl-C is a success unless a process
    # stopped badly.
    ((SERVING == 1 && rc == 0 && bad == 1)) && rc=1
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bw_deps_ensure "${BW_DEPS[@]}"
bw_node_ensure
bw_data_setup "${BULWARK_DATA_DIR:-$BW_REPO/.bulwark}"
if [[ -f $BW_RUN_DIR/run.pid ]]; then
    other=$(<"$BW_RUN_DIR/run.pid")
    if [[ $other =~ ^[0-9]+$ ]] && bw_alive "$other"; then
        BW_RUN_DIR='' # not ours to clean
        bw_die "make run is already running (pid $other) on $BW_DATA"
    fi
fi
printf '%s\n' "$$" >"$BW_RUN_DIR/run.pid"
bw_procs_stop_stale
# Logs a run before left over the limit are trimmed now, and every minute
# while this one runs (a bad BULWARK_LOG_MAX_MB stops here).
bw_logs_trim || exit 1

# The stand-ins of a webhook receiver and of Jira / ServiceNow too: the
# README's walk-through runs them against this stack (seconds to build).
BW_BUILD_TARGETS="$(bw_binary_targets) webhook_receiver ticket_system" \
    bw_build "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo

bw_secrets_load
bw_tls_setup
bw_pg_init
bw_pg_start
bw_migrate "$BUILD"
bw_stack_addrs
bw_reserve_ports
# Plain-http webhooks may reach 127.0.0.2 and nothing else private: a
# loopback address kept for local receivers (make bench's, or one of your
# own while developing). Set BULWARK_WEBHOOK_ALLOWED_CIDRS, even to "", to
# choose otherwise.
export BULWARK_WEBHOOK_ALLOWED_CIDRS=${BULWARK_WEBHOOK_ALLOWED_CIDRS-127.0.0.2/32}
bw_stack_start "$BUILD" 30
URL=$(bw_addr_url "${BW_ADDRS[http]}")

# The demo tenant, created once: its key is shown only at creation.
DEMO=$BW_DATA/demo-tenant.env
if [[ ! -f $DEMO ]]; then
    bw_say "creating the demo tenant"
    bw_tenant_create "$URL" "$BW_OPERATOR_TOKEN" Demo || exit 1
    tenant_id=$BW_TENANT_ID api_key=$BW_TENANT_KEY
    (
        umask 077
        printf 'DEMO_TENANT_ID=%s\nDEMO_API_KEY=%s\n' "$tenant_id" "$api_key" >"$DEMO"
    )
fi
tenant_id=$(bw_kv_get "$DEMO" DEMO_TENANT_ID)
api_key=$(bw_kv_get "$DEMO" DEMO_API_KEY)

# What make bench (and a curious user) needs to find this stack: the URL, the
# cluster, and each process's gRPC address (<NAME>_ADDR).
{
    printf 'URL=%s\nPG_PORT=%s\nPG_DIR=%s\nTLS_DIR=%s\nRUN_PID=%s\n' "$URL" "$BW_PG_PORT" "$BW_PG_DIR" \
        "$BW_TLS_DIR" "$$"
    for name in "${!BW_ADDRS[@]}"; do
        [[ $name == http ]] || printf '%s_ADDR=%s\n' "${name^^}" "${BW_ADDRS[$name]}"
    done
    for name in "${!BW_METRICS_ADDRS[@]}"; do
        printf '%s_METRICS_ADDR=%s\n' "${name^^}" "${BW_METRICS_ADDRS[$name]}"
    done
} >"$BW_RUN_DIR/stack.env"
metrics="  gateway          $URL/metrics"
for svc in "${BW_SERVICES[@]}"; do
    metrics+=$(printf '\n  %-16s http://%s/metrics' "$svc" "${BW_METRICS_ADDRS[$svc]}")
done

cat <<EOF

Bulwark is running at $URL
  API reference:   $URL/docs (paste the demo API key to try requests)
  operator token:  $BW_OPERATOR_TOKEN
  demo tenant:     $tenant_id
  demo API key:    $api_key
  data and logs:   $BW_DATA (PostgreSQL on 127.0.0.1:$BW_PG_PORT, data in $BW_PG_DIR)
                   logs in $BW_LOG_DIR/<process>.log (BULWARK_LOG_FORMAT=json for JSON lines)
Metrics (Prometheus text):
$metrics

Try:
  curl -s -X POST $URL/v1/entities -H 'Authorization: Bearer $api_key' \\
       -H 'Content-Type: application/json' -d '{"name":"Acme","timeZone":"Europe/Berlin"}'
  curl -s $URL/v1/entities/ENTITY_ID -H 'Authorization: Bearer $api_key'

Press Ctrl-C to stop.
EOF

SERVING=1
trap 'exit 0' INT TERM
ticks=1
while :; do
    bw_pg_supervise
    bw_supervise
    # Once a minute: the logs stay under BULWARK_LOG_MAX_MB each.
    ((ticks++ % 60 != 0)) || bw_logs_trim || true
    sleep 1
done
