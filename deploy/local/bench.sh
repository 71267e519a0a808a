#!/usr/bin/env bash
# `make bench`: measures the stack that `make run` started against nginx
# serving the same JSON as a static file, in the same run and on the same
# machine: wrk (2 threads, 64 connections, 10 s) against each, then the
# ratio of requests per second and the peak memory of every process, each
# beside its target. Then webhooks: events per second from the outbox to
# a receiver (tests/standins/webhook_receiver on 127.0.0.2, which make run
# allows). It reports and does not judge: it exits 0 unless the stack is
# not running or the measurement itself could not be made.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BULWARK_BENCH_DURATION:-10s}
BW_DATA=${BULWARK_DATA_DIR:-$BW_REPO/.bulwark}
BW_RUN_DIR=$BW_DATA/run
NGINX_PID=
RECEIVER_PID=
TMP=

not_running() {
    bw_err "the Bulwark stack is not running ($1)"
    echo "Start it with 'make run' in another terminal, then run 'make bench' again." >&2
    exit 1
}

cleanup() {
    if [[ -n $RECEIVER_PID ]]; then
        kill -TERM "$RECEIVER_PID" 2>/dev/null || true
        wait "$RECEIVER_PID" 2>/dev/null || true
    fi
    if [[ -n $NGINX_PID ]]; then
        kill -TERM "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
    fi
    [[ -n $TMP ]] && rm -rf "$TMP"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ -f $BW_RUN_DIR/stack.env ]] || not_running "no $BW_RUN_DIR/stack.env"
URL=$(bw_kv_get "$BW_RUN_DIR/stack.env" URL) || not_running "no URL in $BW_RUN_DIR/stack.env"
curl -fsS -o /dev/null --max-time 2 "$URL/healthz" 2>/dev/null || not_running "$URL/healthz does not answer"
API_KEY=$(bw_kv_get "$BW_DATA/demo-tenant.env" DEMO_API_KEY) || not_running "no demo API key in $BW_DATA"
declare -A PROC_PIDS=()
for name in gateway "${BW_SERVICES[@]}"; do
    pid=$(<"$BW_RUN_DIR/$name.pid") || not_running "no pid file for $name"
    bw_alive "$pid" || not_running "$name (pid $pid) is not running"
    PROC_PIDS[$name]=$pid
done

bw_deps_ensure "${BW_DEPS_BENCH[@]}"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-bench.XXXXXX")
chmod 755 "$TMP"
AUTH_HEADER="Authorization: Bearer $API_KEY"

# One entity, read back: the gateway serves it through scoping and
# PostgreSQL, nginx serves the same bytes from a file.
reply=$(curl -sS --max-time 10 -X POST -H @<(printf '%s\n' "$AUTH_HEADER") \
    -H 'Content-Type: application/json' \
    --data '{"name":"Bench GmbH","timeZone":"Europe/Berlin"}' "$URL/v1/entities") ||
    bw_die "POST $URL/v1/entities failed"
ENTITY_ID=$(jq -er '.id' <<<"$reply") || bw_die "unexpected reply to POST /v1/entities: $reply"
ENTITY_URL=$URL/v1/entities/$ENTITY_ID
mkdir -p "$TMP/www"
curl -fsS --max-time 10 -H @<(printf '%s\n' "$AUTH_HEADER") -o "$TMP/www/entity.json" "$ENTITY_URL" ||
    bw_die "GET $ENTITY_URL failed"

bw_free_port
NGINX_PORT=$BW_PORT
user_line=
bw_is_root && user_line='user root;'
# One process, no master: comparable with one gateway process, and its pid
# is the one that serves. Temp paths inside TMP: the compiled-in ones are
# under /var/lib/nginx.
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
        listen 127.0.0.1:$NGINX_PORT;
        location = /entity.json {
            root $TMP/www;
            default_type application/json;
        }
    }
}
EOF
/usr/sbin/nginx -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" &
NGINX_PID=$!
NGINX_URL=http://127.0.0.1:$NGINX_PORT/entity.json
for ((i = 0; i < 50; i++)); do
    curl -fsS -o /dev/null --max-time 1 "$NGINX_URL" 2>/dev/null && break
    bw_alive "$NGINX_PID" || break
    sleep 0.1
done
curl -fsS -o /dev/null --max-time 1 "$NGINX_URL" || {
    cat "$TMP/nginx-error.log" >&2
    bw_die "nginx did not start"
}

# to_ms VALUE-WITH-UNIT: wrk's 950.00us / 1.20ms / 1.01s in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000
        printf "%.3f", n }'
}

# bench NAME URL [HEADER]: runs wrk, sets RPS_<NAME>, P50_<NAME>, P99_<NAME>
# (milliseconds) and ERRORS_<NAME> (non-2xx/3xx responses and socket errors).
declare -A RPS=() P50=() P99=() ERRORS=()
bench() {
    local name=$1 url=$2 out
    shift 2
    bw_say "wrk -t2 -c64 -d$DURATION --latency $url"
    out=$(wrk -t2 -c64 -d"$DURATION" --latency "$@" "$url") || bw_die "wrk failed against $url"
    printf '%s\n' "$out" >"$TMP/wrk-$name.txt"
    RPS[$name]=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    P50[$name]=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    P99[$name]=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    ERRORS[$name]=$(awk '/Non-2xx or 3xx responses:/ { n += $NF } /Socket errors:/ { gsub(",", ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' <<<"$out")
}

bench nginx "$NGINX_URL"
bench gateway "$ENTITY_URL" -H "$AUTH_HEADER"

# mib PID: the process's peak resident set (VmHWM) in MiB.
mib() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo gone; }
# verdict EXPR: "ok" or "MISSED" for an awk condition.
verdict() { awk "BEGIN { print (($1) ? \"ok\" : \"MISSED\") }"; }

