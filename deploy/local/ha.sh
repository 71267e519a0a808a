#!/usr/bin/env bash
# `make test-ha`: PostgreSQL failover under write load, on this machine. With
# pg_auto_failover (Debian's postgresql-15-auto-failover) it starts a
# monitor, a primary and a synchronous standby (each a pg_autoctl keeper
# with its own PostgreSQL 15, as the `postgres` user when run as root), the
# Bulwark stack with multi-host database URLs (target_session_attrs=
# read-write), and a demo tenant; then tests/faults/ha.py writes from eight
# clients, kills the primary's node (kill -9 of its keeper, postmaster and
# backends, as if the machine died) five seconds in, and checks that no
# acknowledged write is lost, that writes resume within 10 s, and that in
# between every failure is a 503 with Retry-After and nothing hangs. Then it
# checks that no Bulwark process died, and cleans everything up. Exit status
# non-zero on any failure. See deploy/README.md, "PostgreSQL failover".
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD=${BULWARK_HA_BUILD_DIR:-$BW_REPO/build}
AUTOCTL=/usr/bin/pg_autoctl
HA_PIDS=()

# ac ARG...: pg_autoctl as the clusters' owner, its configuration and state
# files under $HA (not in the owner's home).
ac() { bw_pg_as_owner env XDG_CONFIG_HOME="$HA/config" XDG_DATA_HOME="$HA/share" "$AUTOCTL" "$@"; }

# pg_node_pids NAME: every pid of node NAME: its pg_autoctl processes run
# in a session of its own (setsid; they rename themselves, so their command
# lines cannot find them), and its postmaster, which starts a session of
# its own, with its backends.
pg_node_pids() {
    local sid pm
    { read -r sid <"$HA/$1.sid"; } 2>/dev/null || return 0
    ps -eo pid=,sid= | awk -v s="$sid" '$2 == s { print $1 }'
    if { read -r pm <"$HA/$1/postmaster.pid"; } 2>/dev/null && [[ $pm =~ ^[0-9]+$ ]]; then
        ps -eo pid=,ppid= | awk -v p="$pm" '$1 == p || $2 == p { print $1 }'
    fi
}

# run_node NAME COMMAND: runs pg_autoctl COMMAND for node NAME in the
# background, in a session of its own, its output in $BW_LOG_DIR/NAME.log.
run_node() {
    local name=$1
    shift
    (cd "$HA" && exec setsid bash -c "$(declare -f ac bw_pg_as_owner bw_is_root); HA=$HA AUTOCTL=$AUTOCTL; ac $*" \
        </dev/null >>"$BW_LOG_DIR/$name.log" 2>&1) &
    printf '%s\n' "$!" >"$HA/$name.sid"
    HA_PIDS+=($!)
    # Killed on purpose: no job notices from bash.
    disown "$!"
}

