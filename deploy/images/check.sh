#!/usr/bin/env bash
# Checks the container images and the deploy files without a container
# engine (see README.md beside this file). For every image that the
# Dockerfile at the repository's root defines (a leaf stage), it builds the
# image's root file system the way `docker build` would: a Debian 12
# minbase tree standing in for debian:12-slim, then the RUN lines of the
# image's chain of stages (the shared runtime base's useradd, then its own
# package install, read from the Dockerfile), then the files its COPY lines
# copy, taken from the repository and from a normal release build of it.
# In that tree, on a read-only root and as the image's user (uid 10001),
# it runs ldd on every program (no library may be missing) and each
# program's --help, and checks that the stages install exactly the
# packages its programs need. It also validates docker-compose.yml and deploy/k8s/.
#
#   check.sh [--no-self-test] [IMAGE...]
#
# The self-test (on unless --no-self-test) builds two broken variants of
# the gateway's stage, one without libcurl4 and one with a package nothing
# needs, and fails unless the check catches both.
#
# Needs root (debootstrap, chroot) and Debian's mirror. The base tree and
# each stage's installed packages are cached under BULWARK_IMAGES_CACHE
# (default /var/cache/bulwark/images), keyed on what they are made from;
# the base is rebuilt after BULWARK_IMAGES_BASE_MAX_AGE_DAYS (7) days so
# that Debian's updates come in. The first run takes a few minutes, the
# next ones seconds per image.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../local/lib.sh"

HERE=$BW_REPO/deploy/images
DOCKERFILE=$BW_REPO/Dockerfile
CACHE=${BULWARK_IMAGES_CACHE:-/var/cache/bulwark/images}
MIRROR=${BULWARK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${BULWARK_DEBIAN_SECURITY_MIRROR:-${MIRROR%/debian}/debian-security}
SUITE=bookworm
BASE_MAX_AGE_DAYS=${BULWARK_IMAGES_BASE_MAX_AGE_DAYS:-7}
BUILD=${BULWARK_IMAGES_BUILD_DIR:-$BW_REPO/build}
IMAGE_UID=10001
PY=/usr/bin/python3
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# Packages a stage may install although no program of it loads their
# libraries, each with the check that shows the image uses it
# (extra_check_<package>).
declare -A IMAGE_EXTRAS=(
    [gateway]="ca-certificates"
    [integrations]="ca-certificates"
    [migrate]="postgresql-client-15 openssl"
)

SELF_TEST=1
ONLY=()
for arg in "$@"; do
    case $arg in
    --no-self-test) SELF_TEST=0 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    -*) bw_die "unknown option $arg (see --help)" ;;
    *) ONLY+=("$arg") ;;
    esac
done

bw_is_root || bw_die "check.sh needs root: it runs debootstrap and chroot"

RESULTS=()
PASSED=0
FAILED=0
WORK=
record() {
    if (($2 == 0)); then
        RESULTS+=("PASS  $1")
        PASSED=$((PASSED + 1))
    else
        RESULTS+=("FAIL  $1")
        FAILED=$((FAILED + 1))
    fi
}
finish() {
    local rc=$? line
    trap - EXIT
    [[ -n $WORK && -d $WORK ]] && rm -rf "$WORK"
    if ((rc != 0 && FAILED == 0)); then
        RESULTS+=("FAIL  check.sh stopped early (exit status $rc)")
        FAILED=$((FAILED + 1))
    fi
    printf '\nImages and deploy files (%d s):\n' "$SECONDS"
    for line in "${RESULTS[@]}"; do printf '  %s\n' "$line"; done
    printf 'images: %d passed, %d failed\n' "$PASSED" "$FAILED"
    ((FAILED == 0)) || exit 1
    exit 0
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
    printf 'FAIL: %s\n' "$*" >&2
    return 1
}

# ---------------------------------------------------------------- chroot

# in_root ROOT MODE USERSPEC WORKDIR ENV-FILE CMD...: runs CMD in ROOT, as
# USERSPEC (uid:gid; empty for root), in WORKDIR, with exactly the
# environment in ENV-FILE (KEY=VALUE lines). It runs in new mount and pid
# namespaces with its own /proc, so that nothing it mounts or starts
# outlives it. MODE is rw (a build step), ro (the root read-only, as
# Kubernetes' readOnlyRootFilesystem) or ro+tmp (the same with a tmpfs on
# /tmp, standing in for a volume).
in_root() {
    local root=$1 mode=$2 spec=$3 wd=$4 envfile=$5
    shift 5
    local -a env=()
    mapfile -t env <"$envfile"
    # shellcheck disable=SC2016 # expanded by the inner shell
    unshare --mount --pid --fork --kill-child -- /bin/bash -c '
        set -e
        root=$1 mode=$2 spec=$3 wd=$4
        shift 4
        if [[ $mode != rw ]]; then
            mount --bind "$root" "$root"
            mount -o remount,bind,ro "$root"
        fi
        mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
        [[ $mode == ro+tmp ]] && mount -t tmpfs -o mode=1777,size=64m tmpfs "$root/tmp"
        user=()
        [[ -n $spec ]] && user=(--userspec="$spec" --groups="${spec#*:}")
        exec chroot "${user[@]}" "$root" /usr/bin/env -i -C "$wd" "$@"
    ' in_root "$root" "$mode" "$spec" "$wd" "${env[@]}" "$@"
}

