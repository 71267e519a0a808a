#!/usr/bin/env bash
# `make test`: for each build flavour (release, then ASan+UBSan) it builds,
# runs the unit tests, starts the whole stack on a throwaway cluster and free
# ports, runs the integration and end-to-end tests against it, and stops it,
# checking that every process exits 0 on SIGTERM (and, under the sanitizers,
# that no log holds a sanitizer report). It always cleans up, prints a
# summary ending in "N passed, N failed", and exits non-zero if anything
# failed. BULWARK_TEST_FLAVOURS (default "release asan") picks flavours;
# BULWARK_TEST_ONLY, a ctest -R expression, runs only the tests it matches
# (while working on one; CI runs them all).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FLAVOURS=${BULWARK_TEST_FLAVOURS:-release asan}
CTEST_SELECT=(--no-tests=error)
if [[ -n ${BULWARK_TEST_ONLY:-} ]]; then
    CTEST_SELECT=(-R "$BULWARK_TEST_ONLY" --no-tests=ignore)
fi
SANITIZER_REPORT='ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer'
RESULTS=()
PASSED=0
FAILED=0
TEMP_DIRS=()

# record NAME STATUS SECONDS: adds a line to the summary.
record() {
    if (($2 == 0)); then
        RESULTS+=("PASS  $1 (${3}s)")
        PASSED=$((PASSED + 1))
    else
        RESULTS+=("FAIL  $1 (${3}s)")
        FAILED=$((FAILED + 1))
    fi
}

# teardown: stops whatever the current flavour started and removes its
# throwaway data (and its cluster, wherever it lives).
teardown() {
    bw_procs_stop
    bw_pg_stop || true
    local dir
    for dir in "${TEMP_DIRS[@]}"; do rm -rf "$dir"; done
    TEMP_DIRS=()
}

summary() {
    local rc=$? line
    trap - EXIT INT TERM
    teardown
    if ((rc != 0 && FAILED == 0)); then
        RESULTS+=("FAIL  run interrupted or aborted (exit status $rc)")
        FAILED=$((FAILED + 1))
    fi
    printf '\nSummary (flavours: %s, %d s in all):\n' "$FLAVOURS" "$SECONDS"
    for line in "${RESULTS[@]}"; do printf '  %s\n' "$line"; done
    printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
    ((FAILED == 0 && rc == 0)) || exit 1
    exit 0
}
trap summary EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The webhook receiver stand-in listens on this loopback address, the only
# one plain-http webhooks may reach in the test stack.
WEBHOOK_HOST=127.0.0.2

# The end-to-end suites sign OIDC tokens with a key made for the run.
OIDC_ISSUER=https://idp.bulwark.test
OIDC_AUDIENCE=bulwark-api

# oidc_setup DIR: an RSA key (DIR/key.pem) for the suites to sign tokens
# with, and its public half as the gateway's JWKS (DIR/jwks.json).
oidc_setup() {
    local dir=$1 hex n
    mkdir -p "$dir" || return 1
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/key.pem" \
        2>/dev/null || return 1
    hex=$(openssl rsa -in "$dir/key.pem" -noout -modulus | cut -d= -f2) || return 1
    # The modulus in hex, as bytes, in unpadded base64url.
    # shellcheck disable=SC2001
    n=$(printf '%b' "$(sed 's/../\\x&/g' <<<"$hex")" | basenc --base64url -w0 | tr -d '=')
    printf '{"keys":[{"kty":"RSA","kid":"bulwark-test-1","alg":"RS256","use":"sig","n":"%s","e":"AQAB"}]}\n' \
        "$n" >"$dir/jwks.json"
}

