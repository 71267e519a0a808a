#!/usr/bin/env bash
# make run's handling of its logs (lib.sh): bw_logs_trim keeps a log under
# BULWARK_LOG_MAX_MB while a process keeps writing to it through its
# appending descriptor, and bw_log_tail shows the end since the last start
# without reading the whole file. Run by ctest test_local_logs.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BW_LOG_DIR=$(mktemp -d)
trap 'rm -rf "$BW_LOG_DIR"' EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# A writer that holds its descriptor open, as a process of make run does.
log=$BW_LOG_DIR/gateway.log
exec 7>>"$log"
head -c $((3 * 1048576)) /dev/zero | tr '\0' 'x' >&7
echo >&7
echo "the last line before" >&7
small=$BW_LOG_DIR/scoping.log
echo "a small log" >"$small"

BULWARK_LOG_MAX_MB=abc bw_logs_trim 2>/dev/null && fail "a bad BULWARK_LOG_MAX_MB was taken"
BULWARK_LOG_MAX_MB=4 bw_logs_trim
[[ ! -e $log.1 ]] || fail "a log under the limit was trimmed"
BULWARK_LOG_MAX_MB=2 bw_logs_trim
[[ -f $log.1 ]] || fail "no $log.1"
(($(stat -c %s "$log.1") == 2 * 65536)) || fail "$log.1 is not the last sixteenth of the limit"
[[ $(tail -n 1 "$log.1") == "the last line before" ]] || fail "$log.1 does not end with the last line"
grep -q '^=== .* trimmed at 2 MiB' "$log" || fail "the trimmed log does not say so"
[[ $(<"$small") == "a small log" && ! -e $small.1 ]] || fail "a small log was touched"

# The writer's next line lands at the new start, not after a hole.
echo "the first line after" >&7
exec 7>&-
(($(stat -c %s "$log") < 200)) || fail "the writer did not go on at the new start"
[[ $(tail -n 1 "$log") == "the first line after" ]] || fail "the line after is not at the end"

# bw_log_tail: the end since the last start, LINES at most.
printf 'old\n\n=== 2026-12-05T00:00:00Z start\none\ntwo\nthree\n' >"$BW_LOG_DIR/t.log"
got=$(bw_log_tail t 2 2>&1 | tail -n +2)
[[ $got == $'    two\n    three' ]] || fail "bw_log_tail: $got"
got=$(bw_log_tail t 25 2>&1 | tail -n +2)
[[ $got == $'    one\n    two\n    three' ]] || fail "bw_log_tail: $got"
echo "local logs: ok"