# as_user ROOT IMAGE-DIR CMD...: CMD as the image's user, with the image's
# environment, on a read-only root.
as_user() {
    local root=$1 dir=$2
    shift 2
    in_root "$root" ro "$(<"$dir/userspec")" "$(<"$dir/workdir")" "$dir/env" "$@"
}

# ---------------------------------------------------------------- the base tree

# base_prepare ROOT: a Debian 12 minbase tree made like debian:12-slim: the
# release, its updates and security suites, with what the slim images leave
# out (documentation, manual pages, translations) left out, and services
# kept from starting during package installs.
base_prepare() {
    local root=$1
    debootstrap --variant=minbase --keyring="$KEYRING" --arch="$(dpkg --print-architecture)" \
        "$SUITE" "$root" "$MIRROR" >"$root.log" 2>&1 || {
        tail -n 20 "$root.log" >&2
        return 1
    }
    rm -f "$root/etc/apt/sources.list"
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    # The slim variant: dpkg leaves these out of every package from now on...
    cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
# As in debian:12-slim: no documentation, manual pages or translations.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EOF
    # ... and the base's own copies go now.
    (cd "$root" && find usr/share/doc usr/share/groff usr/share/info usr/share/linda \
        usr/share/lintian/overrides usr/share/locale usr/share/man -mindepth 1 \
        ! -type d ! -path 'usr/share/doc/*/copyright' ! -path usr/share/locale/locale.alias \
        -delete 2>/dev/null) || true
    printf 'Acquire::Languages "none";\n' >"$root/etc/apt/apt.conf.d/no-languages"
    printf '#!/bin/sh\n# No service starts while an image is being built.\nexit 101\n' \
        >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    printf 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOME=/root\nDEBIAN_FRONTEND=noninteractive\n' \
        >"$root.env"
    in_root "$root" rw "" / "$root.env" /bin/sh -c \
        'apt-get update -q && apt-get -y -q upgrade && apt-get clean && rm -rf /var/lib/apt/lists/*' \
        >>"$root.log" 2>&1 || {
        tail -n 20 "$root.log" >&2
        return 1
    }
    rm -f "$root.env"
    # shellcheck disable=SC2016 # a dpkg-query format
    in_root "$root" ro "" / /dev/null /usr/bin/dpkg-query -W -f '${Package}\n' |
        sort >"$root.packages"
}

# base_ensure: sets BASE to the cached base tree, building it when missing
# or older than BASE_MAX_AGE_DAYS. Its key covers the suite, mirrors,
# architecture, debootstrap's version and base_prepare itself.
base_ensure() {
    local key stamp now
    key=$({
        printf '%s\n' "$SUITE" "$MIRROR" "$SECURITY_MIRROR" "$(dpkg --print-architecture)"
        debootstrap --version
        declare -f base_prepare in_root
    } | sha256sum | cut -c1-16)
    BASE=$CACHE/base-$key
    now=$(date +%s)
    if [[ -f $BASE.packages ]]; then
        stamp=$(stat -c %Y "$BASE.packages")
        if ((now - stamp < BASE_MAX_AGE_DAYS * 86400)); then
            bw_say "base tree: $BASE (cached)"
            return 0
        fi
        bw_say "base tree: $BASE is older than $BASE_MAX_AGE_DAYS days; rebuilding it"
    fi
    bw_say "base tree: debootstrap --variant=minbase $SUITE from $MIRROR (about a minute)"
    rm -rf "$BASE" "$BASE.packages" "$BASE.log" "$BASE.tmp" "$BASE.tmp.packages" "$BASE.tmp.log"
    base_prepare "$BASE.tmp" || return 1
    mv "$BASE.tmp.log" "$BASE.log"
    mv "$BASE.tmp" "$BASE"
    mv "$BASE.tmp.packages" "$BASE.packages"
    # Image trees made on an older base are stale now.
    find "$CACHE" -maxdepth 1 -name 'img-*' -type d -exec rm -rf {} +
}

