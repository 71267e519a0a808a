# shellcheck shell=bash
# shellcheck disable=SC2034  # the BW_ variables are read by the scripts that source this
# Shared functions of the local scripts (run.sh, test.sh, bench.sh, build.sh):
# installing missing Debian packages, building, a private PostgreSQL 15 cluster
# that never touches the system's own, generated secrets kept in the data
# directory, migrations and the application role, and starting, watching and
# stopping the Bulwark processes. It is sourced, never run; callers set
# `set -euo pipefail` themselves. Functions return non-zero on failure and say
# why on stderr, so that callers can clean up before giving up.

BW_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)

# The gRPC backends, in start order (a service may call one listed before it),
# each with its default port, read from the services table
# (services/services.tsv; its first row, the gateway, is not a backend: it
# starts last, and its tenancy component migrates second, after common); a
# service takes part once its folder exists. Each NAME has its binary at
# <build>/services/NAME/bulwark-NAME, its migrations in
# services/NAME/migrations (component NAME) and its listen address in
# BULWARK_<NAME>_ADDR. BW_DB_PROCESSES: every process of the table, each of
# which connects to the database as its own role.
declare -A BW_SERVICE_PORTS=()
BW_SERVICES=()
BW_DB_PROCESSES=()
while IFS=$'\t' read -r bw_svc _ bw_port _; do
    [[ $bw_svc == '#'* || -z $bw_svc ]] && continue
    BW_DB_PROCESSES+=("$bw_svc")
    [[ $bw_svc == gateway ]] && continue
    BW_SERVICE_PORTS[$bw_svc]=$bw_port
    [[ -f $BW_REPO/services/$bw_svc/CMakeLists.txt ]] && BW_SERVICES+=("$bw_svc")
done <"$BW_REPO/services/services.tsv"
unset bw_svc bw_port

# Debian 12 packages needed to build, test and run Bulwark. Notes on the less
# obvious ones: libprotobuf-dev ships google/protobuf/*.proto, which
# protobuf-compiler only recommends; libgrpc-dev brings grpc.pc and, through its
# dependencies, abseil, re2 and c-ares; check pulls libsubunit-dev for check.pc;
# postgresql-15 gives initdb/pg_ctl under /usr/lib/postgresql/15/bin (its
# Debian cluster is never used); jq reads the API's JSON in these scripts.
BW_DEPS=(build-essential cmake pkg-config protobuf-compiler protobuf-c-compiler
    libprotobuf-c-dev libprotobuf-dev libgrpc-dev libevent-dev libjansson-dev
    libpq-dev libssl-dev libicu-dev check libcurl4-openssl-dev postgresql-15
    postgresql-client-15 curl ca-certificates openssl jq libxlsxwriter-dev)
# Only `make bench` needs these: wrk drives the load (its Lua scripts carry
# the bodies and print the results), nginx-light serves the same JSON from a
# file as the reference.
BW_DEPS_BENCH=(wrk nginx-light)
# `make bench` also builds grpc-gateway, the usual Go transcoder, to compare
# Bulwark's gateway with; without these it skips that part and says so.
# golang-go: the compiler (GOPATH mode, no module proxy); protoc-gen-go-1-3:
# protoc's Go plugin of the protobuf 1.3 API that grpc-gateway v1 uses;
# golang-grpc-gateway: protoc-gen-grpc-gateway, which generates the HTTP
# handlers from an HTTP rule file (grpc_api_configuration); the -dev
# packages are the Go sources it builds against: grpc-gateway's runtime,
# grpc-go and golang/protobuf (they pull genproto, x/net and the rest).
BW_DEPS_BENCH_PEER=(golang-go protoc-gen-go-1-3 golang-grpc-gateway
    golang-github-grpc-ecosystem-grpc-gateway-dev golang-google-grpc-dev golang-goprotobuf-dev)
# Only `make test` needs these: tests/apidocs/ opens the API reference and
# the pictures in headless Chromium; the suites read XLSX files back with
# unzip; tools/lint checks the C with clang-format.
BW_DEPS_TEST=(chromium unzip clang-format)
# Only `make test-ha` needs this: pg_auto_failover (pg_autoctl and the
# monitor's extension), which runs the primary, the synchronous standby and
# the monitor that promotes the standby when the primary dies.
BW_DEPS_HA=(postgresql-15-auto-failover)
# Only `make faults` needs this: wrk measures the peak the soak runs at.
BW_DEPS_FAULTS=(wrk)
# Only deploy/images/check.sh needs these: image trees, compose and manifests.
BW_DEPS_IMAGES=(debootstrap debian-archive-keyring binutils docker-compose python3-yaml)

BW_PG_BIN=${BW_PG_BIN:-/usr/lib/postgresql/15/bin}
BW_PG_SUPERUSER=bulwark
BW_DB_NAME=bulwark

bw_say() { printf '==> %s\n' "$*" >&2; }
bw_warn() { printf 'warning: %s\n' "$*" >&2; }
bw_err() { printf 'error: %s\n' "$*" >&2; }
bw_die() {
    bw_err "$*"
    exit 1
}

bw_is_root() { [[ $(id -u) -eq 0 ]]; }

# ---------------------------------------------------------------- packages

BW_APT_UPDATED=0

# bw_deps_ensure PKG...: installs the packages that are not installed yet.
# As root it installs them; otherwise it prints the command to run and fails.
bw_deps_ensure() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        bw_warn "dpkg-query not found: not a Debian system, assuming these are present: $*"
        return 0
    fi
    local -A have=()
    local line pkg missing=()
    while read -r pkg line; do
        [[ $line == installed ]] && have[$pkg]=1
    done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "$@" 2>/dev/null || true)
    for pkg in "$@"; do
        [[ -n ${have[$pkg]:-} ]] || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    if ! bw_is_root; then
        bw_err "missing Debian packages: ${missing[*]}"
        printf 'Install them with:\n  sudo apt-get install -y --no-install-recommends %s\n' "${missing[*]}" >&2
        return 1
    fi
    bw_say "installing ${missing[*]}"
    if ((BW_APT_UPDATED == 0)); then
        apt-get update -q || return 1
        BW_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# bw_node_ensure: Node.js 18 or later with npm. Building the gateway takes