# stack_up BUILD-DIR: a fresh cluster and stack on free ports, migrated.
stack_up() {
    local build=$1 data
    data=$(mktemp -d /tmp/bulwark-test.XXXXXX) || return 1
    TEMP_DIRS+=("$data")
    BW_STARTED=()
    BW_EXITS=()
    bw_data_setup "$data" || return 1
    [[ $BW_PG_HOME != "$BW_DATA" ]] && TEMP_DIRS+=("$BW_PG_HOME")
    bw_secrets_load || return 1
    bw_tls_setup || return 1
    bw_free_port || return 1
    BW_PG_PORT=$BW_PORT
    BW_FREE_PORTS=1 bw_stack_addrs || return 1
    bw_pg_init || return 1
    # A throwaway cluster need not survive a crash.
    BW_PG_OPTIONS='-c fsync=off -c full_page_writes=off' bw_pg_start || return 1
    bw_migrate "$build" || return 1
    oidc_setup "$BW_DATA/oidc" || return 1
    # The end-to-end suites check the rate limit, CORS and OIDC tokens with
    # these values, test_purge.c that the idempotency purge runs,
    # tests/e2e/test_limits.c the HTTP server's limits, kept short so that it
    # runs fast, test_webhooks.c webhooks with nine attempts a second apart,
    # over plain http to the receiver's address only; usage (requests, keys'
    # last use) is written every second; the deadline scheduler looks for
    # due alerts five times a second (tests/e2e/test_events.c); an inbound
    # route takes 20 events of a connection at once, then one a second
    # (tests/e2e/test_tickets.c).
    # JSON log lines: tests/e2e/test_observe.c finds a call's trace id in
    # a service's log.
    BULWARK_LOG_FORMAT=json \
    BULWARK_SCHEDULER_INTERVAL_MS=200 \
        BULWARK_INBOUND_RATE_PER_MIN=60 BULWARK_INBOUND_BURST=20 \
        BULWARK_RATE_LIMIT_RPS=50 BULWARK_RATE_LIMIT_BURST=100 BULWARK_IDEMPOTENCY_PURGE_SEC=1 \
        BULWARK_WEBHOOK_ALLOWED_CIDRS=$WEBHOOK_HOST/32 BULWARK_WEBHOOK_RETRY_SECONDS=1,1,1,1,1,1,1,1 \
        BULWARK_USAGE_FLUSH_SEC=1 \
        BULWARK_CORS_ORIGINS=https://app.example.test \
        BULWARK_OIDC_ISSUER=$OIDC_ISSUER BULWARK_OIDC_AUDIENCE=$OIDC_AUDIENCE \
        BULWARK_OIDC_JWKS_FILE="$BW_DATA/oidc/jwks.json" \
        BULWARK_MAX_CONNECTIONS=256 BULWARK_MAX_CONNECTIONS_PER_ADDRESS=128 BULWARK_HEADER_TIMEOUT_MS=1500 BULWARK_BODY_TIMEOUT_MS=3000 \
        BULWARK_KEEPALIVE_TIMEOUT_MS=5000 BULWARK_WRITE_TIMEOUT_MS=5000 \
        BULWARK_AUTH_FAILURES_PER_MIN=600 BULWARK_AUTH_FAILURE_BURST=50 \
        bw_stack_start "$build" 60
}