# cache_prune: removes cache entries unused for 14 days, base trees of
# other keys, and what runs that were killed left behind (this run holds
# the lock: no other is running).
cache_prune() {
    local entry
    for entry in "$CACHE"/work.* "$CACHE"/*.tmp; do
        if [[ -e $entry && $entry != "$WORK" ]]; then rm -rf "$entry"; fi
    done
    for entry in "$CACHE"/base-*; do
        [[ -d $entry && $entry != "$BASE" ]] || continue
        rm -rf "$entry" "$entry.packages" "$entry.log"
    done
    find "$CACHE" -maxdepth 1 -name 'img-*' -type d -mtime +14 -exec rm -rf {} +
}

# ---------------------------------------------------------------- one image

# plan_get FILE JQ-FILTER: a field of a plan.
plan_get() { jq -r "$2" "$1"; }

# write_env FILE JSON-OBJECT-FILTER PLAN: the KEY=VALUE lines of an
# environment in the plan.
write_env() { jq -r "$2 | to_entries[] | \"\(.key)=\(.value)\"" "$3" >"$1"; }

# resolve_user ROOT USER: prints uid:gid of USER (a name or a uid) in ROOT.
resolve_user() {
    local root=$1 user=${2%%:*} group=${2#*:} entry
    [[ $2 == *:* ]] || group=
    entry=$(awk -F: -v u="$user" '$1 == u || $3 == u { print $3 ":" $4; exit }' "$root/etc/passwd")
    [[ -n $entry ]] || return 1
    if [[ -n $group ]]; then
        local gid
        gid=$(awk -F: -v g="$group" '$1 == g || $3 == g { print $3; exit }' "$root/etc/group")
        [[ -n $gid ]] || return 1
        entry=${entry%%:*}:$gid
    fi
    printf '%s\n' "$entry"
}

# run_steps PLAN ROOT FIRST LAST DIR: replays steps FIRST..LAST-1 of PLAN
# in ROOT. COPY --from=build takes /build/... from the release build (and
# the migrations collected into DIR/build); files copied are listed in
# DIR/copied.
run_steps() {
    local plan=$1 root=$2 first=$3 last=$4 dir=$5 i op line
    for ((i = first; i < last; i++)); do
        op=$(plan_get "$plan" ".steps[$i].op")
        line=$(plan_get "$plan" ".steps[$i].line")
        case $op in
        RUN)
            local spec="" user wd
            user=$(plan_get "$plan" ".steps[$i].user")
            wd=$(plan_get "$plan" ".steps[$i].workdir")
            if [[ $user != root && $user != 0 ]]; then
                spec=$(resolve_user "$root" "$user") || fail "line $line: RUN as unknown user $user" || return 1
            fi
            write_env "$dir/step.env" ".steps[$i].env" "$plan"
            grep -q '^HOME=' "$dir/step.env" || echo "HOME=/root" >>"$dir/step.env"
            cp /etc/resolv.conf "$root/etc/resolv.conf"
            local -a argv=()
            mapfile -t argv < <(plan_get "$plan" ".steps[$i].argv[]")
            bw_say "  RUN (line $line)"
            in_root "$root" rw "$spec" "$wd" "$dir/step.env" "${argv[@]}" >>"$dir/build.log" 2>&1 || {
                tail -n 25 "$dir/build.log" >&2
                fail "line $line: RUN failed (its output: $dir/build.log)"
                return 1
            }
            ;;
        COPY) copy_step "$plan" "$root" "$i" "$dir" || return 1 ;;
        WORKDIR) mkdir -p "$root$(plan_get "$plan" ".steps[$i].path")" ;;
        *) fail "line $line: step $op not understood" || return 1 ;;
        esac
    done
}

# copy_step PLAN ROOT INDEX DIR: one COPY, as docker does it: a folder's
# contents, a file with its mode, owned by root unless --chown.
copy_step() {
    local plan=$1 root=$2 i=$3 dir=$4 from dest line chown chmod src path n
    from=$(plan_get "$plan" ".steps[$i].from // \"\"")
    dest=$(plan_get "$plan" ".steps[$i].dest")
    line=$(plan_get "$plan" ".steps[$i].line")
    chown=$(plan_get "$plan" ".steps[$i].chown // \"\"")
    chmod=$(plan_get "$plan" ".steps[$i].chmod // \"\"")
    n=$(plan_get "$plan" ".steps[$i].srcs | length")
    local -a srcs=()
    mapfile -t srcs < <(plan_get "$plan" ".steps[$i].srcs[]")
    for src in "${srcs[@]}"; do
        if [[ -n $from ]]; then
            [[ $src == /build/* ]] ||
                fail "line $line: COPY --from=$from $src: this check knows only the build stage's /build" || return 1
            local rel=${src#/build/}
            rel=${rel%/}
            if [[ -e $dir/build/$rel ]]; then
                path=$dir/build/$rel
            elif [[ -e $BUILD/$rel ]]; then
                path=$BUILD/$rel
                if [[ -f $path && $(head -c4 "$path" | od -An -c | tr -d ' ') == 177ELF ]] &&
                    ! jq -e --arg t "$(basename "$path")" '[.builds[].targets[]] | index($t)' "$plan" >/dev/null; then
                    fail "line $line: $src is not among the targets the build stage builds" || return 1
                fi
            else
                fail "line $line: the build stage makes no $src here (not in $BUILD)" || return 1
            fi
        else
            path=$BW_REPO/$src
            [[ -e $path ]] || fail "line $line: COPY $src: no such file in the repository" || return 1
            if "$PY" "$HERE/dockerfile.py" ignored "$BW_REPO" "$src" >/dev/null; then
                fail "line $line: COPY $src: .dockerignore leaves it out of the build context" || return 1
            fi
        fi
        local target=$root$dest
        local -a files=()
        if [[ -d $path ]]; then
            mkdir -p "$target"
            cp -R --preserve=mode --remove-destination "$path/." "$target/"
            mapfile -t files < <(cd "$path" && find . -mindepth 1 | sed "s|^\.|${dest%/}|")
        else
            if [[ $dest == */ || $n -gt 1 ]]; then
                mkdir -p "$target"
                target=${target%/}/$(basename "$path")
            else
                mkdir -p "$(dirname "$target")"
            fi
            cp --preserve=mode --remove-destination "$path" "$target"
            files=("${target#"$root"}")
        fi
        printf '%s\n' "${files[@]}" >>"$dir/copied"
        # --chown and --chmod apply to what this COPY wrote, never to the
        # files already there (hard links into the cache).
        if [[ -n $chown ]]; then
            local owner f
            owner=$(resolve_user "$root" "$chown") || fail "line $line: --chown=$chown: no such user" || return 1
            for f in "${files[@]}"; do chown -h "$owner" "$root$f"; done
        fi
        if [[ -n $chmod ]]; then
            for f in "${files[@]}"; do chmod "$chmod" "$root$f"; done
        fi
    done
}