ratio=$(awk -v g="${RPS[gateway]}" -v n="${RPS[nginx]}" 'BEGIN { printf "%.2f", (n > 0) ? g / n : 0 }')
printf '\nBenchmark: GET one entity, wrk -t2 -c64 -d%s, same machine, same run\n' "$DURATION"
printf '  %-16s %12s %10s %10s %8s\n' "" "requests/s" "p50 ms" "p99 ms" "errors"
for name in nginx gateway; do
    printf '  %-16s %12s %10s %10s %8s\n' "$name" "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}" "${ERRORS[$name]}"
done
printf '\n  ratio gateway/nginx requests/s: %s   (target >= 0.20: %s)\n' "$ratio" "$(verdict "$ratio >= 0.20")"
printf '  gateway p99: %s ms   (target < 10 ms: %s)\n' "${P99[gateway]}" "$(verdict "${P99[gateway]} < 10")"
printf '  peak RSS (VmHWM):\n'
for name in gateway "${BW_SERVICES[@]}"; do
    rss=$(mib "${PROC_PIDS[$name]}")
    if [[ $rss == gone ]]; then
        bw_warn "$name (pid ${PROC_PIDS[$name]}) is no longer running"
        continue
    fi
    printf '    %-14s %7s MiB   (target < 32 MiB: %s)\n' "$name" "$rss" "$(verdict "$rss < 32")"
done
printf '    %-14s %7s MiB   (reference)\n' nginx "$(mib "$NGINX_PID")"
for name in nginx gateway; do
    if [[ ${ERRORS[$name]} != 0 ]]; then
        bw_warn "$name failed ${ERRORS[$name]} requests (an error status, perhaps rate limiting, or a socket error): its figures are not those of successful reads; wrk said:"
        sed 's/^/    /' "$TMP/wrk-$name.txt" >&2
    fi
done

# ---------------------------------------------------------------- webhooks

WEBHOOK_EVENTS=${BULWARK_BENCH_WEBHOOK_EVENTS:-5000}
WEBHOOK_RESOURCES=500
WEBHOOK_HOST=127.0.0.2

# webhook_bench: appends WEBHOOK_EVENTS events of WEBHOOK_RESOURCES incidents
# to the demo tenant's outbox in one transaction, as producers do, and times
# them until the receiver has answered every delivery 2xx. Says why and
# returns non-zero when it cannot measure.
webhook_bench() {
    local receiver=$BW_REPO/build/tests/standins/webhook_receiver line= hooks_port control_port i
    BW_BUILD_TARGETS=webhook_receiver bw_build "$BW_REPO/build" >/dev/null || return 1
    "$receiver" --host "$WEBHOOK_HOST" >"$TMP/receiver.out" 2>&1 &
    RECEIVER_PID=$!
    for ((i = 0; i < 50; i++)); do
        [[ -s $TMP/receiver.out ]] && read -r line <"$TMP/receiver.out" && break
        sleep 0.1
    done
    [[ $line =~ ^hooks=([0-9]+)\ control=([0-9]+)$ ]] || {
        bw_warn "the webhook receiver did not start: $line"
        return 1
    }
    hooks_port=${BASH_REMATCH[1]}
    control_port=${BASH_REMATCH[2]}
    local control=http://127.0.0.1:$control_port reply endpoint secret tenant
    reply=$(curl -sS --max-time 10 -X POST -H @<(printf '%s\n' "$AUTH_HEADER") \
        -H 'Content-Type: application/json' \
        --data "{\"url\":\"http://$WEBHOOK_HOST:$hooks_port/bench\",\"eventTypes\":[\"incident.updated\"],\"description\":\"make bench\"}" \
        "$URL/v1/webhook-endpoints") || return 1
    if ! endpoint=$(jq -er '.id' <<<"$reply") || ! secret=$(jq -er '.secret' <<<"$reply"); then
        bw_warn "could not create the bench's webhook endpoint: $reply"
        bw_warn "(make run allows plain http to $WEBHOOK_HOST; a stack started with another BULWARK_WEBHOOK_ALLOWED_CIDRS may not)"
        return 1
    fi
    curl -fsS --max-time 10 -o /dev/null -X POST "$control/config" \
        --data "{\"path\":\"/bench\",\"secrets\":[\"$secret\"]}" || return 1
    tenant=$(bw_kv_get "$BW_DATA/demo-tenant.env" DEMO_TENANT_ID) || return 1
    BW_PG_PORT=$(bw_kv_get "$BW_RUN_DIR/stack.env" PG_PORT) || return 1
    BW_PG_PASSWORD=$(bw_kv_get "$BW_DATA/secrets.env" PG_SUPERUSER_PASSWORD) || return 1
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
    curl -fsS --max-time 30 -o /dev/null -X DELETE -H @<(printf '%s\n' "$AUTH_HEADER") \
        "$URL/v1/webhook-endpoints/$endpoint" || bw_warn "could not delete the bench's endpoint $endpoint"
    printf '\nWebhooks: %s events of %s incidents, outbox to receiver, one endpoint\n' \
        "$WEBHOOK_EVENTS" "$WEBHOOK_RESOURCES"
    printf '  delivered %s (signatures valid: %s) in %s s: %s events/s\n' "$count" "$valid" \
        "$elapsed" "$(awk -v n="$count" -v t="$elapsed" 'BEGIN { printf "%.0f", (t > 0) ? n / t : 0 }')"
    printf '  (in flight: at most BULWARK_WEBHOOK_ENDPOINT_CONCURRENCY per endpoint, one per incident)\n'
}

if [[ " ${BW_SERVICES[*]} " == *" integrations "* ]]; then
    webhook_bench || bw_warn "the webhook figure could not be measured"
fi
