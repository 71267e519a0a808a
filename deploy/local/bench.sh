#!/usr/bin/env bash
# `make bench`: measures the stack that `make run` started, with the
# configuration it ships (internal mutual TLS included), beside nginx serving
# the same JSON from a file and grpc-gateway (Go) in front of the same
# scoping service, in alternating runs on the same machine. It prints one
# table (medians over the rounds with their spread, each figure that has a
# target beside it with ok or MISSED) and writes the same as JSON to
# build/bench/last.json (the one before to previous.json) for diffing.
#
# Steps, in this order (each a function below; a new figure is one more):
#   1. find the stack, install what is missing (wrk, nginx-light; the Go
#      packages for grpc-gateway, or the peer is skipped with a message)
#   2. the bench tenant and its entity (once per data directory)
#   3. about 1,000,000 incidents with their deadlines in the bench tenant
#      (once per data directory, in SQL as the cluster's superuser)
#   4. nginx, grpc-gateway (built once into build/bench/grpc-gateway), and
#      the floor (tools/floor: one hop doing no work of its own)
#   5. rounds (BULWARK_BENCH_ROUNDS, 3): in each, one wrk run per request
#      kind: nginx, GET /v1/entities/{id}, grpc-gateway's GET, POST
#      /v1/scoping:assess, grpc-gateway's assess, the floor, POST
#      /v1/entities, POST /v1/incidents
#   6. the deadlines queue: GET /v1/deadlines while the read runs, on 8
#      of the 64 connections (the figure judged), then one connection
#      beside the read on all 64 (for information: the page under the
#      read benchmark as it is, not a load of its own)
#   7. the summary, the table, the JSON
#
# Every run: wrk -t2 -c64 for BULWARK_BENCH_DURATION (10s); per process
# (the gateway, each service, PostgreSQL, nginx, grpc-gateway, the floor's
# two) the CPU time (utime + stime from /proc/<pid>/stat) over the run
# divided by the requests wrk completed, and the peak RSS (VmHWM, reset
# before each run).
# It reports and does not judge: it exits 0 unless the stack is not running
# or a measurement could not be made.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BULWARK_BENCH_DURATION:-10s}
ROUNDS=${BULWARK_BENCH_ROUNDS:-3}
# The write-cost step's rounds: its figure is a difference of two runs that
# each move by a fifth with the host, so it takes more of them.
WRITE_COST_ROUNDS=${BULWARK_BENCH_WRITE_COST_ROUNDS:-5}
N_INCIDENTS=${BULWARK_BENCH_INCIDENTS:-1000000}
# BULWARK_BENCH_ONLY=write-cost: only the added cost per write (no incidents
# loaded, no nginx, grpc-gateway, rounds of other kinds or webhook figure).
ONLY=${BULWARK_BENCH_ONLY:-}
CONNECTIONS=64
THREADS=2
# The deadlines step: two wrk at once, CONNECTIONS in all; then one
# connection on the deadlines beside CONNECTIONS on the read.
DEADLINE_CONNECTIONS=8
PROBE_CONNECTIONS=1
BENCH_SRC=$BW_REPO/deploy/local/bench
OUT_DIR=$BW_REPO/build/bench
BW_DATA=${BULWARK_DATA_DIR:-$BW_REPO/.bulwark}
BW_RUN_DIR=$BW_DATA/run
BENCH_DATA=$BW_DATA/bench
RECEIVER_PID=
TMP=
NGINX_PID=
PEER_PID=
FLOOR_FRONT_PID=
FLOOR_BACK_PID=
PEER_STATUS=
DEADLINES_STATUS=

[[ $ROUNDS =~ ^[1-9][0-9]?$ ]] || bw_die "BULWARK_BENCH_ROUNDS must be a number of rounds, 1-99"
[[ $WRITE_COST_ROUNDS =~ ^[1-9][0-9]?$ ]] ||
    bw_die "BULWARK_BENCH_WRITE_COST_ROUNDS must be a number of rounds, 1-99"
[[ $N_INCIDENTS =~ ^[1-9][0-9]{0,7}$ ]] || bw_die "BULWARK_BENCH_INCIDENTS must be a number, 1-99999999"
[[ -z $ONLY || $ONLY == write-cost ]] || bw_die "BULWARK_BENCH_ONLY must be empty or write-cost"
[[ $DURATION =~ ^[1-9][0-9]*[smh]?$ ]] || bw_die "BULWARK_BENCH_DURATION must be wrk's duration, e.g. 10s"

not_running() {
    bw_err "the Bulwark stack is not running ($1)"
    echo "Start it with 'make run' in another terminal, then run 'make bench' again." >&2
    exit 1
}