# elf FILE: true when FILE is an ELF program or library.
elf() { [[ -f $1 && $(head -c4 "$1" | od -An -c | tr -d ' ') == 177ELF ]]; }

# package_of ROOT PATH: the Debian package that owns PATH in ROOT (usrmerge:
# dpkg may know it under /lib or under /usr/lib).
package_of() {
    local root=$1 path=$2 real cand out
    real=$(chroot "$root" readlink -f "$path")
    for cand in "$path" "$real" "${path#/usr}" "${real#/usr}" "/usr$path" "/usr$real"; do
        out=$(chroot "$root" dpkg-query -S "$cand" 2>/dev/null | head -n1) || continue
        [[ -n $out ]] && {
            printf '%s\n' "${out%%:*}"
            return 0
        }
    done
    return 1
}

# context_sum PLAN COUNT: what the first COUNT steps of PLAN copy from the
# build context (the files, their contents and modes), and .dockerignore,
# which decides what the context holds; for the cache key.
context_sum() {
    local plan=$1 count=$2
    local -a srcs=()
    mapfile -t srcs < <(jq -r ".steps[:$count][] | select(.op == \"COPY\") | .srcs[]" "$plan")
    [[ -f $BW_REPO/.dockerignore ]] && srcs+=(.dockerignore)
    ((${#srcs[@]} > 0)) || return 0
    tar -C "$BW_REPO" -cf - --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
        -- "${srcs[@]}" | sha256sum
}

# build_image NAME DOCKERFILE TARGET: builds the image's tree in
# $WORK/NAME/root (the RUN lines and the copies from the repository before
# the first copy from the build stage come from the cache when they were
# run before on the same base, with the same files).
build_image() {
    local name=$1 dockerfile=$2 target=$3 dir=$WORK/$1 plan key cached n err
    mkdir -p "$dir"
    plan=$dir/plan.json
    "$PY" "$HERE/dockerfile.py" plan "$dockerfile" "$target" >"$plan" || return 1
    while read -r err; do
        [[ -n $err ]] && fail "$err"
    done < <(plan_get "$plan" '.errors[]')
    [[ $(plan_get "$plan" '.errors | length') == 0 ]] || return 1
    cached=$(plan_get "$plan" .cached_steps)
    n=$(plan_get "$plan" '.steps | length')
    key=$({
        printf '%s\n' "$BASE" "$(stat -c %Y "$BASE.packages")"
        jq -c ".steps[:$cached]" "$plan"
        context_sum "$plan" "$cached"
    } | sha256sum | cut -c1-16)
    local entry=$CACHE/img-$name-$key
    if [[ -d $entry ]]; then
        bw_say "$name: the stage's packages from the cache ($entry)"
        touch "$entry"
    else
        bw_say "$name: installing the stage's packages (steps 1-$cached)"
        rm -rf "$entry.tmp"
        cp -a --reflink=auto "$BASE" "$entry.tmp"
        run_steps "$plan" "$entry.tmp" 0 "$cached" "$dir" || {
            rm -rf "$entry.tmp"
            return 1
        }
        mv "$entry.tmp" "$entry"
    fi
    # When the rest only adds files, hard links to the cached tree are safe
    # (copy_step replaces a file rather than writing into it); a later RUN
    # could change any file, so then the tree is copied.
    if jq -e ".steps[$cached:] | any(.op == \"RUN\")" "$plan" >/dev/null; then
        cp -a --reflink=auto "$entry" "$dir/root"
    else
        cp -al "$entry" "$dir/root"
    fi
    : >"$dir/copied"
    if jq -e '.builds[] | select(.migrations != null)' "$plan" >/dev/null; then
        local m
        m=$(plan_get "$plan" '[.builds[].migrations | select(. != null)][0]')
        [[ $m == /build/* ]] || fail "the build stage collects migrations outside /build" || return 1
        "$BW_REPO/deploy/collect-migrations.sh" "$dir/build/${m#/build/}" >/dev/null
    fi
    run_steps "$plan" "$dir/root" "$cached" "$n" "$dir" || return 1

    local user spec
    user=$(plan_get "$plan" .user)
    spec=$(resolve_user "$dir/root" "$user") || fail "USER $user does not exist in the image" || return 1
    [[ ${spec%%:*} == "$IMAGE_UID" ]] ||
        fail "the image runs as uid ${spec%%:*} ($user), not $IMAGE_UID" || return 1
    printf '%s\n' "$spec" >"$dir/userspec"
    plan_get "$plan" .workdir >"$dir/workdir"
    write_env "$dir/env" .env "$plan"
    grep -q '^HOME=' "$dir/env" ||
        awk -F: -v u="${spec%%:*}" '$3 == u { print "HOME=" $6; exit }' "$dir/root/etc/passwd" >>"$dir/env"
}

# check_image NAME: the checks on a built tree. Prints what it found;
# returns non-zero on any failure.
check_image() {
    local name=$1 dir=$WORK/$1 root=$WORK/$1/root plan=$WORK/$1/plan.json rc=0
    local file out lib path pkg
    local -A direct=() declared=() base=()
    local unresolved=0
    local -a programs=()

    while read -r file; do
        elf "$root$file" && programs+=("$file")
    done < <(sort -u "$dir/copied")
    ((${#programs[@]} > 0)) || fail "$name: the image holds no program" || rc=1

    while read -r pkg; do base[$pkg]=1; done <"$BASE.packages"
    for pkg in $(plan_get "$plan" '.packages[]'); do declared[$pkg]=1; done

    for file in "${programs[@]}"; do
        # Every library found, from the image's own files, as its user.
        if ! out=$(as_user "$root" "$dir" /usr/bin/ldd "$file" 2>&1) || [[ $out == *"not found"* ]]; then
            fail "$name: $file cannot load every library:"
            grep -e 'not found' -e 'not a dynamic' <<<"$out" | sed 's/^/    /' >&2 || printf '%s\n' "$out" >&2
            rc=1
            unresolved=1
            continue
        fi
        # The package of each library it names directly.
        for lib in $(objdump -p "$root$file" | awk '$1 == "NEEDED" { print $2 }'); do
            path=$(awk -v l="$lib" '$1 == l && $2 == "=>" { print $3; exit }' <<<"$out")
            [[ -n $path ]] || {
                fail "$name: $file: ldd does not show where $lib comes from"
                rc=1
                continue
            }
            pkg=$(package_of "$root" "$path") || {
                fail "$name: $file: no package owns $path ($lib)"
                rc=1
                continue
            }
            pkg=${pkg%%,*}
            direct[$pkg]+="$lib "
        done
        # It starts, as the image's user, on a read-only root.
        if out=$(as_user "$root" "$dir" "$file" --help 2>&1) && [[ -n $out ]]; then
            printf '  %s --help: %s\n' "$file" "$(head -n1 <<<"$out")"
            if grep -rqs -e "$(basename "$file")\", \"--probe\"" "$BW_REPO/deploy/k8s" "$BW_REPO/docker-compose.yml" &&
                [[ $out != *--probe* ]]; then
                bw_warn "$name: the deploy files probe with '$(basename "$file") --probe', which its --help does not mention yet"
            fi
        else
            fail "$name: $file --help failed:"
            printf '%s\n' "$out" | tail -n 10 | sed 's/^/    /' >&2
            rc=1
        fi
    done

    # What the Kubernetes manifests run in this image (init containers,
    # exec probes) is there.
    local img cmd0
    while read -r img cmd0 _; do
        [[ $img == "${name#selftest-*-}" ]] || continue
        as_user "$root" "$dir" /usr/bin/test -x "$cmd0" ||
            fail "$name: deploy/k8s runs $cmd0 in this image, which has no such program" || rc=1
    done <"$WORK/k8s-commands"

    # The entry point exists, runs as the user, and a script's interpreter is there.
    local entry
    entry=$(plan_get "$plan" '(.entrypoint + .cmd)[0] // ""')
    if [[ -z $entry ]] || ! as_user "$root" "$dir" /usr/bin/test -x "$entry"; then
        fail "$name: the entry point '$entry' is not an executable file for uid $IMAGE_UID"
        rc=1
    elif ! elf "$root$entry"; then
        local shebang interp
        shebang=$(head -n1 "$root$entry")
        interp=${shebang#\#!}
        interp=${interp# }
        [[ $interp == /usr/bin/env\ * ]] && interp=$(as_user "$root" "$dir" /bin/sh -c "command -v ${interp#/usr/bin/env }" || true)
        if [[ $shebang != \#!* || -z $interp || ! -x $root${interp%% *} ]]; then
            fail "$name: the interpreter of $entry ($shebang) is not in the image"
            rc=1
        elif ! as_user "$root" "$dir" "${interp%% *}" -n "$entry"; then
            fail "$name: $entry does not parse"
            rc=1
        fi
    fi

    # Exactly the packages its programs need.
    for pkg in "${!direct[@]}"; do
        if [[ -z ${declared[$pkg]:-} && -z ${base[$pkg]:-} ]]; then
            fail "$name: ${direct[$pkg]% } comes from $pkg, which the stage does not install by name (it is there only as a dependency of another package)"
            rc=1
        fi
    done
    local extras=" ${IMAGE_EXTRAS[${name#selftest-*-}]:-} "
    for pkg in "${!declared[@]}"; do
        # (Unknown when a program's libraries are not all found.)
        if [[ -n ${direct[$pkg]:-} ]] || ((unresolved)); then continue; fi
        if [[ $extras == *" $pkg "* ]]; then
            "extra_check_$pkg" "$name" "$dir" || rc=1
        else
            fail "$name: the stage installs $pkg, which no program of the image needs"
            rc=1
        fi
    done

    if declare -F "image_check_${name//-/_}" >/dev/null; then
        "image_check_${name//-/_}" "$dir" || rc=1
    fi
    if ((rc == 0)); then
        local summary=""
        for pkg in $(printf '%s\n' "${!direct[@]}" | sort); do summary+=" $pkg"; done
        printf '  %s: %d program(s); libraries from%s\n' "$name" "${#programs[@]}" "$summary"
    fi
    return "$rc"
}

# The checks that justify a package no program loads.
extra_check_ca-certificates() {
    local name=$1 dir=$2
    if ! grep -q 'libcurl' <<<"${direct[libcurl4]:-}"; then
        fail "$name: ca-certificates is there for libcurl's https, but nothing loads libcurl"
        return 1
    fi
    as_user "$dir/root" "$dir" /usr/bin/test -s /etc/ssl/certs/ca-certificates.crt ||
        fail "$name: /etc/ssl/certs/ca-certificates.crt, libcurl's CA bundle, is missing or empty"
}
extra_check_postgresql-client-15() {
    local name=$1 dir=$2 psql out
    psql=$(awk -F= '$1 == "PSQL" { print $2 }' "$dir/env")
    [[ -n $psql ]] || fail "$name: postgresql-client-15 is installed but PSQL does not name its psql" || return 1
    out=$(as_user "$dir/root" "$dir" "$psql" --version 2>&1) ||
        fail "$name: $psql --version failed: $out" || return 1
    printf '  %s --version: %s\n' "$psql" "$out"
}
extra_check_openssl() {
    local name=$1 dir=$2 out
    # make-certs.sh makes a CA and two certificates in the image, as its user.
    out=$(in_root "$dir/root" ro+tmp "$(<"$dir/userspec")" / "$dir/env" /bin/bash -c '
        set -e
        /usr/share/bulwark/make-certs.sh /tmp/tls gateway scoping 2>&1
        openssl verify -CAfile /tmp/tls/ca.pem /tmp/tls/gateway.pem /tmp/tls/scoping.pem
        stat -c "%a %n" /tmp/tls/*.key' 2>&1) ||
        fail "$name: make-certs.sh does not work in the image: $out" || return 1
    if grep -v '^600 ' <<<"$(grep '\.key$' <<<"$out")" | grep -q .; then
        fail "$name: make-certs.sh left a key readable by others: $out"
        return 1
    fi
    printf '  make-certs.sh: a CA and certificates that openssl verifies, keys mode 600\n'
}

# image_check_migrate DIR: every component in ORDER has its migrations, and
# docker-compose's `keys` service works in this image.
image_check_migrate() {
    local dir=$1 root=$1/root order comp rc=0 script out
    order=$root/usr/share/bulwark/migrations/ORDER
    [[ -s $order ]] || fail "migrate: $order is missing" || return 1
    while read -r comp; do
        [[ -n $comp ]] || continue
        compgen -G "$root/usr/share/bulwark/migrations/$comp/*.sql" >/dev/null ||
            fail "migrate: no migrations for $comp" || rc=1
    done <"$order"
    printf '  migrations: %s\n' "$(tr '\n' ' ' <"$order")"

    # The keys service's script, run as compose runs it (root with only
    # CHOWN and DAC_OVERRIDE, its volumes empty at first) under /tmp/keys:
    # twice (the second run keeps the certificates), then with a rotation.
    script=$("$PY" "$HERE/check_compose.py" --keys-script "$BW_REPO/docker-compose.yml") || return 1
    script=${script//\/keys\//\/tmp\/keys\/}
    # shellcheck disable=SC2016 # expanded by the inner shell
    out=$(in_root "$root" ro+tmp "" / "$dir/env" /bin/bash -c '
        set -eu
        script=$1 names=$2
        mkdir -p /tmp/keys/ca /tmp/keys/signing
        for n in $names; do mkdir -p /tmp/keys/$n; done
        keys() { /usr/bin/setpriv --bounding-set=-all,+chown,+dac_override -- /bin/bash -euc "$script"; }
        sums() { cat /tmp/keys/*/cert.pem /tmp/keys/signing/* | sha256sum; }
        keys >/dev/null
        first=$(sums)
        keys >/dev/null
        [ "$(sums)" = "$first" ] || { echo "a second run changed the certificates"; exit 1; }
        BULWARK_TLS_ROTATE=1 keys >/dev/null
        [ "$(sums)" != "$first" ] || { echo "BULWARK_TLS_ROTATE=1 did not renew the certificates"; exit 1; }
        for n in $names; do
            d=/tmp/keys/$n
            [ "$(ls $d | tr "\n" " ")" = "ca.pem cert.pem key.pem " ] || { echo "$d holds $(ls $d)"; exit 1; }
            for f in $d $d/*; do
                [ "$(stat -c %u:%g $f)" = 10001:10001 ] || { echo "$f is owned by $(stat -c %u:%g $f)"; exit 1; }
            done
            [ "$(stat -c %a $d/key.pem)" = 600 ] || { echo "$d/key.pem is mode $(stat -c %a $d/key.pem)"; exit 1; }
            openssl verify -CAfile $d/ca.pem $d/cert.pem >/dev/null
            openssl x509 -in $d/cert.pem -noout -subject | grep -q "CN = $n\$" ||
                { echo "$d/cert.pem is not for $n"; exit 1; }
            openssl x509 -in $d/cert.pem -noout -ext subjectAltName | grep -q "DNS:$n," ||
                { echo "$d/cert.pem has no DNS name $n"; exit 1; }
        done
        [ "$(stat -c %u:%g:%a /tmp/keys/signing/attestations-ed25519.pem)" = 10001:10001:600 ] ||
            { echo "the signing key is $(stat -c %u:%g:%a /tmp/keys/signing/attestations-ed25519.pem)"; exit 1; }
        openssl pkey -in /tmp/keys/signing/attestations-ed25519.pem -noout -text | grep -q ED25519
        ! grep -rl "PRIVATE KEY" /tmp/keys --include=ca.pem --include=cert.pem
    ' keys-check "$script" "${BW_DB_PROCESSES[*]}" 2>&1) || {
        fail "migrate: docker-compose's keys service does not work in this image: $out"
        return 1
    }
    printf '  compose keys service: per-process volumes with the CA, a certificate for the name and its key (600, uid 10001); kept on a second run\n'
    return "$rc"
}

# one_image NAME DOCKERFILE TARGET: builds and checks one image, recording
# the result.
one_image() {
    local name=$1 rc=0
    bw_say "image $name ($2${3:+, target $3})"
    build_image "$@" && check_image "$name" || rc=$?
    rm -rf "${WORK:?}/$name"
    record "image $name" "$rc"
    return "$rc"
}

# The self-test's broken copies of the Dockerfile: a name, the change (a sed
# command on the gateway's stage) and what the check must say.
SELF_TESTS=(
    "nocurl|s/ libcurl4 / /|libcurl.so.4 => not found"
    "curl|s/ libcurl4 / libcurl4 curl /|installs curl, which no program of the image needs"
)

# self_test: each broken copy must fail, for its own reason.
self_test() {
    local df=$WORK/selftest/Dockerfile t name change expect out rc
    mkdir -p "$(dirname "$df")"
    for t in "${SELF_TESTS[@]}"; do
        IFS='|' read -r name change expect <<<"$t"
        sed "/^FROM [a-z0-9:.-]* AS gateway\$/,/^ENTRYPOINT/ $change" "$DOCKERFILE" >"$df"
        if cmp -s "$df" "$DOCKERFILE"; then
            fail "self-test $name: '$change' changes nothing in the gateway stage"
            return 1
        fi
        rc=0
        # (In a subshell: its own result is not recorded.)
        out=$(one_image "selftest-$name-gateway" "$df" gateway 2>&1) || rc=$?
        if ((rc == 0)) || [[ $out != *"$expect"* ]]; then
            printf '%s\n' "$out" | tail -n 20 >&2
            fail "self-test $name: the check did not fail with '$expect'"
            return 1
        fi
        printf '  self-test %s (%s): fails with "%s"\n' "$name" "$change" "$expect"
    done
}

# ---------------------------------------------------------------- main

bw_deps_ensure "${BW_DEPS[@]}" "${BW_DEPS_IMAGES[@]}"
bw_node_ensure
mkdir -p "$CACHE"
# One run at a time on this machine: they share the cache.
exec 8>"$CACHE/.lock"
if ! flock -n 8; then
    bw_say "another check.sh holds $CACHE/.lock; waiting for it"
    flock 8
fi
WORK=$(mktemp -d "$CACHE/work.XXXXXX")

# check_py NAME SCRIPT ARG...: runs one of this folder's Python checks and
# records it under NAME.
check_py() {
    local name=$1 script=$2 rc=0
    shift 2
    "$PY" "$HERE/$script" "$@" || rc=$?
    record "$name" "$rc"
}

# The deploy files first: they take seconds.
check_py "docker-compose.yml" check_compose.py "$BW_REPO/docker-compose.yml"
check_py "docker-compose.yml self-test (broken variants are caught)" \
    check_compose.py --self-test "$BW_REPO/docker-compose.yml"
check_py "deploy/k8s" check_k8s.py "$BW_REPO/deploy/k8s"
check_py "deploy/k8s self-test (broken manifests are caught)" \
    check_k8s.py --self-test "$BW_REPO/deploy/k8s"
"$PY" "$HERE/check_k8s.py" --commands "$BW_REPO/deploy/k8s" >"$WORK/k8s-commands"

declare -a IMAGES=()
mapfile -t IMAGES < <("$PY" "$HERE/dockerfile.py" images "$DOCKERFILE")
((${#IMAGES[@]} > 0)) || bw_die "no images found in $DOCKERFILE"
for want in "${ONLY[@]}"; do
    # (Not a pipe into grep -q: under pipefail, printf may die of SIGPIPE.)
    [[ $'\n'$(printf '%s\n' "${IMAGES[@]}") == *$'\n'"$want "* ]] ||
        bw_die "no image $want; the images: $(printf '%s\n' "${IMAGES[@]}" | cut -d' ' -f1 | tr '\n' ' ')"
done

# The programs, from a normal release build.
build_targets=$(for img in "${IMAGES[@]}"; do
    read -r _ df tg <<<"$img"
    "$PY" "$HERE/dockerfile.py" plan "$df" "$tg" | jq -r '.builds[].targets[]'
done | sort -u | tr '\n' ' ')
BW_BUILD_TARGETS=$build_targets bw_build "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo

base_ensure
cache_prune

for img in "${IMAGES[@]}"; do
    read -r name df tg <<<"$img"
    if ((${#ONLY[@]} > 0)) && [[ " ${ONLY[*]} " != *" $name "* ]]; then
        continue
    fi
    [[ $tg == - ]] && tg=
    one_image "$name" "$df" "$tg" || true
done

if ((SELF_TEST == 1)); then
    bw_say "self-test: broken copies of the Dockerfile must fail"
    rc=0
    self_test || rc=$?
    record "self-test (a missing library and an unneeded package are caught)" "$rc"
fi