# shutdown_clean SANITIZE: stops the stack; true when every process exited
# 0 and, under the sanitizers, no log holds a report.
shutdown_clean() {
    local name ok=0 log
    bw_procs_stop
    for name in "${BW_STARTED[@]}"; do
        if [[ ${BW_EXITS[$name]:-} != 0 ]]; then
            bw_err "$name exited with status ${BW_EXITS[$name]:-unknown} on SIGTERM"
            bw_log_tail "$name" 40
            ok=1
        fi
    done
    if [[ $1 == 1 ]]; then
        for log in "$BW_LOG_DIR"/*.log; do
            if grep -Eq "$SANITIZER_REPORT" "$log"; then
                bw_err "sanitizer report in $log:"
                grep -E -A 30 "$SANITIZER_REPORT" "$log" | head -n 80 >&2
                ok=1
            fi
        done
    fi
    return "$ok"
}

# run_flavour NAME BUILD-DIR SANITIZE CMAKE-ARG...
run_flavour() {
    local name=$1 build=$2 sanitize=$3 start rc
    shift 3
    bw_say "flavour $name"
    start=$SECONDS
    rc=0
    bw_build "$build" "$@" || rc=$?
    if ((rc != 0)); then
        record "$name: build" 1 $((SECONDS - start))
        return 0
    fi

    start=$SECONDS
    rc=0
    ctest --test-dir "$build" -L unit "${CTEST_SELECT[@]}" --output-on-failure --timeout 300 || rc=$?
    record "$name: unit tests" "$rc" $((SECONDS - start))

    start=$SECONDS
    rc=0
    if stack_up "$build"; then
        (
            export BULWARK_TEST_DATABASE_URL BULWARK_TEST_ADMIN_DATABASE_URL \
                BULWARK_TEST_SUPERUSER_DATABASE_URL BULWARK_TEST_URL BULWARK_TEST_OPERATOR_TOKEN
            # Each process's login role, and scoping's as the default one.
            for process in "${BW_DB_PROCESSES[@]}"; do
                export "BULWARK_TEST_${process^^}_DATABASE_URL=$(bw_app_url "$process")"
            done
            BULWARK_TEST_DATABASE_URL=$(bw_app_url scoping)
            BULWARK_TEST_ADMIN_DATABASE_URL=$(bw_admin_url)
            BULWARK_TEST_SUPERUSER_DATABASE_URL=$(bw_superuser_url)
            BULWARK_TEST_URL=$(bw_addr_url "${BW_ADDRS[http]}")
            BULWARK_TEST_OPERATOR_TOKEN=$BW_OPERATOR_TOKEN
            export BULWARK_TEST_OIDC_KEY=$BW_DATA/oidc/key.pem BULWARK_TEST_OIDC_ISSUER=$OIDC_ISSUER \
                BULWARK_TEST_OIDC_AUDIENCE=$OIDC_AUDIENCE
            # The internal gRPC ports and certificates, for the trust-boundary suite.
            export BULWARK_TEST_TLS_DIR=$BW_TLS_DIR
            export BULWARK_TEST_WEBHOOK_HOST=$WEBHOOK_HOST
            # The key the integrations service seals with, for the rotation's
            # suite (tests/integration/test_reseal.c).
            export BULWARK_TEST_SECRETS_KEY=$BW_SECRETS_KEY
            for svc in "${BW_SERVICES[@]}"; do
                export "BULWARK_TEST_${svc^^}_ADDR=${BW_ADDRS[$svc]}"
                export "BULWARK_TEST_${svc^^}_METRICS_ADDR=${BW_METRICS_ADDRS[$svc]}"
            done
            # The processes' logs (<process>.log), JSON lines.
            export BULWARK_TEST_LOG_DIR=$BW_LOG_DIR
            # Their pids (<process>.pid): tests/e2e/test_tickets.c stops
            # incidents for a moment.
            export BULWARK_TEST_RUN_DIR=$BW_RUN_DIR
            ctest --test-dir "$build" -L 'integration|e2e' "${CTEST_SELECT[@]}" --output-on-failure --timeout 300
        ) || rc=$?
        record "$name: integration and e2e tests" "$rc" $((SECONDS - start))
        start=$SECONDS
        rc=0
        shutdown_clean "$sanitize" || rc=$?
        record "$name: clean shutdown" "$rc" $((SECONDS - start))
    else
        bw_err "the stack did not start; integration and e2e tests not run"
        record "$name: stack start-up (integration and e2e tests not run)" 1 $((SECONDS - start))
    fi
    teardown
}

bw_deps_ensure "${BW_DEPS[@]}" "${BW_DEPS_TEST[@]}"
bw_node_ensure

# Two runs on one work tree would build into the same directories: the
# second waits for the first.
exec 9>"/tmp/bulwark-test-$(printf '%s' "$BW_REPO" | cksum | cut -d' ' -f1).lock"
if ! flock -n 9; then
    bw_say "another make test runs on this work tree; waiting for it"
    flock 9
fi

for flavour in $FLAVOURS; do
    case $flavour in
    release)
        run_flavour release "$BW_REPO/build" 0 -DCMAKE_BUILD_TYPE=RelWithDebInfo
        ;;
    asan)
        # Every binary of this flavour, tests included, runs with these.
        export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
        export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
        if [[ -f $BW_REPO/tests/lsan.supp ]]; then
            export LSAN_OPTIONS=suppressions=$BW_REPO/tests/lsan.supp:print_suppressions=0
        fi
        run_flavour asan "$BW_REPO/build-asan" 1 -DCMAKE_BUILD_TYPE=Debug -DBULWARK_SANITIZE=ON
        unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
        ;;
    *)
        bw_err "unknown flavour '$flavour' in BULWARK_TEST_FLAVOURS (release, asan)"
        record "flavour $flavour" 1 0
        ;;
    esac
done