# commas N: N with thousands separators.
commas() {
    local n=$1 out=
    while ((${#n} > 3)); do
        out=,${n: -3}$out
        n=${n:0:${#n}-3}
    done
    printf '%s%s\n' "$n" "$out"
}

# stop_pid PID: stops a process this script started.
stop_pid() {
    [[ -n $1 ]] || return 0
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

cleanup() {
    bench_db_close
    stop_pid "$NGINX_PID"
    stop_pid "$PEER_PID"
    stop_pid "$FLOOR_FRONT_PID"
    stop_pid "$FLOOR_BACK_PID"
    stop_pid "$RECEIVER_PID"
    [[ -n $TMP ]] && rm -rf "$TMP"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- 1. the stack

declare -A PROC_PIDS=() # process name -> pid, for CPU and RSS
STACK_ENV=$BW_RUN_DIR/stack.env

find_stack() {
    [[ -f $STACK_ENV ]] || not_running "no $STACK_ENV"
    URL=$(bw_kv_get "$STACK_ENV" URL) || not_running "no URL in $STACK_ENV"
    BW_PG_PORT=$(bw_kv_get "$STACK_ENV" PG_PORT) || not_running "no PG_PORT in $STACK_ENV"
    curl -fsS -o /dev/null --max-time 2 "$URL/healthz" 2>/dev/null || not_running "$URL/healthz does not answer"
    local name pid
    for name in gateway "${BW_SERVICES[@]}"; do
        pid=$(<"$BW_RUN_DIR/$name.pid") || not_running "no pid file for $name"
        bw_alive "$pid" || not_running "$name (pid $pid) is not running"
        PROC_PIDS[$name]=$pid
    done
    # A stack.env from before it named the cluster's directory: the same
    # rule as make run's.
    if ! BW_PG_DIR=$(bw_kv_get "$STACK_ENV" PG_DIR); then
        bw_data_setup "$BW_DATA"
    fi
    PG_PID=$(bw_pg_postmaster_pid) || not_running "no postmaster.pid in $BW_PG_DIR"
    bw_alive "$PG_PID" || not_running "PostgreSQL (pid $PG_PID) is not running"
    TLS_DIR=$(bw_kv_get "$STACK_ENV" TLS_DIR) || TLS_DIR=$BW_DATA/tls
    BW_PG_PASSWORD=$(bw_kv_get "$BW_DATA/secrets.env" PG_SUPERUSER_PASSWORD) ||
        bw_die "no PG_SUPERUSER_PASSWORD in $BW_DATA/secrets.env"
    OPERATOR_TOKEN=${BULWARK_OPERATOR_TOKEN:-$(bw_kv_get "$BW_DATA/secrets.env" OPERATOR_TOKEN)} ||
        bw_die "no OPERATOR_TOKEN in $BW_DATA/secrets.env"
    # The gateway's rate limit is off unless make run was given one; with
    # one, the writes and reads of one tenant meet 429s.
    local rate
    rate=$(tr '\0' '\n' <"/proc/${PROC_PIDS[gateway]}/environ" 2>/dev/null |
        awk -F= '$1 == "BULWARK_RATE_LIMIT_RPS" { print $2 }') || rate=
    if [[ -n $rate && $rate != 0 ]]; then
        bw_warn "the gateway runs with BULWARK_RATE_LIMIT_RPS=$rate: requests beyond it are" \
            "answered 429 and counted as errors; restart make run without it to measure"
    fi
}

# stack_addr NAME: the gRPC address of process NAME (scoping, ...).
stack_addr() {
    local var=BULWARK_${1^^}_ADDR value
    value=$(bw_kv_get "$STACK_ENV" "${1^^}_ADDR") && {
        printf '%s\n' "$value"
        return 0
    }
    # An older stack.env: the process's own setting.
    value=$(tr '\0' '\n' <"/proc/${PROC_PIDS[$1]}/environ" 2>/dev/null |
        awk -F= -v v="$var" '$1 == v { print $2 }') || value=
    printf '%s\n' "${value:-127.0.0.1:${BW_SERVICE_PORTS[$1]}}"
}

has_service() { [[ -n ${PROC_PIDS[$1]:-} ]]; }

# install_packages: wrk and nginx always; the Go packages of the peer only
# for the whole bench (BULWARK_BENCH_ONLY runs no peer).
install_packages() {
    bw_deps_ensure "${BW_DEPS_BENCH[@]}" || bw_die "make bench needs wrk and nginx-light"
    [[ -n $ONLY ]] && return 0
    if ! bw_deps_ensure "${BW_DEPS_BENCH_PEER[@]}"; then
        PEER_STATUS="skipped: the Go packages are missing (${BW_DEPS_BENCH_PEER[*]})"
    fi
}

# ---------------------------------------------------------------- 2. the bench tenant

# api METHOD PATH [BODY]: calls the gateway as the bench tenant; prints the
# body, then the status on a line of its own. The key goes in a header read
# from a pipe, never on a command line.
api() {
    local body=()
    [[ -z ${3:-} ]] || body=(-H 'Content-Type: application/json' --data-binary "$3")
    curl -sS --max-time 30 -w '\n%{http_code}' -X "$1" "${body[@]}" \
        -H @<(printf 'Authorization: Bearer %s\n' "$API_KEY") "$URL$2"
}

# The entity the reads and incidents use: in NIS2 scope (a large cloud
# provider established in Germany), so that its incidents run the NIS2 clock.
ENTITY_BODY='{"name":"Bench Cloud SE","timeZone":"Europe/Berlin","activities":[{"entityType":"digital_infra.cloud","principalActivity":true},{"entityType":"digital_infra.data_centre"}],"size":{"staffHeadcount":420,"annualTurnoverEur":"61000000","balanceSheetTotalEur":"48000000"},"memberState":{"establishment":"DE","servicesIn":["DE","AT","NL"]}}'

# bench_tenant: a tenant of its own (not the demo tenant, which a person
# uses), created once with the operator token, with one entity; kept in
# $BENCH_DATA/tenant.env. Sets TENANT_ID, API_KEY, ENTITY_ID.
bench_tenant() {
    local file=$BENCH_DATA/tenant.env reply code
    mkdir -p "$BENCH_DATA"
    chmod 700 "$BENCH_DATA"
    if [[ -f $file ]]; then
        TENANT_ID=$(bw_kv_get "$file" TENANT_ID) || TENANT_ID=
        API_KEY=$(bw_kv_get "$file" API_KEY) || API_KEY=
        ENTITY_ID=$(bw_kv_get "$file" ENTITY_ID) || ENTITY_ID=
        if [[ -n $API_KEY && -n $ENTITY_ID ]]; then
            reply=$(api GET "/v1/entities/$ENTITY_ID") || bw_die "GET /v1/entities/$ENTITY_ID failed"
            code=${reply##*$'\n'}
            [[ $code == 200 ]] && return 0
            bw_say "the bench tenant's entity answers $code: making the bench tenant again"
        fi
    fi
    bw_say "creating the bench tenant"
    bw_tenant_create "$URL" "$OPERATOR_TOKEN" Bench || exit 1
    TENANT_ID=$BW_TENANT_ID API_KEY=$BW_TENANT_KEY
    reply=$(api POST /v1/entities "$ENTITY_BODY") || bw_die "POST /v1/entities failed"
    code=${reply##*$'\n'}
    [[ $code == 201 ]] || bw_die "POST /v1/entities answered $code: ${reply%$'\n'*}"
    ENTITY_ID=$(jq -er '.id' <<<"${reply%$'\n'*}") || bw_die "unexpected reply: ${reply%$'\n'*}"
    (
        umask 077
        printf 'TENANT_ID=%s\nAPI_KEY=%s\nENTITY_ID=%s\n' "$TENANT_ID" "$API_KEY" "$ENTITY_ID" >"$file"
    )
}

# ---------------------------------------------------------------- 3. a million incidents

LOADED_INCIDENTS=0

# load_incidents_sql ONLY: runs load-incidents.sql (every ONLY-th incident,
# or all with 0); prints how many incidents it generated.
load_incidents_sql() {
    bw_psql "$BW_DB_NAME" -tA -v tenant="$TENANT_ID" -v entity="$ENTITY_ID" -v zone=Europe/Berlin \
        -v count="$N_INCIDENTS" -v start="$LOAD_START" -v step="$LOAD_STEP" -v only="$1" \
        -f "$BENCH_SRC/load-incidents.sql"
}

# deadlines_of PATH JQ: the deadlines of an incident as the service shows
# them, sorted, one JSON line.
deadlines_of() {
    local reply
    reply=$(api GET "$1") || return 1
    [[ ${reply##*$'\n'} == 200 ]] || {
        printf 'GET %s answered %s\n' "$1" "${reply##*$'\n'}"
        return 0
    }
    jq -cS "[$2] | sort_by(.kind, .dueAt, .basis)" <<<"${reply%$'\n'*}"
}

# drop_incidents PREDICATE: removes the bench tenant's incidents for which
# PREDICATE (SQL on incidents.incidents) holds, with their deadlines and
# timelines, in one transaction; prints how many.
drop_incidents() {
    bw_psql "$BW_DB_NAME" -tA -c "
        CREATE TEMP TABLE gone ON COMMIT DROP AS
            SELECT incident_id FROM incidents.incidents
             WHERE tenant_id = '$TENANT_ID' AND ($1);
        DELETE FROM incidents.deadlines d USING gone g
         WHERE d.tenant_id = '$TENANT_ID' AND d.incident_id = g.incident_id;
        DELETE FROM incidents.events e USING gone g
         WHERE e.tenant_id = '$TENANT_ID' AND e.incident_id = g.incident_id;
        DELETE FROM incidents.incidents i USING gone g
         WHERE i.tenant_id = '$TENANT_ID' AND i.incident_id = g.incident_id;
        SELECT count(*) FROM gone;"
}

# drop_loaded_incidents: removes the incidents load_incidents made.
drop_loaded_incidents() {
    drop_incidents "external_ref = 'bench-load'" >/dev/null
}

# drop_written_incidents: removes the incidents the write steps made in the
# bench tenant (POST /v1/incidents: every incident but the loaded ones),
# with their deadlines and timelines, and vacuums the three tables when it
# removed any, so that the deadlines step reads the loaded incidents and
# nothing else, run after run. Left in place, their deadlines were the
# soonest of the queue (aware an hour before the run), grew by some 60,000
# incidents a run, and those written before incidents migration 0011 were
# read with their incident's row: by 2026-12-05 the queue held 1.9 million
# of them beside the million loaded.
drop_written_incidents() {
    local n
    n=$(drop_incidents "external_ref IS DISTINCT FROM 'bench-load'") || return 1
    ((n > 0)) || return 0
    bw_say "removed the $(commas "$n") incidents the write steps made; vacuuming"
    bw_psql "$BW_DB_NAME" -c "VACUUM (ANALYZE) incidents.deadlines, incidents.events, incidents.incidents"
}

# load_incidents: about N_INCIDENTS open, significant NIS2 incidents of the
# bench entity with aware times spread over the last 81 days (at a million),
# and their five deadlines each, once per data directory. A sample goes
# first and the service checks it: for each sampled incident the deadlines
# it reads from the rows (GET /v1/incidents/{id}) must equal those its clock
# computes (GET /v1/incidents/{id}/timeline); otherwise nothing is loaded
# and the deadlines step is skipped.
load_incidents() {
    if ! has_service incidents; then
        DEADLINES_STATUS="skipped: no incidents service in this stack"
        return 0
    fi
    local have
    have=$(bw_psql "$BW_DB_NAME" -tA -c "SELECT count(*) FROM incidents.incidents
        WHERE tenant_id = '$TENANT_ID' AND external_ref = 'bench-load'") ||
        bw_die "could not count the bench tenant's incidents"
    local bare=f
    if ((have * 10 >= N_INCIDENTS * 9)); then
        # Loaded before incidents migration 0011, the deadlines lack their
        # incident's title, which the service writes with each since. Asked
        # of a loaded incident's: the write steps' incidents (removed only
        # before the deadlines step) have theirs.
        bare=$(bw_psql "$BW_DB_NAME" -tA -c "SELECT bool_or(d.title IS NULL)
            FROM incidents.deadlines d WHERE d.tenant_id = '$TENANT_ID' AND d.incident_id =
                (SELECT incident_id FROM incidents.incidents
                  WHERE tenant_id = '$TENANT_ID' AND external_ref = 'bench-load' LIMIT 1)") ||
            bw_die "could not read the bench tenant's deadlines"
        if [[ $bare != t ]]; then
            LOADED_INCIDENTS=$have
            return 0
        fi
    fi
    if [[ $bare == t ]]; then
        bw_say "the loaded incidents' deadlines are written as before incidents migration 0011: loading them again"
        drop_loaded_incidents || bw_die "could not remove the loaded incidents"
    elif ((have > 0)); then
        # An interrupted load (the sample only), or fewer than asked for.
        bw_say "the bench tenant has $have loaded incidents, not about $N_INCIDENTS: loading them again"
        drop_loaded_incidents || bw_die "could not remove the loaded incidents"
    fi
    LOAD_STEP=$((7776000 / N_INCIDENTS))
    ((LOAD_STEP > 0)) || LOAD_STEP=1
    LOAD_START=$(($(date +%s) - 3600 - LOAD_STEP * N_INCIDENTS))
    local sample=$((N_INCIDENTS / 50)) id a b bad=0 n
    ((sample > 0)) || sample=1
    bw_say "loading about $(commas "$N_INCIDENTS") incidents into the bench tenant: a sample first"
    load_incidents_sql "$sample" >/dev/null || bw_die "load-incidents.sql failed (sample)"
    while read -r id; do
        a=$(deadlines_of "/v1/incidents/$id" '.deadlines[]') || bw_die "GET /v1/incidents/$id failed"
        b=$(deadlines_of "/v1/incidents/$id/timeline" '.entries[] | select(.deadline) | .deadline') ||
            bw_die "GET /v1/incidents/$id/timeline failed"
        if [[ $a != "$b" ]]; then
            bad=1
            bw_warn "incident $id: the generated deadlines differ from the service's clock"
            printf '  stored:     %s\n  recomputed: %s\n' "$a" "$b" >&2
            break
        fi
    done < <(bw_psql "$BW_DB_NAME" -tA -c "SELECT incident_id FROM incidents.incidents
        WHERE tenant_id = '$TENANT_ID' AND external_ref = 'bench-load'")
    if ((bad)); then
        drop_loaded_incidents
        DEADLINES_STATUS="skipped: deploy/local/bench/load-incidents.sql no longer writes what the incidents service's clock computes (see above)"
        return 0
    fi
    bw_say "the service agrees with the sample; loading the rest (once per data directory; minutes)"
    n=$(load_incidents_sql 0) || bw_die "load-incidents.sql failed"
    bw_say "loaded $(commas "$n") incidents; VACUUM ANALYZE (as autovacuum would soon) and CHECKPOINT"
    bw_psql "$BW_DB_NAME" -c 'VACUUM ANALYZE incidents.incidents' -c 'VACUUM ANALYZE incidents.deadlines' \
        -c CHECKPOINT || bw_die "VACUUM ANALYZE failed"
    LOADED_INCIDENTS=$n
}

# ---------------------------------------------------------------- 4. nginx and grpc-gateway

start_nginx() {
    mkdir -p "$TMP/www"
    local reply
    reply=$(api GET "/v1/entities/$ENTITY_ID") || bw_die "GET /v1/entities/$ENTITY_ID failed"
    [[ ${reply##*$'\n'} == 200 ]] || bw_die "GET /v1/entities/$ENTITY_ID answered ${reply##*$'\n'}"
    printf '%s' "${reply%$'\n'*}" >"$TMP/www/entity.json"
    bw_free_port
    local port=$BW_PORT user_line=
    bw_is_root && user_line='user root;'
    # One process, no master: comparable with one gateway process, and its
    # pid is the one that serves. Temp paths inside TMP: the compiled-in ones
    # are under /var/lib/nginx.
    cat >"$TMP/nginx.conf" <<EOF
$user_line
daemon off;
master_process off;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $TMP/body;
    proxy_temp_path $TMP/proxy;
    fastcgi_temp_path $TMP/fastcgi;
    uwsgi_temp_path $TMP/uwsgi;
    scgi_temp_path $TMP/scgi;
    server {
        listen 127.0.0.1:$port;
        location = /entity.json {
            root $TMP/www;
            default_type application/json;
        }
    }
}
EOF
    /usr/sbin/nginx -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" &
    NGINX_PID=$!
    NGINX_URL=http://127.0.0.1:$port/entity.json
    wait_http "$NGINX_URL" "$NGINX_PID" || {
        cat "$TMP/nginx-error.log" >&2
        bw_die "nginx did not start"
    }
    PROC_PIDS[nginx]=$NGINX_PID
}

# wait_http URL PID [HEADER...]: waits up to 10 s for URL to answer 200
# while PID runs.
wait_http() {
    local url=$1 pid=$2 i hs=()
    shift 2
    for h in "$@"; do hs+=(-H "$h"); done
    for ((i = 0; i < 100; i++)); do
        curl -fsS -o /dev/null --max-time 1 "${hs[@]}" "$url" 2>/dev/null && return 0
        bw_alive "$pid" || return 1
        sleep 0.1
    done
    return 1
}

PEER_DIR=$OUT_DIR/grpc-gateway
PEER_BIN=$PEER_DIR/bulwark-grpc-gateway
PEER_PACKAGES=("${BW_DEPS_BENCH_PEER[@]}" protobuf-compiler libprotobuf-dev)

# peer_inputs: what the peer's build depends on; a change rebuilds it.
peer_inputs() {
    cat "$BENCH_SRC/grpc-gateway/main.go" "$BENCH_SRC/grpc-gateway/scoping.yaml" \
        "$BW_REPO/proto/bulwark/scoping/v1/scoping.proto" "$BW_REPO/proto/bulwark/api/v1/http.proto"
    dpkg-query -W -f='${Package} ${Version}\n' "${PEER_PACKAGES[@]}" 2>/dev/null
    declare -f build_peer
}

# build_peer: grpc-gateway for GetEntity and Assess, offline, in GOPATH mode
# from Debian's packages (no module, no proxy). The Go code protoc generates
# (messages, gRPC client, gateway handlers from scoping.yaml) lives only in
# PEER_DIR; the inputs' hash says when to build again.
build_peer() {
    local hash gopath=$PEER_DIR/gopath
    hash=$(peer_inputs | sha256sum | cut -d' ' -f1)
    if [[ -x $PEER_BIN && -f $PEER_DIR/inputs.sha256 && $(<"$PEER_DIR/inputs.sha256") == "$hash" ]]; then
        return 0
    fi
    bw_say "building grpc-gateway (Go, GOPATH mode, Debian's packages) in ${PEER_DIR#"$BW_REPO"/}"
    rm -rf "$gopath" "$PEER_BIN" "$PEER_DIR/inputs.sha256"
    mkdir -p "$gopath/src/bulwarkbench/grpcgateway"
    # Import paths of the generated packages; the well-known types are
    # those of golang-goprotobuf-dev and golang-google-genproto-dev.
    local m=Mbulwark/scoping/v1/scoping.proto=bulwark/scoping/v1
    m+=,Mbulwark/api/v1/http.proto=bulwark/api/v1
    m+=,Mgoogle/protobuf/timestamp.proto=github.com/golang/protobuf/ptypes/timestamp
    m+=,Mgoogle/protobuf/empty.proto=github.com/golang/protobuf/ptypes/empty
    m+=,Mgoogle/protobuf/field_mask.proto=google.golang.org/genproto/protobuf/field_mask
    m+=,Mgoogle/protobuf/descriptor.proto=github.com/golang/protobuf/protoc-gen-go/descriptor
    local protoc=(protoc -I "$BW_REPO/proto" -I /usr/include)
    local scoping=$BW_REPO/proto/bulwark/scoping/v1/scoping.proto
    {
        "${protoc[@]}" --go_out="plugins=grpc,$m:$gopath/src" "$scoping" &&
            "${protoc[@]}" --go_out="$m:$gopath/src" "$BW_REPO/proto/bulwark/api/v1/http.proto" &&
            "${protoc[@]}" --grpc-gateway_out="grpc_api_configuration=$BENCH_SRC/grpc-gateway/scoping.yaml,$m:$gopath/src" "$scoping" &&
            cp "$BENCH_SRC/grpc-gateway/main.go" "$gopath/src/bulwarkbench/grpcgateway/" &&
            env GOPATH="$gopath:/usr/share/gocode" GO111MODULE=off GOFLAGS= GOPROXY=off GOENV=off \
                GOCACHE="$PEER_DIR/gocache" go build -o "$PEER_BIN.tmp" bulwarkbench/grpcgateway &&
            mv "$PEER_BIN.tmp" "$PEER_BIN"
    } >"$PEER_DIR/build.log" 2>&1 || {
        tail -n 20 "$PEER_DIR/build.log" >&2
        return 1
    }
    printf '%s\n' "$hash" >"$PEER_DIR/inputs.sha256"
}

# bench_certificates NAME...: certificates of the deployment's CA, made by
# deploy/tls/make-certs.sh in $BENCH_DATA/tls (renewed as the processes'
# are). grpc-gateway's identity is "gateway": scoping serves only the
# identities its peer table names, and the gateway's may call every method,
# so it stands in for the gateway it is compared with; the floor's back end
# is "floor". The CA's files are linked, not copied, and the link to its key
# is removed after.
bench_certificates() {
    local dir=$BENCH_DATA/tls
    mkdir -p "$dir"
    chmod 700 "$dir"
    ln -sf "$TLS_DIR/ca.pem" "$dir/ca.pem"
    ln -sf "$TLS_DIR/ca.key" "$dir/ca.key"
    local rc=0
    "$BW_REPO/deploy/tls/make-certs.sh" "$dir" "$@" || rc=$?
    rm -f "$dir/ca.key" "$dir/ca.srl"
    return $rc
}

start_peer() {
    [[ -z $PEER_STATUS ]] || return 0
    if ! build_peer; then
        PEER_STATUS="skipped: the build failed (${PEER_DIR#"$BW_REPO"/}/build.log)"
        return 0
    fi
    bench_certificates gateway || bw_die "could not make grpc-gateway's certificate"
    bw_free_port
    local port=$BW_PORT dir=$BENCH_DATA/tls
    "$PEER_BIN" -listen "127.0.0.1:$port" -backend "$(stack_addr scoping)" -ca "$dir/ca.pem" \
        -cert "$dir/gateway.pem" -key "$dir/gateway.key" >"$TMP/grpc-gateway.log" 2>&1 &
    PEER_PID=$!
    PEER_URL=http://127.0.0.1:$port
    if ! wait_http "$PEER_URL/v1/entities/$ENTITY_ID" "$PEER_PID" "${PEER_HEADERS[@]}"; then
        cat "$TMP/grpc-gateway.log" >&2
        bw_die "grpc-gateway did not answer GET /v1/entities/$ENTITY_ID"
    fi
    PROC_PIDS[grpc-gateway]=$PEER_PID
    PEER_STATUS=ran
}

# start_floor: tools/floor's two processes, one hop that does no work of its
# own (docs/DESIGN.md, "Performance as measured"), on the CPUs make run pins
# the gateway and scoping to, with the stack's mutual TLS: its back end
# answers every call with the reply assess gave, its front takes assess's
# body. Sets FLOOR_URL.
start_floor() {
    local reply dir=$BENCH_DATA/tls pin=() bin=$BW_REPO/build/tools/floor/bulwark-floor
    BW_BUILD_TARGETS=bulwark-floor bw_build "$BW_REPO/build" >/dev/null || bw_die "could not build tools/floor"
    bench_certificates gateway floor || bw_die "could not make the floor's certificates"
    reply=$(api POST /v1/scoping:assess "$(<"$TMP/assess.json")") || bw_die "POST /v1/scoping:assess failed"
    [[ ${reply##*$'\n'} == 200 ]] || bw_die "POST /v1/scoping:assess answered ${reply##*$'\n'}"
    printf '%s' "${reply%$'\n'*}" >"$TMP/floor-reply.json"
    bw_free_port
    local back=127.0.0.1:$BW_PORT
    mapfile -t pin < <(bw_cpu_pin scoping)
    "${pin[@]}" "$bin" back "$back" "$TMP/floor-reply.json" "$dir/ca.pem" "$dir/floor.pem" \
        "$dir/floor.key" >"$TMP/floor-back.log" 2>&1 &
    FLOOR_BACK_PID=$!
    bw_free_port
    mapfile -t pin < <(bw_cpu_pin gateway)
    "${pin[@]}" "$bin" front "$BW_PORT" "$back" "$dir/ca.pem" "$dir/gateway.pem" "$dir/gateway.key" \
        floor >"$TMP/floor-front.log" 2>&1 &
    FLOOR_FRONT_PID=$!
    FLOOR_URL=http://127.0.0.1:$BW_PORT/v1/scoping:assess
    if ! wait_http "$FLOOR_URL" "$FLOOR_FRONT_PID"; then
        cat "$TMP/floor-back.log" "$TMP/floor-front.log" >&2
        bw_die "the floor (tools/floor) did not answer"
    fi
    PROC_PIDS[floor-front]=$FLOOR_FRONT_PID
    PROC_PIDS[floor-back]=$FLOOR_BACK_PID
}

# ---------------------------------------------------------------- 5. the runs

CLK_TCK=$(getconf CLK_TCK)

# children PID: the pids of PID's children.
children() {
    local f
    for f in /proc/"$1"/task/*/children; do
        [[ -r $f ]] && cat "$f"
    done | tr ' ' '\n' | grep -v '^$' || true
}

# ticks PID [WITH-CHILDREN]: utime + stime (with cutime + cstime: the
# children that exited), in clock ticks; nothing when PID is gone.
ticks() {
    local stat f
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
    read -r -a f <<<"${stat##*) }"
    if [[ ${2:-} == 1 ]]; then
        echo $((f[11] + f[12] + f[13] + f[14]))
    else
        echo $((f[11] + f[12]))
    fi
}

# cpu_snapshot: "NAME TICKS" per process. PostgreSQL is the postmaster with
# its exited children and every live child (backends, WAL writer,
# checkpointer, autovacuum).
cpu_snapshot() {
    local name pid sum t
    for name in "${!PROC_PIDS[@]}"; do
        t=$(ticks "${PROC_PIDS[$name]}")
        [[ -n $t ]] && printf "%s %s\n" "$name" "$t"
    done
    sum=$(ticks "$PG_PID" 1)
    for pid in $(children "$PG_PID"); do
        [[ $pid == "$BENCH_DB_BACKEND" ]] && continue
        t=$(ticks "$pid")
        sum=$((sum + ${t:-0}))
    done
    printf 'postgresql %s\n' "$sum"
    [[ -n $SESSIONS_OF ]] && sessions_snapshot "$SESSIONS_OF"
    return 0
}

# SESSIONS_OF: a process whose own PostgreSQL sessions cpu_snapshot also
# counts (the write-cost step makes it integrations for its own snapshots),
# empty for none.
SESSIONS_OF=

# The bench's own session on the database (a psql coprocess), for what it
# asks while a run is measured: whether the outbox is relayed, which
# sessions a process holds. A connection of its own for each question
# cost PostgreSQL about 30-40 ms of CPU here (the backend's fork, SCRAM,
# its caches, the question planned cold), and its exited backend was
# counted with the run: two to four a write-cost run, 10-20 us a write in
# both kinds of run. One session now serves every question, asking
# through the outbox's cursor (bulwark.outbox_lag, as /metrics does), and
# cpu_snapshot leaves its backend out.
BENCH_DB_BACKEND=

# bench_db_open: opens the session (once).
bench_db_open() {
    [[ -n $BENCH_DB_BACKEND ]] && return 0
    coproc BENCH_DB { bw_psql "$BW_DB_NAME" -tA 2>&1; }
    BENCH_DB_BACKEND=$(bench_db_ask "SELECT pg_backend_pid()") && [[ $BENCH_DB_BACKEND =~ ^[0-9]+$ ]] || {
        bw_warn "could not open the bench's session on the database: $BENCH_DB_BACKEND"
        BENCH_DB_BACKEND=
        return 1
    }
}

# bench_db_ask SQL: the answer's first line (SQL answers one row; psql joins
# its columns with '|'). Fails when the session is gone (psql stops at an
# error).
bench_db_ask() {
    local line
    [[ -n ${BENCH_DB[1]:-} ]] || return 1
    printf '%s;\n' "$1" >&"${BENCH_DB[1]}" 2>/dev/null || return 1
    read -r -t 60 -u "${BENCH_DB[0]}" line || return 1
    printf '%s\n' "$line"
}

bench_db_close() {
    [[ -n ${BENCH_DB_BACKEND:-} ]] || return 0
    local pid=${BENCH_DB_PID:-}
    BENCH_DB_BACKEND=
    { exec {BENCH_DB[1]}>&-; } 2>/dev/null || true
    [[ -z $pid ]] || wait "$pid" 2>/dev/null || true
}

# sessions_snapshot PROCESS: "PROCESS-db TICKS", the CPU of the backends
# serving bulwark_app_PROCESS (part of "postgresql" above), and
# "PROCESS-db-set N", the sum of their pids' squares: a run whose two
# snapshots differ in it (a session closed or opened) has no figure.
sessions_snapshot() {
    local pids pid t sum=0 set=0
    pids=$(bench_db_ask "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity
                      WHERE usename = 'bulwark_app_$1'") || return 0
    for pid in $pids; do
        t=$(ticks "$pid")
        sum=$((sum + ${t:-0}))
        set=$((set + pid * pid))
    done
    printf '%s-db %s\n%s-db-set %s\n' "$1" "$sum" "$1" "$set"
}

RSS_RESET=1

# rss_reset: peak RSS back to the current RSS (clear_refs 5), so that the
# next reading is the peak of one run.
rss_reset() {
    local pid
    for pid in "${PROC_PIDS[@]}" $(children "$PG_PID"); do
        echo 5 2>/dev/null >"/proc/$pid/clear_refs" || RSS_RESET=0
    done
}

# rss_snapshot: "NAME KIB" per process; PostgreSQL's largest child.
rss_snapshot() {
    local name pid max=0 kb
    hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }
    for name in "${!PROC_PIDS[@]}"; do
        kb=$(hwm "${PROC_PIDS[$name]}")
        [[ -n $kb ]] && printf '%s %s\n' "$name" "$kb"
    done
    for pid in $(children "$PG_PID"); do
        kb=$(hwm "$pid")
        [[ -n $kb ]] && ((kb > max)) && max=$kb
    done
    printf 'postgresql %s\n' "$max"
}

# The request kinds: URL, method, body file, headers (one a line).
declare -A K_URL=() K_METHOD=() K_BODY=() K_HEADERS=()
kind() {
    local k=$1
    K_URL[$k]=$2 K_METHOD[$k]=$3 K_BODY[$k]=$4
    shift 4
    K_HEADERS[$k]=$(printf '%s\n' "$@")
}

# wrk_run KIND CONNECTIONS THREADS OUT: one wrk run of KIND, its output in
# OUT. The headers go through the environment (wrk.lua), so that no key is
# on a command line.
wrk_run() {
    BENCH_METHOD=${K_METHOD[$1]} BENCH_BODY_FILE=${K_BODY[$1]} BENCH_HEADERS=${K_HEADERS[$1]} \
        wrk -t"$3" -c"$2" -d"$DURATION" -s "$BENCH_SRC/wrk.lua" "${K_URL[$1]}" >"$4" 2>&1
}

# record KIND ROUND CONNECTIONS WRK-OUTPUT CPU-BEFORE CPU-AFTER RSS: one
# line of $TMP/runs.jsonl. CPU-BEFORE empty: no CPU figures (shared run).
record() {
    local k=$1 result
    result=$(sed -n 's/^bench-result //p' "$4")
    [[ -n $result ]] || {
        cat "$4" >&2
        bw_die "wrk against ${K_URL[$k]} gave no result"
    }
    jq -nc --arg kind "$k" --argjson round "$2" --argjson conns "$3" --argjson r "$result" \
        --arg before "$5" --arg after "$6" --arg rss "$7" --argjson tck "$CLK_TCK" '
        def table: split("\n") | map(select(length > 0) | split(" ") | {key: .[0], value: (.[1] | tonumber)}) | from_entries;
        ($r.requests) as $n
        | ($before | table) as $b | ($after | table) as $a
        | {kind: $kind, round: $round, connections: $conns, requests: $n, seconds: $r.seconds,
           rps: ($n / $r.seconds),
           p50_ms: ($r.latency_us.p50 / 1000), p90_ms: ($r.latency_us.p90 / 1000),
           p99_ms: ($r.latency_us.p99 / 1000), max_ms: ($r.latency_us.max / 1000),
           errors: ($r.errors | add), error_detail: $r.errors,
           reply_bytes: (if $n > 0 then $r.bytes / $n else 0 end),
           cpu_s: ([$a | keys[] | select($b[.] != null) | {key: ., value: (($a[.] - $b[.]) / $tck)}] | from_entries),
           rss_mib: ($rss | table | map_values(. / 1024))}
        | .cpu_us_per_request = (if $n > 0 then .cpu_s | map_values(. * 1e6 / $n) else {} end)' \
        >>"$TMP/runs.jsonl"
    if ! jq -e '.errors == 0' <<<"$(tail -n 1 "$TMP/runs.jsonl")" >/dev/null; then
        bw_warn "$k, round $2: $(jq -r '"\(.errors) of \(.requests) requests failed \(.error_detail)"' <<<"$(tail -n 1 "$TMP/runs.jsonl")")"
        ERRORS_SEEN=1
    fi
}
ERRORS_SEEN=0

# measure KIND ROUND: one run of KIND with the CPU and RSS of every process.
measure() {
    local k=$1 out=$TMP/wrk-$1-$2.txt before after
    bw_say "round $2/$ROUNDS: $k (wrk -t$THREADS -c$CONNECTIONS -d$DURATION ${K_METHOD[$k]:-GET} ${K_URL[$k]})"
    rss_reset
    before=$(cpu_snapshot)
    wrk_run "$k" "$CONNECTIONS" "$THREADS" "$out" || {
        cat "$out" >&2
        bw_die "wrk failed against ${K_URL[$k]}"
    }
    after=$(cpu_snapshot)
    record "$k" "$2" "$CONNECTIONS" "$out" "$before" "$after" "$(rss_snapshot)"
}

# check_kind KIND: one request with curl; the kind must answer 2xx, or the
# figures would be those of errors.
check_kind() {
    local k=$1 body=() code
    [[ -z ${K_BODY[$k]} ]] || body=(-X "${K_METHOD[$k]}" -H 'Content-Type: application/json' --data-binary "@${K_BODY[$k]}")
    code=$(curl -sS --max-time 30 -o "$TMP/check-$k.json" -w '%{http_code}' "${body[@]}" \
        -H @<(printf '%s\n' "${K_HEADERS[$k]}") "${K_URL[$k]}") || bw_die "$k: ${K_URL[$k]} failed"
    [[ $code == 2?? ]] || bw_die "$k: ${K_URL[$k]} answered $code: $(head -c 400 "$TMP/check-$k.json")"
}

# ---------------------------------------------------------------- 6. the deadlines queue

# measure_beside DL-KIND DL-CONNECTIONS READ-KIND READ-CONNECTIONS: GET
# /v1/deadlines?dueBefore=<in 7 days> on DL-CONNECTIONS (one wrk thread)
# while GET /v1/entities/{id} runs on READ-CONNECTIONS (THREADS threads),
# both for DURATION, recorded as DL-KIND and READ-KIND. No CPU figures:
# the processes serve both at once.
measure_beside() {
    local pid rc=0 rss
    bw_say "deadlines: wrk -t1 -c$2 ${K_URL[$1]} beside wrk -t$THREADS -c$4 the read"
    rss_reset
    wrk_run "$1" "$2" 1 "$TMP/wrk-$1.txt" &
    pid=$!
    wrk_run "$3" "$4" "$THREADS" "$TMP/wrk-$3.txt" || rc=$?
    wait "$pid" || rc=$?
    ((rc == 0)) || {
        cat "$TMP/wrk-$1.txt" "$TMP/wrk-$3.txt" >&2
        bw_die "wrk failed in the deadlines step"
    }
    rss=$(rss_snapshot)
    record "$1" 1 "$2" "$TMP/wrk-$1.txt" "" "" "$rss"
    record "$3" 1 "$4" "$TMP/wrk-$3.txt" "" "" "$rss"
}

# measure_deadlines: the deadlines on DEADLINE_CONNECTIONS of the
# CONNECTIONS (the figure issue 13's target is judged on), then on
# PROBE_CONNECTIONS beside the read on all CONNECTIONS.
measure_deadlines() {
    measure_beside deadlines "$DEADLINE_CONNECTIONS" get-beside $((CONNECTIONS - DEADLINE_CONNECTIONS))
    measure_beside deadlines-probe "$PROBE_CONNECTIONS" get-probed "$CONNECTIONS"
}

# ---------------------------------------------------------------- 7. the report

# The kinds in table order with their targets (issue 13), for summary.jq:
# label, the processes shown, x_nginx (least ratio to nginx in the same
# round), p99_ms (most), peer (grpc-gateway's kind; peer_min: least ratio,
# and the gateway's CPU per request below grpc-gateway's), cpu_max (most
# CPU us per request of a process), rss_max (MiB, each of rss_procs),
# vs_read (the ratio to that kind).
report_spec() {
    local bulwark
    bulwark=$(printf '%s\n' gateway "${BW_SERVICES[@]}" | jq -R . | jq -sc .)
    jq -nc --argjson bw "$bulwark" --argjson dl "$DEADLINE_CONNECTIONS" --argjson probe "$PROBE_CONNECTIONS" \
        --argjson c "$CONNECTIONS" '[
      {kind: "nginx", label: "nginx: the entity JSON from a file", procs: ["nginx"]},
      {kind: "get", label: "GET /v1/entities/{id}", procs: ["gateway", "scoping", "postgresql"],
       x_nginx: 0.20, p99_ms: 10, peer: "ggw-get", peer_min: 1.3,
       cpu_max: {gateway: 40, scoping: 35}, rss_max: 32, rss_procs: $bw},
      {kind: "ggw-get", label: "grpc-gateway GET /v1/entities/{id}", procs: ["grpc-gateway", "scoping", "postgresql"]},
      {kind: "assess", label: "POST /v1/scoping:assess", procs: ["gateway", "scoping", "postgresql"],
       x_nginx: 0.40, p99_ms: 10, peer: "ggw-assess", peer_min: 1.3, rss_max: 32, rss_procs: $bw, vs_floor: "floor"},
      {kind: "ggw-assess", label: "grpc-gateway POST /v1/scoping:assess", procs: ["grpc-gateway", "scoping", "postgresql"]},
      {kind: "floor", label: "floor: one hop doing nothing, the body and reply of assess (tools/floor)", procs: ["floor-front", "floor-back"]},
      {kind: "post-entities", label: "POST /v1/entities", procs: ["gateway", "scoping", "postgresql"],
       vs_read: "get", rss_max: 32, rss_procs: $bw},
      {kind: "post-incidents", label: "POST /v1/incidents", procs: ["gateway", "incidents", "scoping", "postgresql"],
       vs_read: "get", rss_max: 32, rss_procs: $bw},
      {kind: "deadlines", label: "GET /v1/deadlines (\($dl) conns, beside the read)", procs: ["gateway", "incidents", "scoping", "postgresql"],
       vs_nginx: false, p99_ms: 10, rss_max: 32, rss_procs: $bw},
      {kind: "get-beside", label: "GET /v1/entities/{id} (\($c - $dl) conns, beside)", procs: [], vs_nginx: false},
      {kind: "deadlines-probe", label: "GET /v1/deadlines (\($probe) conn, beside the read at \($c))", procs: ["gateway", "incidents", "scoping", "postgresql"],
       vs_nginx: false},
      {kind: "get-probed", label: "GET /v1/entities/{id} (\($c) conns, beside)", procs: [], vs_nginx: false}
    ]'
}

report() {
    local meta spec summary
    mkdir -p "$OUT_DIR"
    spec=$(report_spec)
    meta=$(jq -nc --arg when "$(date -u +%FT%TZ)" --arg duration "$DURATION" --argjson rounds "$ROUNDS" \
        --argjson conns "$CONNECTIONS" --argjson threads "$THREADS" --argjson dl "$DEADLINE_CONNECTIONS" --argjson probe "$PROBE_CONNECTIONS" \
        --arg cores "$(nproc)" --arg load "$LOAD_AVG" --arg load_after "$(cut -d" " -f1-3 /proc/loadavg)" --arg peer "$PEER_STATUS" \
        --arg deadlines "${DEADLINES_STATUS:-ran}" --argjson incidents "$LOADED_INCIDENTS" \
        --argjson rss_reset "$RSS_RESET" --arg commit "$(git -C "$BW_REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        '{when: $when, commit: $commit, wrk: {duration: $duration, rounds: $rounds, connections: $conns, threads: $threads},
          machine: {cores: ($cores | tonumber), load_average_before: $load, load_average_after: $load_after},
          grpc_gateway: $peer, deadlines: {status: $deadlines, incidents_loaded: $incidents,
            connections: $dl, read_connections_beside: ($conns - $dl),
            probe_connections: $probe, read_connections_beside_probe: $conns},
          peak_rss: (if $rss_reset == 1 then "per run (reset before each)" else "since each process started (it could not be reset)" end)}')
    summary=$(jq -n --slurpfile runs "$TMP/runs.jsonl" --argjson spec "$spec" --argjson meta "$meta" \
        -L "$BENCH_SRC" -f "$BENCH_SRC/summary.jq") || bw_die "summary.jq failed"
    [[ -f $OUT_DIR/last.json ]] && mv "$OUT_DIR/last.json" "$OUT_DIR/previous.json"
    printf '%s\n' "$summary" >"$OUT_DIR/last.json"

    printf '\nBulwark benchmark, %s (%s): wrk -t%s -c%s -d%s, %s round(s) of alternating runs, %s cores\n' \
        "$(jq -r .when <<<"$summary")" "$(jq -r .commit <<<"$summary")" "$THREADS" "$CONNECTIONS" \
        "$DURATION" "$ROUNDS" "$(nproc)"
    printf 'Load average (1, 5, 15 min) before: %s, after: %s (other work on the machine skews every figure)\n' \
        "$(jq -r .machine.load_average_before <<<"$summary")" "$(jq -r .machine.load_average_after <<<"$summary")"
    printf 'Figures: median over the rounds (min-max); ratios per round, Bulwark / the other, same round.\n\n'
    {
        printf 'request\tfigure\tmeasured\ttarget\tverdict\n'
        jq -r -f "$BENCH_SRC/table.jq" <<<"$summary"
    } | awk -F'\t' '
        { for (i = 1; i <= 5; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
        END {
            for (r = 1; r <= NR; r++) {
                if (r > 2 && cell[r, 1] != "") print ""
                printf "%-" w[1] "s  %-" w[2] "s  %-" w[3] "s  %-" w[4] "s  %s\n", cell[r, 1], cell[r, 2], cell[r, 3], cell[r, 4], cell[r, 5]
                if (r == 1) { for (i = 1; i <= 5; i++) { s = sprintf("%" w[i] "s", ""); gsub(/ /, "-", s); printf "%s%s", s, (i < 5 ? "  " : "\n") } }
            }
        }'
    echo
    local peer_note="grpc-gateway: ${PEER_STATUS}."
    [[ $PEER_STATUS == ran ]] && peer_note="grpc-gateway did no authentication in this comparison: the tenant, principal and
  roles came as Grpc-Metadata-* headers, which it forwards as gRPC metadata. Bulwark's gateway did
  (API key, roles, request id, metrics, ETag). Both called the same scoping service over mutual
  TLS; grpc-gateway with a certificate of the deployment's CA, identity \"gateway\" (scoping's
  peer table lets only the gateway call every method)."
    local dl_note="Deadlines: ${DEADLINES_STATUS}."
    [[ -z $DEADLINES_STATUS ]] && dl_note="Deadlines: $(commas "$LOADED_INCIDENTS") incidents in the bench tenant. Two wrk at once, $CONNECTIONS connections
  in all: $DEADLINE_CONNECTIONS (1 thread) on GET /v1/deadlines?dueBefore=<in 7 days> (a page of 50), $((CONNECTIONS - DEADLINE_CONNECTIONS)) ($THREADS threads)
  on GET /v1/entities/{id} (the 10 ms target is judged on this); then $PROBE_CONNECTIONS on the deadlines beside the
  read on all $CONNECTIONS, for information: the page under the read benchmark as it is. No CPU figures
  for these runs (the processes serve both at once)."
    cat <<EOF
Notes:
- $peer_note
- CPU us/request: utime + stime from /proc/<pid>/stat over the run, divided by the requests wrk
  completed. postgresql: the postmaster, its exited children and every live child (backends,
  WAL writer, checkpointer, autovacuum). Peak RSS: VmHWM, $(jq -r .peak_rss <<<"$summary");
  postgresql: its largest child, shared buffers included.
- $dl_note
- Every figure and every run: ${OUT_DIR#"$BW_REPO"/}/last.json (the one before: previous.json).
  Figures on a shared machine vary by 10-20 % between runs: compare the rounds of one invocation.
EOF
    if ((ERRORS_SEEN)); then
        bw_warn "some requests failed (see the warnings above): those figures are not those of successful requests"
    fi
}

# ---------------------------------------------------------------- main

LOAD_AVG=$(cut -d' ' -f1-3 /proc/loadavg)
find_stack
install_packages
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-bench.XXXXXX")
chmod 755 "$TMP"
: >"$TMP/runs.jsonl"
mkdir -p "$OUT_DIR"
bench_tenant
[[ -z $ONLY ]] && load_incidents

AUTH="Authorization: Bearer $API_KEY"
PEER_HEADERS=("Grpc-Metadata-X-Tenant-Id: $TENANT_ID" "Grpc-Metadata-X-Principal: bench"
    "Grpc-Metadata-X-Roles: admin")
cp "$BENCH_SRC/assess.json" "$TMP/assess.json"
printf '%s' "$ENTITY_BODY" >"$TMP/entity.json"
printf '{"entity":"%s","title":"Bench write","awareAt":"%s","significant":true}' \
    "$ENTITY_ID" "$(date -u -d '-1 hour' +%FT%TZ)" >"$TMP/incident.json"

if [[ -z $ONLY ]]; then
    start_nginx
    start_peer
    start_floor

    kind nginx "$NGINX_URL" GET ""
    kind get "$URL/v1/entities/$ENTITY_ID" GET "" "$AUTH"
    kind assess "$URL/v1/scoping:assess" POST "$TMP/assess.json" "$AUTH"
    kind post-entities "$URL/v1/entities" POST "$TMP/entity.json" "$AUTH"
    ROUND_KINDS=(nginx get)
    if [[ $PEER_STATUS == ran ]]; then
        kind ggw-get "$PEER_URL/v1/entities/$ENTITY_ID" GET "" "${PEER_HEADERS[@]}"
        kind ggw-assess "$PEER_URL/v1/scoping:assess" POST "$TMP/assess.json" "${PEER_HEADERS[@]}"
        ROUND_KINDS+=(ggw-get assess ggw-assess)
    else
        bw_warn "grpc-gateway $PEER_STATUS"
        ROUND_KINDS+=(assess)
    fi
    kind floor "$FLOOR_URL" POST "$TMP/assess.json"
    ROUND_KINDS+=(floor)
    ROUND_KINDS+=(post-entities)
    if has_service incidents; then
        kind post-incidents "$URL/v1/incidents" POST "$TMP/incident.json" "$AUTH"
        ROUND_KINDS+=(post-incidents)
    fi
    if [[ -z $DEADLINES_STATUS ]]; then
        kind deadlines "$URL/v1/deadlines?dueBefore=$(date -u -d '+7 days' +%FT%TZ)" GET "" "$AUTH"
        kind get-beside "$URL/v1/entities/$ENTITY_ID" GET "" "$AUTH"
        kind deadlines-probe "${K_URL[deadlines]}" GET "" "$AUTH"
        kind get-probed "$URL/v1/entities/$ENTITY_ID" GET "" "$AUTH"
    fi

    for k in "${ROUND_KINDS[@]}" ${K_URL[deadlines]:+deadlines}; do check_kind "$k"; done
    # One second of each first, not recorded: connections, caches, Go's heap.
    bw_say "warming up: one second of each kind"
    for k in "${ROUND_KINDS[@]}"; do
        DURATION=1s wrk_run "$k" "$CONNECTIONS" "$THREADS" "$TMP/warm-$k.txt" || {
            cat "$TMP/warm-$k.txt" >&2
            bw_die "wrk failed against ${K_URL[$k]}"
        }
    done
    for ((round = 1; round <= ROUNDS; round++)); do
        for k in "${ROUND_KINDS[@]}"; do measure "$k" "$round"; done
    done
    if [[ -n ${K_URL[deadlines]:-} ]]; then
        drop_written_incidents || bw_die "could not remove the incidents the write steps made"
        measure_deadlines
    fi
fi
# ---------------------------------------------------------------- webhooks

WEBHOOK_EVENTS=${BULWARK_BENCH_WEBHOOK_EVENTS:-5000}
WEBHOOK_RESOURCES=500
WEBHOOK_HOST=127.0.0.2

# receiver_start NAME: builds and starts the webhook receiver stand-in, its
# output in $TMP/NAME.out (one at a time: a running one is stopped first);
# sets RECEIVER_PID and its ports HOOKS_PORT and CONTROL_PORT. Says why and
# returns non-zero when it does not start.
receiver_start() {
    local receiver=$BW_REPO/build/tests/standins/webhook_receiver out=$TMP/$1.out line='' i
    stop_pid "$RECEIVER_PID"
    RECEIVER_PID=
    BW_BUILD_TARGETS=webhook_receiver bw_build "$BW_REPO/build" >/dev/null || return 1
    "$receiver" --host "$WEBHOOK_HOST" >"$out" 2>&1 &
    RECEIVER_PID=$!
    for ((i = 0; i < 50; i++)); do
        [[ -s $out ]] && read -r line <"$out" && break
        sleep 0.1
    done
    [[ $line =~ ^hooks=([0-9]+)\ control=([0-9]+)$ ]] || {
        bw_warn "the webhook receiver did not start: $line"
        return 1
    }
    HOOKS_PORT=${BASH_REMATCH[1]}
    CONTROL_PORT=${BASH_REMATCH[2]}
}

# webhook_bench: appends WEBHOOK_EVENTS events of WEBHOOK_RESOURCES incidents
# to the demo tenant's outbox in one transaction, as producers do, and times
# them until the receiver has answered every delivery 2xx. Says why and
# returns non-zero when it cannot measure.
webhook_bench() {
    receiver_start receiver || return 1
    local control=http://127.0.0.1:$CONTROL_PORT reply endpoint secret tenant i
    reply=$(curl -sS --max-time 10 -X POST -H @<(printf '%s\n' "$AUTH") \
        -H 'Content-Type: application/json' \
        --data "{\"url\":\"http://$WEBHOOK_HOST:$HOOKS_PORT/bench\",\"eventTypes\":[\"incident.updated\"],\"description\":\"make bench\"}" \
        "$URL/v1/webhook-endpoints") || return 1
    if ! endpoint=$(jq -er '.id' <<<"$reply") || ! secret=$(jq -er '.secret' <<<"$reply"); then
        bw_warn "could not create the bench's webhook endpoint: $reply"
        bw_warn "(make run allows plain http to $WEBHOOK_HOST; a stack started with another BULWARK_WEBHOOK_ALLOWED_CIDRS may not)"
        return 1
    fi
    curl -fsS --max-time 10 -o /dev/null -X POST "$control/config" \
        --data "{\"path\":\"/bench\",\"secrets\":[\"$secret\"]}" || return 1
    tenant=$TENANT_ID
    bw_say "webhooks: $WEBHOOK_EVENTS events of $WEBHOOK_RESOURCES incidents through the outbox"
    local start=$EPOCHREALTIME count=0 valid elapsed
    bw_psql "$BW_DB_NAME" -c "SELECT set_config('bulwark.tenant_id', '$tenant', false)" \
        -c "INSERT INTO bulwark.outbox (tenant_id, event_id, type, resource, data)
            SELECT '$tenant', gen_random_uuid(), 'incident.updated',
                   'incidents/bench-' || (i % $WEBHOOK_RESOURCES),
                   json_build_object('id', 'bench-' || (i % $WEBHOOK_RESOURCES), 'n', i)::text
              FROM generate_series(1, $WEBHOOK_EVENTS) i" >/dev/null || return 1
    for ((i = 0; i < 1200; i++)); do
        count=$(curl -fsS --max-time 5 "$control/count?path=/bench" | jq -r '.succeeded') || return 1
        ((count >= WEBHOOK_EVENTS)) && break
        sleep 0.1
    done
    elapsed=$(awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.2f", e - s }')
    valid=$(curl -fsS --max-time 30 "$control/deliveries?path=/bench" |
        jq '[.deliveries[] | select(.valid)] | length') || return 1
    curl -fsS --max-time 30 -o /dev/null -X DELETE -H @<(printf '%s\n' "$AUTH") \
        "$URL/v1/webhook-endpoints/$endpoint" || bw_warn "could not delete the bench's endpoint $endpoint"
    printf '\nWebhooks: %s events of %s incidents, outbox to receiver, one endpoint\n' \
        "$WEBHOOK_EVENTS" "$WEBHOOK_RESOURCES"
    printf '  delivered %s (signatures valid: %s) in %s s: %s events/s\n' "$count" "$valid" \
        "$elapsed" "$(awk -v n="$count" -v t="$elapsed" 'BEGIN { printf "%.0f", (t > 0) ? n / t : 0 }')"
    printf '  (in flight: at most BULWARK_WEBHOOK_ENDPOINT_CONCURRENCY per endpoint, one per incident)\n'
}

# ---------------------------------------------------------------- the added cost per write

# write_cost_bench: what announcing a write to a subscriber adds to it
# (issue 11: under 10 %). POST /v1/incidents in alternating runs: "bare",
# no endpoint subscribed (the event is still appended to the outbox in the
# write's transaction, and the relay still reads it: that part is in both
# runs and cannot be switched off), and "subscribed", one endpoint taking
# incident.created at the receiver stand-in, answering 204. Each run's CPU
# is counted until its work is done: the outbox relayed and, subscribed,
# every delivery answered; the integrations process is counted with the
# others (the receiver is not). Prints the medians and the added share of
# CPU per write and of requests/s: the median of the rounds' own shares,
# each of a bare and a subscribed run side by side (as the table's ratios
# are), with every round's beside it, so that one run's spread shows;
# writes build/bench/write-cost.json. WRITE_COST_ROUNDS rounds, the bare
# run first in odd rounds and second in even ones, so that a host getting
# faster or slower over the step (or the tables growing with its writes)
# does not favour one kind.
# Every run starts from the same state of PostgreSQL's housekeeping: the
# tables every write of both kinds grows are vacuumed and analysed before
# the first round, and a checkpoint is taken before each run (both outside
# the runs). Without that, an autovacuum of the million-row tables (up to
# 10 s of CPU, once the inserts since the last reach a fifth of a table)
# or a checkpoint landed in whichever run it fell in and moved that round
# by 20-50 points, in either direction. What the subscriber's own tables
# (deliveries, events) need vacuumed is left to autovacuum as it comes.
# Says why and returns non-zero when it cannot measure.
write_cost_bench() {
    bench_db_open || return 1
    receiver_start write-cost-receiver || return 1
    local control=http://127.0.0.1:$CONTROL_PORT endpoint='' reply i
    # drained: waits (2 minutes at most) until the outbox is relayed and the
    # receiver has answered want deliveries.
    drained() {
        local want=$1 left got
        for ((i = 0; i < 1200; i++)); do
            left=$(bench_db_ask "SELECT unrelayed FROM bulwark.outbox_lag()") || return 1
            got=$(curl -fsS --max-time 5 "$control/count?path=/write-cost" | jq -r '.succeeded') || return 1
            ((left == 0 && got >= want)) && return 0
            sleep 0.1
        done
        bw_warn "the outbox or the deliveries did not drain within 2 minutes ($left unrelayed, $got of $want delivered)"
        return 1
    }
    bw_say "write cost: vacuuming the tables both kinds of run write (before the rounds)"
    bw_psql "$BW_DB_NAME" -c 'VACUUM (ANALYZE) incidents.incidents, incidents.deadlines, bulwark.audit_events, bulwark.outbox' ||
        return 1
    local SESSIONS_OF=integrations
    kind write-bare "$URL/v1/incidents" POST "$TMP/incident.json" "$AUTH"
    kind write-subscribed "$URL/v1/incidents" POST "$TMP/incident.json" "$AUTH"
    local round k out before after delivered=0 n order
    for ((round = 1; round <= WRITE_COST_ROUNDS; round++)); do
        order=(write-bare write-subscribed)
        ((round % 2 == 0)) && order=(write-subscribed write-bare)
        for k in "${order[@]}"; do
            if [[ $k == write-subscribed ]]; then
                reply=$(curl -sS --max-time 10 -X POST -H @<(printf '%s\n' "$AUTH") \
                    -H 'Content-Type: application/json' \
                    --data "{\"url\":\"http://$WEBHOOK_HOST:$HOOKS_PORT/write-cost\",\"eventTypes\":[\"incident.created\"],\"description\":\"make bench: write cost\"}" \
                    "$URL/v1/webhook-endpoints") || return 1
                endpoint=$(jq -er '.id' <<<"$reply") || {
                    bw_warn "could not create the write-cost endpoint: $reply"
                    return 1
                }
            fi
            drained "$delivered" || return 1
            out=$TMP/wrk-$k-$round.txt
            bw_say "write cost, round $round/$WRITE_COST_ROUNDS: $k (wrk -t$THREADS -c$CONNECTIONS -d$DURATION POST /v1/incidents)"
            bench_db_ask "CHECKPOINT; SELECT 1" >/dev/null || return 1
            rss_reset
            before=$(cpu_snapshot)
            wrk_run "$k" "$CONNECTIONS" "$THREADS" "$out" || {
                cat "$out" >&2
                return 1
            }
            if [[ $k == write-subscribed ]]; then
                n=$(sed -n 's/^bench-result //p' "$out" | jq '.requests - (.errors | add)') || return 1
                delivered=$((delivered + n))
            fi
            drained "$delivered" || return 1
            after=$(cpu_snapshot)
            record "$k" "$round" "$CONNECTIONS" "$out" "$before" "$after" "$(rss_snapshot)"
            if [[ -n $endpoint ]]; then
                curl -fsS --max-time 30 -o /dev/null -X DELETE -H @<(printf '%s\n' "$AUTH") \
                    "$URL/v1/webhook-endpoints/$endpoint" || bw_warn "could not delete the write-cost endpoint $endpoint"
                endpoint=
            fi
        done
    done
    stop_pid "$RECEIVER_PID"
    RECEIVER_PID=
    local summary
    summary=$(jq -s -L "$BENCH_SRC" --arg when "$(date -u +%FT%TZ)" -f "$BENCH_SRC/write-cost.jq" \
        "$TMP/runs.jsonl") || return 1
    printf '%s\n' "$summary" >"$OUT_DIR/write-cost.json"
    printf '\nAdded cost per write (POST /v1/incidents, %s rounds, target: under 10 %%)\n' "$WRITE_COST_ROUNDS"
    jq -r '"  bare (no subscriber):      \(.bare.rps | floor) requests/s, \(.bare.cpu_us_per_write | floor) us CPU per write, p99 \(.bare.p99_ms) ms",
           "  subscribed (one endpoint): \(.subscribed.rps | floor) requests/s, \(.subscribed.cpu_us_per_write | floor) us CPU per write, p99 \(.subscribed.p99_ms) ms",
           "  added: \(.added_cpu_pct * 10 | round / 10) % CPU per write (\(.verdict): \(.rounds_under) of \(.rounds | length) rounds under \(.target_pct) %, \(.rounds_needed) needed on one side; rounds \(.rounds | map(.added_cpu_pct | round | if . >= 0 then "+\(.)" else "\(.)" end) | join(", ")) %), \(.lost_rps_pct * 10 | round / 10) % fewer requests/s"' \
        <<<"$summary"
    jq -r 'select(.own_added_pct != null)
           | "  of it the integrations process and its own PostgreSQL sessions: +\(.own_added_us | round) us a write, \(.own_added_pct * 10 | round / 10) % of a bare write (rounds \(.rounds | map(.own_added_pct // empty | . * 10 | round / 10 | tostring) | join(", ")) %)"' \
        <<<"$summary"
    printf '  (CPU: gateway, scoping, incidents, integrations and PostgreSQL, counted until the outbox was\n'
    printf '  relayed and every delivery answered; the receiver not counted. Both runs append the event to\n'
    printf '  the outbox in the write'"'"'s transaction: that part is not separable. %s)\n' "${OUT_DIR#"$BW_REPO"/}/write-cost.json"
}

[[ -z $ONLY ]] && report
if [[ " ${BW_SERVICES[*]} " == *" integrations "* ]]; then
    [[ -z $ONLY ]] && { webhook_bench || bw_warn "the webhook figure could not be measured"; }
    write_cost_bench || bw_warn "the added cost per write could not be measured"
fi