# the API reference page's bundle from the npm registry
# (tools/npm/install.sh), and the checks of the contract, the reference page
# and the TypeScript client run on Node. A fresh Debian 12 gets its nodejs
# (18) and npm packages; a Node already installed with its own npm (such as
# NodeSource's, which conflicts with Debian's npm) is used as it is.
bw_node_ensure() {
    if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
        local major
        major=$(node -p 'process.versions.node.split(".")[0]') || return 1
        ((major >= 18)) && return 0
        bw_err "Node.js $(node --version) is too old: 18 or later is needed"
        return 1
    fi
    bw_deps_ensure nodejs npm
}

# ---------------------------------------------------------------- build

# bw_build DIR CMAKE-ARG...: configures DIR and builds in it the targets
# listed in BW_BUILD_TARGETS, or everything when that is empty.
bw_build() {
    local dir=$1 targets=()
    shift
    read -r -a targets <<<"${BW_BUILD_TARGETS:-}"
    bw_say "building ${targets[*]:-everything} in ${dir#"$BW_REPO"/}"
    cmake -S "$BW_REPO" -B "$dir" "$@" >/dev/null || return 1
    ((${#targets[@]} == 0)) || targets=(--target "${targets[@]}")
    cmake --build "$dir" -j"${BW_JOBS:-2}" "${targets[@]}"
}

# bw_binary_targets: prints the CMake targets of every program the stack runs.
bw_binary_targets() {
    local svc out="bulwarkctl bulwark-gateway"
    for svc in "${BW_SERVICES[@]}"; do out+=" bulwark-$svc"; done
    printf '%s\n' "$out"
}

# ---------------------------------------------------------------- data directory

# bw_data_setup DIR: creates the data directory and decides where the cluster
# lives. Sets BW_DATA, BW_LOG_DIR, BW_RUN_DIR, BW_PG_DIR and BW_PG_HOME (the
# directory holding BW_PG_DIR, to remove with the data when it is not inside
# it). PostgreSQL refuses to run as root, so as root it runs as `postgres`,
# which must be able to reach the cluster: a data directory under /root is
# not reachable, and then the cluster goes to /var/lib/bulwark/<hash>/pg.
bw_data_setup() {
    mkdir -p "$1" || return 1
    BW_DATA=$(cd "$1" && pwd -P)
    BW_LOG_DIR=$BW_DATA/logs
    BW_RUN_DIR=$BW_DATA/run
    mkdir -p "$BW_LOG_DIR" "$BW_RUN_DIR" || return 1
    chmod 700 "$BW_DATA" "$BW_LOG_DIR" "$BW_RUN_DIR"
    BW_PG_HOME=$BW_DATA
    if bw_is_root; then
        # postgres only needs to traverse the data directory to reach pg/;
        # access(2) on the deepest path checks every parent on the way.
        chmod 711 "$BW_DATA"
        if ! runuser -u postgres -- test -x "$BW_DATA"; then
            chmod 700 "$BW_DATA"
            local hash
            hash=$(printf '%s' "$BW_DATA" | sha256sum | cut -c1-12)
            BW_PG_HOME=/var/lib/bulwark/$hash
            bw_say "the postgres user cannot reach $BW_DATA (a parent is private):" \
                "the cluster lives in $BW_PG_HOME/pg instead"
            mkdir -p /var/lib/bulwark "$BW_PG_HOME" || return 1
            chmod 755 /var/lib/bulwark
            chown postgres:postgres "$BW_PG_HOME"
            chmod 700 "$BW_PG_HOME"
        fi
    fi
    BW_PG_DIR=$BW_PG_HOME/pg
}

# ---------------------------------------------------------------- secrets

bw_secret() { openssl rand -hex "${1:-24}"; }

# The processes that connect to the database (BW_DB_PROCESSES, from the
# services table), each as its own login role bulwark_app_<process>
# (deploy/app-role.sql) with its own password.
declare -A BW_APP_PASSWORDS=()

# bw_secrets_load: reads $BW_DATA/secrets.env, creating it on first use, and
# sets BW_PG_PASSWORD (the cluster's superuser), BW_OWNER_PASSWORD
# (bulwark_owner, which owns the database and migrates it),
# BW_APP_PASSWORDS[process] (each process's login role), BW_OPERATOR_TOKEN,
# BW_TOKEN_SECRET, BW_SECRETS_KEY (the key that seals secrets at rest, 32
# bytes in hex) and BW_SECRETS_KEY_PREVIOUS (empty, or while that key is
# rotated the one before it: SECRETS_KEY_PREVIOUS, written by hand, see
# services/integrations/README.md, "Rotating BULWARK_SECRETS_KEY"). A file from an earlier version gains the entries it lacks;
# nothing in it is changed. BULWARK_OPERATOR_TOKEN, when set, wins over the
# stored token. Values are hex, so they need no quoting in URLs or files.
# It also creates, on first use, the Ed25519 key the attestations service
# signs with and sets BW_SIGNING_KEY_FILE to it (replacing the file rotates
# the key; the service keeps every earlier public key in the database).
bw_secrets_load() {
    local file=$BW_DATA/secrets.env key process
    if [[ ! -f $file ]]; then
        if [[ -f $BW_PG_DIR/PG_VERSION ]]; then
            bw_err "the cluster in $BW_PG_DIR exists but $file, which holds its password, is missing"
            printf 'Remove %s to start over with an empty database.\n' "$BW_PG_DIR" >&2
            return 1
        fi
        (
            umask 077
            printf '# Generated by deploy/local on %s; keep private.\n' "$(date -u +%FT%TZ)"
            printf 'PG_SUPERUSER_PASSWORD=%s\n' "$(bw_secret)"
            printf 'OPERATOR_TOKEN=%s\n' "$(bw_secret 32)"
            printf 'TOKEN_SECRET=%s\n' "$(bw_secret 32)"
        ) >"$file.tmp" && mv "$file.tmp" "$file" || return 1
    fi
    chmod 600 "$file"
    # A hand-edited file may lack its last newline.
    [[ -z $(tail -c 1 "$file") ]] || printf '\n' >>"$file"
    for key in OWNER_PASSWORD "${BW_DB_PROCESSES[@]/#/APP_PASSWORD_}"; do
        key=${key^^}
        bw_kv_get "$file" "$key" >/dev/null && continue
        printf '%s=%s\n' "$key" "$(bw_secret)" >>"$file" || return 1
    done
    if ! bw_kv_get "$file" SECRETS_KEY >/dev/null; then
        printf 'SECRETS_KEY=%s\n' "$(bw_secret 32)" >>"$file" || return 1
    fi
    if ! { BW_PG_PASSWORD=$(bw_kv_get "$file" PG_SUPERUSER_PASSWORD) &&
        BW_OWNER_PASSWORD=$(bw_kv_get "$file" OWNER_PASSWORD) &&
        BW_OPERATOR_TOKEN=$(bw_kv_get "$file" OPERATOR_TOKEN) &&
        BW_TOKEN_SECRET=$(bw_kv_get "$file" TOKEN_SECRET) &&
        BW_SECRETS_KEY=$(bw_kv_get "$file" SECRETS_KEY); }; then
        bw_err "$file is incomplete; restore it or remove the data directory"
        return 1
    fi
    for process in "${BW_DB_PROCESSES[@]}"; do
        BW_APP_PASSWORDS[$process]=$(bw_kv_get "$file" "APP_PASSWORD_${process^^}") || return 1
    done
    BW_SECRETS_KEY_PREVIOUS=$(bw_kv_get "$file" SECRETS_KEY_PREVIOUS) || BW_SECRETS_KEY_PREVIOUS=
    BW_OPERATOR_TOKEN=${BULWARK_OPERATOR_TOKEN:-$BW_OPERATOR_TOKEN}
    BW_SIGNING_KEY_FILE=$BW_DATA/keys/attestations-ed25519.pem
    if [[ ! -f $BW_SIGNING_KEY_FILE ]]; then
        mkdir -p "$BW_DATA/keys" || return 1
        chmod 700 "$BW_DATA/keys"
        (
            umask 077
            openssl genpkey -algorithm ed25519 -out "$BW_SIGNING_KEY_FILE.tmp"
        ) && mv "$BW_SIGNING_KEY_FILE.tmp" "$BW_SIGNING_KEY_FILE" || return 1
    fi
    chmod 600 "$BW_SIGNING_KEY_FILE"
}

# ---------------------------------------------------------------- internal TLS

# bw_tls_setup: the private CA and one certificate per process in
# $BW_DATA/tls (deploy/tls/make-certs.sh: made on first use, renewed 30 days
# before they expire). Sets BW_TLS_DIR.
bw_tls_setup() {
    BW_TLS_DIR=$BW_DATA/tls
    "$BW_REPO/deploy/tls/make-certs.sh" "$BW_TLS_DIR" gateway "${BW_SERVICES[@]}" || {
        bw_err "could not make the internal TLS certificates in $BW_TLS_DIR"
        return 1
    }
}

# bw_tls_env NAME: prints the TLS settings of process NAME, one VAR=VALUE a line.
bw_tls_env() {
    printf 'BULWARK_TLS_CA_FILE=%s\nBULWARK_TLS_CERT_FILE=%s\nBULWARK_TLS_KEY_FILE=%s\n' \
        "$BW_TLS_DIR/ca.pem" "$BW_TLS_DIR/$1.pem" "$BW_TLS_DIR/$1.key"
}

# ---------------------------------------------------------------- ports

# bw_port_in_use PORT: true when a program on this machine listens on TCP
# PORT. Only listening sockets count: the TIME-WAIT connections a stopped
# stack leaves behind for a minute do not keep a server from binding the
# port again (every Bulwark process and PostgreSQL set SO_REUSEADDR).
bw_port_in_use() {
    if command -v ss >/dev/null 2>&1; then
        [[ -n $(ss -Htln "( sport = :$1 )" 2>/dev/null) ]]
    else
        (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

BW_TAKEN_PORTS=" "

# bw_free_port: prints a free port in 20000-29999 (below the kernel's
# ephemeral range) that this run has not handed out yet. Must not run in a
# subshell, or it would forget what it handed out: it sets BW_PORT.
bw_free_port() {
    local try port
    for ((try = 0; try < 200; try++)); do
        port=$((20000 + RANDOM % 10000))
        [[ $BW_TAKEN_PORTS == *" $port "* ]] && continue
        bw_port_in_use "$port" && continue
        BW_TAKEN_PORTS+="$port "
        BW_PORT=$port
        return 0
    done
    bw_err "no free TCP port found in 20000-29999"
    return 1
}

# bw_addr_port HOST:PORT: prints PORT.
bw_addr_port() { printf '%s\n' "${1##*:}"; }

# bw_addr_url HOST:PORT: prints the http:// URL a client on this machine uses.
bw_addr_url() {
    local host=${1%:*}
    [[ $host == 0.0.0.0 || -z $host ]] && host=127.0.0.1
    printf 'http://%s:%s\n' "$host" "${1##*:}"
}

# ---------------------------------------------------------------- PostgreSQL

# Runs a command as the owner of the cluster.
bw_pg_as_owner() {
    if bw_is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# bw_psql DB ARG...: psql as the superuser of our cluster on BW_PG_PORT.
bw_psql() {
    local db=$1
    shift
    PGPASSWORD=$BW_PG_PASSWORD "$BW_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
        -h 127.0.0.1 -p "$BW_PG_PORT" -U "$BW_PG_SUPERUSER" -d "$db" "$@"
}

# bw_pg_init: creates the cluster on first use (superuser `bulwark`,
# scram-sha-256, UTF8, no locale), listening on 127.0.0.1 only, no socket.
bw_pg_init() {
    [[ -f $BW_PG_DIR/PG_VERSION ]] && return 0
    [[ -x $BW_PG_BIN/initdb ]] || {
        bw_err "$BW_PG_BIN/initdb not found (Debian package postgresql-15)"
        return 1
    }
    bw_say "creating the PostgreSQL cluster in $BW_PG_DIR"
    mkdir -p "$BW_PG_DIR" || return 1
    chmod 700 "$BW_PG_DIR"
    # Beside the cluster, where its owner can read it (not in TMPDIR, which
    # may be private to root).
    local pwfile=$BW_PG_HOME/.initdb-password
    (umask 077 && printf '%s\n' "$BW_PG_PASSWORD" >"$pwfile") || return 1
    if bw_is_root; then
        chown postgres:postgres "$BW_PG_DIR" "$pwfile"
    fi
    local rc=0
    bw_pg_as_owner "$BW_PG_BIN/initdb" -D "$BW_PG_DIR" -U "$BW_PG_SUPERUSER" \
        --pwfile="$pwfile" --auth=scram-sha-256 -E UTF8 --no-locale --no-instructions \
        >"$BW_LOG_DIR/initdb.log" 2>&1 || rc=$?
    rm -f "$pwfile"
    if ((rc != 0)); then
        bw_err "initdb failed; its output:"
        tail -n 20 "$BW_LOG_DIR/initdb.log" >&2
        return 1
    fi
    printf "\n# Added by deploy/local: loopback only, no Unix socket; the port is\n# given at each start.\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n" |
        bw_pg_as_owner tee -a "$BW_PG_DIR/postgresql.conf" >/dev/null
}

# bw_pg_running: true when our cluster's postmaster is alive.
bw_pg_running() {
    bw_pg_as_owner "$BW_PG_BIN/pg_ctl" -D "$BW_PG_DIR" status >/dev/null 2>&1
}

# bw_pg_postmaster_pid: prints the postmaster's pid from postmaster.pid.
bw_pg_postmaster_pid() {
    local pid
    { read -r pid <"$BW_PG_DIR/postmaster.pid"; } 2>/dev/null || return 1
    printf '%s\n' "$pid"
}

BW_PG_STARTED=0

# bw_pg_start: starts the cluster on BW_PG_PORT, with the extra server
# options in BW_PG_OPTIONS, and creates the bulwark database if missing. The
# server's output goes to $BW_LOG_DIR/postgres.log, a file this user opens, so
# it works whoever owns the cluster.
bw_pg_start() {
    local log=$BW_LOG_DIR/postgres.log exists
    if bw_pg_running; then
        # Callers hold the data directory alone, so this is a cluster an
        # interrupted run left behind, perhaps on another port: restart it.
        bw_say "PostgreSQL was left running in $BW_PG_DIR; restarting it"
        bw_pg_as_owner "$BW_PG_BIN/pg_ctl" -D "$BW_PG_DIR" -m fast -w -t 60 stop >>"$log" 2>&1 || return 1
    fi
    if bw_port_in_use "$BW_PG_PORT"; then
        bw_err "port $BW_PG_PORT is in use by another program; set BULWARK_PG_PORT to a free port"
        return 1
    fi
    bw_say "starting PostgreSQL on 127.0.0.1:$BW_PG_PORT"
    printf '\n=== %s start\n' "$(date -u +%FT%TZ)" >>"$log"
    # pg_ctl puts the postmaster in its own session: Ctrl-C reaches only us.
    if ! bw_pg_as_owner "$BW_PG_BIN/pg_ctl" -D "$BW_PG_DIR" -w -t 60 \
        -o "-p $BW_PG_PORT ${BW_PG_OPTIONS:-}" start >>"$log" 2>&1; then
        bw_err "PostgreSQL did not start; the end of $log:"
        tail -n 20 "$log" >&2
        return 1
    fi
    BW_PG_STARTED=1
    exists=$(bw_psql postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = '$BW_DB_NAME'") || return 1
    if [[ $exists != 1 ]]; then
        bw_psql postgres -c "CREATE DATABASE $BW_DB_NAME OWNER $BW_PG_SUPERUSER ENCODING 'UTF8'" || return 1
    fi
}

# bw_pg_stop: stops the cluster if this run started it.
bw_pg_stop() {
    ((BW_PG_STARTED == 1)) || return 0
    bw_say "stopping PostgreSQL"
    BW_PG_STARTED=0
    bw_pg_running || return 0
    bw_pg_as_owner "$BW_PG_BIN/pg_ctl" -D "$BW_PG_DIR" -m fast -w -t 60 stop \
        >>"$BW_LOG_DIR/postgres.log" 2>&1
}

# The roles' URLs: the cluster's superuser (creates the owner; tests that
# tamper), bulwark_owner (NOSUPERUSER NOBYPASSRLS CREATEROLE, as on managed
# PostgreSQL: owns the database and migrates it), and a process's login role.
# They name 127.0.0.1:BW_PG_PORT, or, when BW_PG_HOSTS lists several
# HOST:PORT (make test-ha's primary and standby), all of them with
# target_session_attrs=read-write: libpq tries each in turn and keeps the
# one that accepts writes, which after a failover is the new primary.
bw_pg_url() {
    local hosts=127.0.0.1:$BW_PG_PORT params=
    if [[ -n ${BW_PG_HOSTS:-} ]]; then
        hosts=$BW_PG_HOSTS
        params='?target_session_attrs=read-write'
    fi
    printf 'postgresql://%s:%s@%s/%s%s\n' "$1" "$2" "$hosts" "$BW_DB_NAME" "$params"
}
bw_superuser_url() { bw_pg_url "$BW_PG_SUPERUSER" "$BW_PG_PASSWORD"; }
bw_admin_url() { bw_pg_url bulwark_owner "$BW_OWNER_PASSWORD"; }
# bw_app_url PROCESS: the URL of bulwark_app_PROCESS (gateway, scoping, ...).
bw_app_url() { bw_pg_url "bulwark_app_$1" "${BW_APP_PASSWORDS[$1]}"; }

# bw_migration_components: prints COMPONENT=DIR (DIR relative to the
# repository) for every component with migrations, in the order they apply:
# common, tenancy (the gateway's), then the services. The images ship the
# same list (deploy/collect-migrations.sh).
bw_migration_components() {
    local svc
    printf 'common=common/migrations\ntenancy=services/gateway/migrations\n'
    for svc in "${BW_SERVICES[@]}"; do
        [[ -d $BW_REPO/services/$svc/migrations ]] && printf '%s=services/%s/migrations\n' "$svc" "$svc"
    done
    return 0
}

# bw_migrate BUILD-DIR: creates or updates the owner role as the superuser,
# applies every component's migrations in order as the owner, then creates or
# updates each process's login role (deploy/migrate.sh, the same script the
# containers run).
bw_migrate() {
    local build=$1 comp comps=() process passwords=()
    while read -r comp; do
        comps+=("${comp%%=*}=$BW_REPO/${comp#*=}")
    done < <(bw_migration_components)
    [[ -x $build/tools/bulwarkctl/bulwarkctl ]] || {
        bw_err "$build/tools/bulwarkctl/bulwarkctl is missing; did the build succeed?"
        return 1
    }
    for process in "${BW_DB_PROCESSES[@]}"; do
        passwords+=("BULWARK_APP_PASSWORD_${process^^}=${BW_APP_PASSWORDS[$process]}")
    done
    bw_say "migrating ${comps[*]%%=*}"
    env BULWARK_SUPERUSER_DATABASE_URL="$(bw_superuser_url)" BULWARK_OWNER_PASSWORD="$BW_OWNER_PASSWORD" \
        BULWARK_ADMIN_DATABASE_URL="$(bw_admin_url)" "${passwords[@]}" \
        BULWARKCTL="$build/tools/bulwarkctl/bulwarkctl" PSQL="$BW_PG_BIN/psql" \
        "$BW_REPO/deploy/migrate.sh" "${comps[@]}" >>"$BW_LOG_DIR/migrate.log" 2>&1 || {
        bw_err "migration failed; the end of $BW_LOG_DIR/migrate.log:"
        tail -n 30 "$BW_LOG_DIR/migrate.log" >&2
        return 1
    }
}

# ---------------------------------------------------------------- processes

declare -A BW_PIDS=()  # name -> pid of a running process
declare -A BW_EXITS=() # name -> exit status once stopped
BW_STARTED=()          # names in start order
declare -A BW_CMDS=()  # name -> its bw_proc_start arguments, quoted, to start it again

# bw_alive PID: true while PID runs (a zombie counts as dead).
bw_alive() {
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# bw_proc_start NAME VAR=VALUE... -- COMMAND...: starts COMMAND in the
# background in its own session (so Ctrl-C reaches only the script, which
# then stops it with SIGTERM), with the variables exported (not on its
# command line), its output appended to $BW_LOG_DIR/NAME.log.
bw_proc_start() {
    local name=$1 log=$BW_LOG_DIR/$1.log
    shift
    local vars=()
    while [[ $1 != -- ]]; do
        vars+=("$1")
        shift
    done
    shift
    BW_CMDS[$name]=$(printf '%q ' "${vars[@]}" -- "$@")
    printf '\n=== %s start\n' "$(date -u +%FT%TZ)" >>"$log"
    (
        for v in "${vars[@]}"; do export "${v?}"; done
        exec setsid "$@" </dev/null >>"$log" 2>&1 9>&-
    ) &
    BW_PIDS[$name]=$!
    [[ " ${BW_STARTED[*]} " == *" $name "* ]] || BW_STARTED+=("$name")
    printf '%s\n' "$!" >"$BW_RUN_DIR/$name.pid"
}

# bw_proc_stop NAME [TIMEOUT]: SIGTERM, waits up to TIMEOUT seconds (10),
# then SIGKILL; records the exit status in BW_EXITS[NAME].
bw_proc_stop() {
    local name=$1 limit=$((${2:-10} * 10)) pid=${BW_PIDS[$1]:-} i status=0
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < limit; i++)); do
        bw_alive "$pid" || break
        sleep 0.1
    done
    if bw_alive "$pid"; then
        bw_warn "$name did not stop within ${2:-10} s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || status=$?
    BW_EXITS[$name]=$status
    unset "BW_PIDS[$name]"
    rm -f "$BW_RUN_DIR/$name.pid"
}

# bw_procs_stop_stale: stops the Bulwark processes whose pid files an
# interrupted run left in $BW_RUN_DIR.
bw_procs_stop_stale() {
    local file pid cmd i
    for file in "$BW_RUN_DIR"/*.pid; do
        [[ -f $file && $file != */run.pid ]] || continue
        pid=$(<"$file")
        cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || cmd=
        if [[ $pid =~ ^[0-9]+$ && $cmd == */bulwark-* ]] && bw_alive "$pid"; then
            bw_say "stopping $(basename "$file" .pid) (pid $pid), left running by an earlier run"
            kill -TERM "$pid" 2>/dev/null || true
            for ((i = 0; i < 100; i++)); do
                bw_alive "$pid" || break
                sleep 0.1
            done
            bw_alive "$pid" && kill -KILL "$pid" 2>/dev/null
        fi
        rm -f "$file"
    done
}

# bw_procs_stop: stops every process this run started, last started first.
bw_procs_stop() {
    local i
    for ((i = ${#BW_STARTED[@]} - 1; i >= 0; i--)); do
        bw_proc_stop "${BW_STARTED[i]}"
    done
}

# bw_log_tail NAME [LINES]: the end of a process's log since its last start,
# indented. Only the log's last MiB is read, and only LINES kept: a log of
# a long-running stack grows to gigabytes, and the supervisor shows this
# before it starts the process again.
bw_log_tail() {
    local log=$BW_LOG_DIR/$1.log
    [[ -f $log ]] || return 0
    printf -- '--- the end of %s:\n' "$log" >&2
    tail -c 1048576 "$log" | awk -v max="${2:-25}" '
        /^=== .* start$/ { n = 0; next }
        { line[n % max] = $0; n++ }
        END { for (i = (n > max ? n - max : 0); i < n; i++) print "    " line[i % max] }' >&2
}

# bw_logs_trim: keeps the logs in BW_LOG_DIR bounded while make run runs.
# A log over BULWARK_LOG_MAX_MB MiB (256) keeps its last sixteenth in
# <name>.log.1, replacing the one before, and starts again empty with a
# line saying so. The processes (and PostgreSQL) write through descriptors
# opened for appending, so their next line lands at the new start; a line
# written while the tail is copied may be lost.
bw_logs_trim() {
    local max=${BULWARK_LOG_MAX_MB:-256} log size
    [[ $max =~ ^[1-9][0-9]{0,6}$ ]] || {
        bw_err "BULWARK_LOG_MAX_MB must be a number of MiB, 1 or more: $max"
        return 1
    }
    for log in "$BW_LOG_DIR"/*.log; do
        [[ -f $log ]] || continue
        size=$(stat -c %s "$log" 2>/dev/null) || continue
        ((size > max * 1048576)) || continue
        tail -c $((max * 65536)) "$log" >"$log.1.tmp" && mv -f "$log.1.tmp" "$log.1"
        : >"$log"
        printf '=== %s trimmed at %d MiB; the end before is in %s.1\n' "$(date -u +%FT%TZ)" \
            "$max" "${log##*/}" >>"$log"
    done
}

# ---------------------------------------------------------------- supervision

# What `make run` does when a process dies: it starts it again after a wait
# that doubles from BW_RESTART_MIN_SEC to BW_RESTART_MAX_SEC while the
# process keeps dying, and falls back to the shortest once it has stayed up
# BW_RESTART_RESET_SEC. The others keep serving meanwhile (the gateway
# answers 503 for the routes of a service that is down).
BW_RESTART_MIN_SEC=${BULWARK_RESTART_MIN_SEC:-1}
BW_RESTART_MAX_SEC=${BULWARK_RESTART_MAX_SEC:-30}
BW_RESTART_RESET_SEC=60
declare -A BW_DOWN_SINCE=() # name -> SECONDS when it was found dead
declare -A BW_BACKOFF=()    # name -> the wait before its next start
declare -A BW_UP_SINCE=()   # name -> SECONDS of its last start
BW_RESTARTS=0               # processes started again, in all

# bw_restart NAME: starts NAME again, as bw_proc_start first started it.
bw_restart() {
    local name=$1 args
    eval "args=(${BW_CMDS[$name]})"
    bw_proc_start "$name" "${args[@]}"
    BW_UP_SINCE[$name]=$SECONDS
    BW_RESTARTS=$((BW_RESTARTS + 1))
}

# bw_supervise: one round of supervision, to call about once a second. A
# process found dead is logged (with its log's end) and started again once
# its back-off has passed; the back-off of one that stayed up long enough
# is reset.
bw_supervise() {
    local name pid status wait
    for name in "${BW_STARTED[@]}"; do
        pid=${BW_PIDS[$name]:-}
        if [[ -n $pid ]] && bw_alive "$pid"; then
            if ((SECONDS - ${BW_UP_SINCE[$name]:-0} >= BW_RESTART_RESET_SEC)); then
                BW_BACKOFF[$name]=$BW_RESTART_MIN_SEC
            fi
            continue
        fi
        if [[ -n $pid ]]; then
            status=0
            wait "$pid" 2>/dev/null || status=$?
            unset "BW_PIDS[$name]"
            BW_DOWN_SINCE[$name]=$SECONDS
            wait=${BW_BACKOFF[$name]:-$BW_RESTART_MIN_SEC}
            bw_err "$name (pid $pid) exited with status $status; starting it again in $wait s"
            bw_log_tail "$name" 15
            continue
        fi
        wait=${BW_BACKOFF[$name]:-$BW_RESTART_MIN_SEC}
        ((SECONDS - ${BW_DOWN_SINCE[$name]:-0} >= wait)) || continue
        BW_BACKOFF[$name]=$((wait * 2 > BW_RESTART_MAX_SEC ? BW_RESTART_MAX_SEC : wait * 2))
        bw_say "starting $name again"
        bw_restart "$name"
    done
}

BW_PG_DOWN_SINCE=-1
BW_PG_BACKOFF=$BW_RESTART_MIN_SEC

# bw_pg_supervise: keeps the cluster this run started running. A restart
# from outside (pg_ctl restart) is left alone: the cluster must be down for
# 3 s before it is started again, then with the same back-off as the
# processes. The processes reconnect on their own.
bw_pg_supervise() {
    ((BW_PG_STARTED == 1)) || return 0
    local pm
    if pm=$(bw_pg_postmaster_pid) && bw_alive "$pm"; then
        if ((BW_PG_DOWN_SINCE >= 0)); then
            bw_say "PostgreSQL is up again (pid $pm)"
            BW_PG_DOWN_SINCE=-1
        fi
        return 0
    fi
    if ((BW_PG_DOWN_SINCE < 0)); then
        BW_PG_DOWN_SINCE=$SECONDS
        bw_err "PostgreSQL is not running; the end of $BW_LOG_DIR/postgres.log:"
        tail -n 5 "$BW_LOG_DIR/postgres.log" >&2
        return 0
    fi
    ((SECONDS - BW_PG_DOWN_SINCE >= 3 + BW_PG_BACKOFF)) || return 0
    bw_say "starting PostgreSQL again"
    if bw_pg_as_owner "$BW_PG_BIN/pg_ctl" -D "$BW_PG_DIR" -w -t 60 \
        -o "-p $BW_PG_PORT ${BW_PG_OPTIONS:-}" start >>"$BW_LOG_DIR/postgres.log" 2>&1; then
        BW_PG_BACKOFF=$BW_RESTART_MIN_SEC
        BW_RESTARTS=$((BW_RESTARTS + 1))
    else
        bw_err "PostgreSQL did not start; trying again in $((BW_PG_BACKOFF * 2)) s"
        BW_PG_DOWN_SINCE=$SECONDS
        BW_PG_BACKOFF=$((BW_PG_BACKOFF * 2 > BW_RESTART_MAX_SEC ? BW_RESTART_MAX_SEC : BW_PG_BACKOFF * 2))
    fi
}

# bw_first_dead: prints the name of a started process that has exited.
bw_first_dead() {
    local name
    for name in "${!BW_PIDS[@]}"; do
        if ! bw_alive "${BW_PIDS[$name]}"; then
            printf '%s\n' "$name"
            return 0
        fi
    done
    return 1
}

# ---------------------------------------------------------------- the stack

# bw_stack_addrs: sets the listen addresses, from the BULWARK_*_ADDR variables
# or the defaults (HTTP 127.0.0.1:8080, tenancy :50050, services :50051...),
# and each service's /metrics address (BW_METRICS_ADDRS), from
# BULWARK_<SERVICE>_METRICS_ADDR or its gRPC port + 1000 (the services'
# own default). The gateway's /metrics is on its HTTP port. With
# BW_FREE_PORTS=1 every one is a free port instead.
declare -A BW_ADDRS=()
declare -A BW_METRICS_ADDRS=()
bw_stack_addrs() {
    local i svc var
    for ((i = 0; i < ${#BW_SERVICES[@]}; i++)); do
        svc=${BW_SERVICES[i]}
        var=BULWARK_${svc^^}_ADDR
        BW_ADDRS[$svc]=${!var:-127.0.0.1:${BW_SERVICE_PORTS[$svc]}}
    done
    BW_ADDRS[tenancy]=${BULWARK_TENANCY_ADDR:-127.0.0.1:50050}
    BW_ADDRS[http]=${BULWARK_HTTP_ADDR:-127.0.0.1:8080}
    if [[ ${BW_FREE_PORTS:-0} == 1 ]]; then
        for var in "${!BW_ADDRS[@]}"; do
            bw_free_port || return 1
            BW_ADDRS[$var]=127.0.0.1:$BW_PORT
        done
    fi
    for svc in "${BW_SERVICES[@]}"; do
        var=BULWARK_${svc^^}_METRICS_ADDR
        if [[ ${BW_FREE_PORTS:-0} == 1 ]]; then
            bw_free_port || return 1
            BW_METRICS_ADDRS[$svc]=127.0.0.1:$BW_PORT
        else
            BW_METRICS_ADDRS[$svc]=${!var:-127.0.0.1:$(($(bw_addr_port "${BW_ADDRS[$svc]}") + 1000))}
        fi
    done
}

# bw_reserve_ports: keeps the kernel from handing the stack's listen ports
# (BW_ADDRS, BW_METRICS_ADDRS and PostgreSQL's) to outgoing connections as
# their source port. The defaults (50050-50055, 51051-51055, 55432) lie in
# Linux's ephemeral range (32768-60999 on Debian): a connection one process
# makes to PostgreSQL or to another service can take one of them before the
# process that listens there has started (or been restarted), whose bind
# then fails with "Address already in use" (seen once: attestations on
# 50054, while the services before it connected). As root, the ports in
# that range join net.ipv4.ip_local_reserved_ports, beside whatever was
# reserved already, until the next boot; otherwise a warning says how.
bw_reserve_ports() {
    local file=/proc/sys/net/ipv4/ip_local_reserved_ports lo hi addr port ports=() list current
    { read -r lo hi </proc/sys/net/ipv4/ip_local_port_range; } 2>/dev/null || return 0
    for addr in "${BW_ADDRS[@]}" "${BW_METRICS_ADDRS[@]}" "127.0.0.1:$BW_PG_PORT"; do
        port=$(bw_addr_port "$addr")
        ((port >= lo && port <= hi)) && ports+=("$port")
    done
    ((${#ports[@]} > 0)) || return 0
    list=$(
        IFS=,
        printf '%s' "${ports[*]}"
    )
    current=$(<"$file") || return 0
    if bw_is_root && { printf '%s\n' "${current:+$current,}$list" >"$file"; } 2>/dev/null; then
        return 0
    fi
    bw_warn "ports $list lie in the kernel's ephemeral range ($lo-$hi), where an outgoing" \
        "connection may take one before its server starts; as root:" \
        "sysctl -w net.ipv4.ip_local_reserved_ports=${current:+$current,}$list"
}

# bw_cpu_pin NAME: the command prefix that keeps every thread of process
# NAME on a CPU of its own (taskset -c N chrt --batch 0), none when
# BULWARK_PIN_CPUS is off, the script may run on only one CPU, or those CPUs
# are all taken. The processes take the CPUs the script may run on
# (Cpus_allowed_list) in the order of services/services.tsv: on 2 CPUs the
# gateway gets the first and scoping the second (the read path), and the
# others run where the scheduler puts them; from 6 CPUs on every process has
# one. A thread waking another of the same process (the gateway's event loop
# and its RPC poller, gRPC's pollers and a service's workers) then wakes it
# on the same CPU, without an interprocessor interrupt, which costs most on
# a virtual machine. Two pinned processes never share a CPU: one busy would
# hold up the other. A pinned process runs under SCHED_BATCH (chrt --batch):
# a thread it wakes waits for the running one to block instead of preempting
# it, so the event loop, the poller and the workers take their turns without
# a context switch per hand-off (docs/DESIGN.md, "Performance as measured").
bw_cpu_pin() {
    local cpus=() parts=() part list i
    [[ ${BULWARK_PIN_CPUS:-auto} == auto ]] || return 0
    # The CPUs this script may run on (a container's or a cgroup's CPU set
    # need not start at 0), "0-3,8" expanded.
    list=$(awk '/^Cpus_allowed_list:/ {print $2}' /proc/self/status)
    IFS=, read -r -a parts <<<"$list"
    for part in "${parts[@]}"; do
        if [[ $part =~ ^([0-9]+)-([0-9]+)$ ]]; then
            for ((i = BASH_REMATCH[1]; i <= BASH_REMATCH[2]; i++)); do cpus+=("$i"); done
        elif [[ $part =~ ^[0-9]+$ ]]; then
            cpus+=("$part")
        fi
    done
    ((${#cpus[@]} > 1)) || return 0
    for i in "${!BW_DB_PROCESSES[@]}"; do
        if [[ ${BW_DB_PROCESSES[$i]} == "$1" ]]; then
            ((i < ${#cpus[@]})) && printf '%s\n' taskset -c "${cpus[$i]}" chrt --batch 0
            return 0
        fi
    done
}

# bw_stack_start BUILD-DIR [READY-TIMEOUT]: starts the services then the
# gateway, and waits until /readyz answers 200 (30 s by default).
bw_stack_start() {
    local build=$1 timeout=${2:-30} svc bin name common=() addrs=() pin
    if [[ ${BULWARK_PIN_CPUS:-auto} != @(auto|off) ]]; then
        bw_err "BULWARK_PIN_CPUS must be auto or off, not '$BULWARK_PIN_CPUS'"
        return 1
    fi
    for name in "${!BW_ADDRS[@]}"; do
        [[ $name == http ]] && continue
        addrs+=("BULWARK_${name^^}_ADDR=${BW_ADDRS[$name]}")
        if bw_port_in_use "$(bw_addr_port "${BW_ADDRS[$name]}")"; then
            bw_err "${BW_ADDRS[$name]} ($name) is already in use; set BULWARK_${name^^}_ADDR"
            return 1
        fi
    done
    if bw_port_in_use "$(bw_addr_port "${BW_ADDRS[http]}")"; then
        bw_err "${BW_ADDRS[http]} is already in use; set BULWARK_HTTP_ADDR"
        return 1
    fi
    for name in "${!BW_METRICS_ADDRS[@]}"; do
        if bw_port_in_use "$(bw_addr_port "${BW_METRICS_ADDRS[$name]}")"; then
            bw_err "${BW_METRICS_ADDRS[$name]} ($name's /metrics) is already in use; set BULWARK_${name^^}_METRICS_ADDR"
            return 1
        fi
    done
    common=("BULWARK_TOKEN_SECRET=$BW_TOKEN_SECRET"
        "BULWARK_SIGNING_KEY_FILE=$BW_SIGNING_KEY_FILE"
        "BULWARK_LOG_LEVEL=${BULWARK_LOG_LEVEL:-info}" "BULWARK_LOG_FORMAT=${BULWARK_LOG_FORMAT:-text}"
        "${addrs[@]}")
    for svc in "${BW_SERVICES[@]}" gateway; do
        bin=$build/services/$svc/bulwark-$svc
        [[ -x $bin ]] || {
            bw_err "$bin is missing; did the build succeed?"
            return 1
        }
    done
    local tls own
    for svc in "${BW_SERVICES[@]}"; do
        bw_say "starting $svc on ${BW_ADDRS[$svc]}"
        mapfile -t tls < <(bw_tls_env "$svc")
        # Only the integrations service holds the key that seals secrets.
        own=()
        [[ $svc == integrations ]] && own=("BULWARK_SECRETS_KEY=$BW_SECRETS_KEY"
            "BULWARK_SECRETS_KEY_PREVIOUS=${BW_SECRETS_KEY_PREVIOUS:-}")
        mapfile -t pin < <(bw_cpu_pin "$svc")
        bw_proc_start "$svc" "${common[@]}" "${tls[@]}" "${own[@]}" \
            "BULWARK_DATABASE_URL=$(bw_app_url "$svc")" \
            "BULWARK_METRICS_ADDR=${BW_METRICS_ADDRS[$svc]}" -- \
            "${pin[@]}" "$build/services/$svc/bulwark-$svc"
    done
    bw_say "starting gateway on ${BW_ADDRS[http]}"
    mapfile -t tls < <(bw_tls_env gateway)
    mapfile -t pin < <(bw_cpu_pin gateway)
    bw_proc_start gateway "${common[@]}" "${tls[@]}" "BULWARK_DATABASE_URL=$(bw_app_url gateway)" \
        "BULWARK_HTTP_ADDR=${BW_ADDRS[http]}" \
        "BULWARK_OPERATOR_TOKEN=$BW_OPERATOR_TOKEN" -- \
        "${pin[@]}" "$build/services/gateway/bulwark-gateway"
    bw_wait_ready "$(bw_addr_url "${BW_ADDRS[http]}")" "$timeout"
}

# bw_tenant_create URL OPERATOR-TOKEN NAME: creates a tenant through the
# gateway at URL with the operator token; sets BW_TENANT_ID and BW_TENANT_KEY
# (its first API key, shown only now).
bw_tenant_create() {
    local reply code body
    reply=$(curl -sS --max-time 30 -w '\n%{http_code}' -X POST \
        -H @<(printf 'Authorization: Bearer %s\n' "$2") -H 'Content-Type: application/json' \
        --data "$(jq -nc --arg name "$3" '{name: $name}')" "$1/v1/tenants") || {
        bw_err "POST $1/v1/tenants failed"
        return 1
    }
    code=${reply##*$'\n'}
    body=${reply%$'\n'*}
    if [[ $code != 201 ]]; then
        bw_err "POST /v1/tenants answered $code: $body"
        return 1
    fi
    if ! BW_TENANT_ID=$(jq -er '.tenant.id' <<<"$body") || ! BW_TENANT_KEY=$(jq -er '.apiKey.secret' <<<"$body"); then
        bw_err "unexpected reply to POST /v1/tenants: $body"
        return 1
    fi
}

# bw_wait_ready URL TIMEOUT: polls URL/readyz until 200; fails early when a
# process dies, and shows the logs' ends on failure.
bw_wait_ready() {
    local url=$1 deadline=$((SECONDS + $2)) dead name
    while ((SECONDS < deadline)); do
        if dead=$(bw_first_dead); then
            bw_err "$dead exited during start-up"
            bw_log_tail "$dead"
            return 1
        fi
        if curl -fsS -o /dev/null --max-time 2 "$url/readyz" 2>/dev/null; then
            bw_say "ready: $url"
            return 0
        fi
        sleep 0.2
    done
    bw_err "$url/readyz did not answer 200 within $2 s"
    curl -sS --max-time 2 "$url/readyz" >&2 2>&1 || true
    for name in "${BW_STARTED[@]}"; do bw_log_tail "$name"; done
    return 1
}

# ---------------------------------------------------------------- small files

# bw_kv_get FILE KEY: prints KEY's value from a KEY=VALUE file; fails when
# KEY is missing or empty.
bw_kv_get() {
    local key value
    while IFS='=' read -r key value; do
        if [[ $key == "$2" && -n $value ]]; then
            printf '%s\n' "$value"
            return 0
        fi
    done <"$1"
    return 1
}