cleanup() {
    local rc=$? node pid
    trap - EXIT INT TERM
    bw_procs_stop
    # A throwaway set-up: no need to stop it gracefully.
    if [[ -n ${HA:-} ]]; then
        for node in node1 node2 monitor; do
            for pid in $(pg_node_pids "$node"); do kill -KILL "$pid" 2>/dev/null || true; done
        done
    fi
    for pid in "${HA_PIDS[@]}"; do
        for ((i = 0; i < 50; i++)); do bw_alive "$pid" || break; sleep 0.1; done
    done
    [[ -n ${DATA:-} ]] && rm -rf "$DATA"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# sql PORT DB SQL: one statement as postgres (the pg_autoctl clusters trust
# their owner on 127.0.0.1, as initdb sets them up).
sql() { bw_pg_as_owner "$BW_PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U "$HA_SUPERUSER" -d "$2" -c "$3"; }
state_of() { sql "$MON_PORT" pg_auto_failover "SELECT reportedstate FROM pgautofailover.node WHERE nodename = '$1'" 2>/dev/null || true; }

# pg_autoctl's initdb makes the OS user that runs it the superuser.
HA_SUPERUSER=postgres
bw_is_root || HA_SUPERUSER=$(id -un)

bw_deps_ensure "${BW_DEPS[@]}" "${BW_DEPS_HA[@]}"
bw_node_ensure
[[ -x $AUTOCTL ]] || bw_die "$AUTOCTL is missing (Debian package postgresql-15-auto-failover)"
BW_BUILD_TARGETS=$(bw_binary_targets) bw_build "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo

DATA=$(mktemp -d /tmp/bulwark-ha.XXXXXX)
bw_data_setup "$DATA"
HA=$BW_PG_HOME/ha
mkdir -p "$HA"
bw_is_root && chown postgres:postgres "$HA"
chmod 700 "$HA"
bw_secrets_load
bw_tls_setup
bw_free_port && MON_PORT=$BW_PORT
bw_free_port && P1=$BW_PORT
bw_free_port && P2=$BW_PORT

bw_say "pg_auto_failover monitor on 127.0.0.1:$MON_PORT"
(cd "$HA" && ac create monitor --pgdata "$HA/monitor" --pgport "$MON_PORT" --hostname 127.0.0.1 \
    --auth trust --no-ssl --pgctl "$BW_PG_BIN/pg_ctl") >"$BW_LOG_DIR/monitor.log" 2>&1 ||
    { tail -n 20 "$BW_LOG_DIR/monitor.log" >&2; bw_die "pg_autoctl create monitor failed"; }
run_node monitor run --pgdata "$HA/monitor"
for ((i = 0; i < 100; i++)); do sql "$MON_PORT" pg_auto_failover 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
# Failure detection in about two seconds instead of about thirty: health
# checks every second, one retry, and a node that has not reported for 2 s
# (and fails its health check) is declared down; a dead primary is not
# waited for beyond 2 s (it cannot acknowledge its demotion). These suit a
# test on one machine; docs/DESIGN.md says what to weigh in production.
sql "$MON_PORT" pg_auto_failover "ALTER SYSTEM SET pgautofailover.health_check_period = 1000" &&
    sql "$MON_PORT" pg_auto_failover "ALTER SYSTEM SET pgautofailover.health_check_timeout = 1000" &&
    sql "$MON_PORT" pg_auto_failover "ALTER SYSTEM SET pgautofailover.health_check_max_retries = 1" &&
    sql "$MON_PORT" pg_auto_failover "ALTER SYSTEM SET pgautofailover.health_check_retry_delay = 500" &&
    sql "$MON_PORT" pg_auto_failover "ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = 2000" &&
    sql "$MON_PORT" pg_auto_failover "ALTER SYSTEM SET pgautofailover.primary_demote_timeout = 2000" &&
    sql "$MON_PORT" pg_auto_failover "SELECT pg_reload_conf()" >/dev/null ||
    bw_die "could not tune the monitor"

MONITOR_URL="postgres://autoctl_node@127.0.0.1:$MON_PORT/pg_auto_failover?sslmode=disable"
# start_node NAME PORT: creates and runs a pg_autoctl keeper with its PostgreSQL.
start_node() {
    bw_say "pg_auto_failover node $1 on 127.0.0.1:$2"
    run_node "$1" create postgres --pgdata "$HA/$1" --pgport "$2" --pghost 127.0.0.1 --listen 127.0.0.1 \
        --hostname 127.0.0.1 --name "$1" --monitor "'$MONITOR_URL'" --auth trust --no-ssl \
        --dbname "$BW_DB_NAME" --pgctl "$BW_PG_BIN/pg_ctl" --run
}
# wait_states NAME=STATE...: until the monitor reports each node in its state.
wait_states() {
    local deadline=$((SECONDS + 120)) want ok
    while ((SECONDS < deadline)); do
        ok=1
        for want in "$@"; do
            [[ $(state_of "${want%%=*}") == "${want#*=}" ]] || ok=0
        done
        ((ok)) && return 0
        # pg_basebackup waits for a checkpoint, spread over minutes unless asked now.
        sql "$P1" postgres CHECKPOINT >/dev/null 2>&1 || true
        sleep 1
    done
    ac show state --pgdata "$HA/monitor" >&2 || true
    bw_die "the nodes did not reach $* within 120 s"
}
start_node node1 "$P1"
wait_states node1=single
start_node node2 "$P2"
wait_states node1=primary node2=secondary
bw_say "primary node1, synchronous standby node2: synchronous_standby_names = '$(sql "$P1" postgres 'SHOW synchronous_standby_names')'"

# Bulwark's roles authenticate with passwords (scram-sha-256), before the
# trust rules pg_autoctl's initdb left for its own users; pg_hba.conf is
# not replicated, so on both nodes.
sql "$P1" postgres "CREATE ROLE $BW_PG_SUPERUSER SUPERUSER LOGIN PASSWORD '$BW_PG_PASSWORD'" >/dev/null
for node in node1 node2; do
    bw_pg_as_owner sed -i "1i host $BW_DB_NAME $BW_PG_SUPERUSER,bulwark_owner,/^bulwark_app_ 127.0.0.1/32 scram-sha-256" \
        "$HA/$node/pg_hba.conf"
done
sql "$P1" postgres 'SELECT pg_reload_conf()' >/dev/null
sql "$P2" postgres 'SELECT pg_reload_conf()' >/dev/null

BW_PG_PORT=$P1
BW_PG_HOSTS=127.0.0.1:$P1,127.0.0.1:$P2
bw_migrate "$BUILD"
BW_FREE_PORTS=1 bw_stack_addrs
bw_stack_start "$BUILD" 60
URL=$(bw_addr_url "${BW_ADDRS[http]}")
bw_tenant_create "$URL" "$BW_OPERATOR_TOKEN" HA

# The kill: the node the monitor calls primary, all of it at once.
cat >"$HA/kill-primary.sh" <<KILL
set -eu
$(declare -f pg_node_pids bw_pg_as_owner bw_is_root sql)
HA=$HA BW_PG_BIN=$BW_PG_BIN HA_SUPERUSER=$HA_SUPERUSER
primary=\$(sql $MON_PORT pg_auto_failover "SELECT nodename FROM pgautofailover.node WHERE reportedstate = 'primary'")
pids=\$(pg_node_pids "\$primary" | sort -u | tr '\n' ' ')
echo "  kill -9 of \$primary: pids \$pids"
kill -KILL \$pids
KILL

bw_say "writes under failover: $URL (database URL hosts $BW_PG_HOSTS)"
rc=0
python3 "$BW_REPO/tests/faults/ha.py" "$URL" "$BW_TENANT_KEY" "bash $HA/kill-primary.sh" \
    --threads "${BULWARK_HA_THREADS:-8}" || rc=$?
ac show state --pgdata "$HA/monitor" 2>/dev/null | sed 's/^/  /' >&2 || true
if dead=$(bw_first_dead); then
    bw_err "$dead died during the failover"
    bw_log_tail "$dead"
    rc=1
fi
grep -h "reconnected to the database" "$BW_LOG_DIR"/*.log | head -n 3 | sed 's/^/  /' >&2 || true
((rc == 0)) && bw_say "make test-ha: passed" || bw_err "make test-ha: failed"
exit "$rc"
