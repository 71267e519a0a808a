#!/usr/bin/env bash
# test_floor: bulwark-floor's two processes with mutual TLS answer a POST
# with the back end's file, byte for byte, and a second request on the same
# connection too; a front whose back end is not there answers 502.
set -euo pipefail
# shellcheck source=../../deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../deploy/local/lib.sh"
bin=$1
certs=$(dirname "${BASH_SOURCE[0]}")/../../deploy/tls/make-certs.sh
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
"$certs" "$dir" gateway floor >/dev/null 2>&1
head -c 20000 /dev/urandom | base64 -w0 >"$dir/reply"
printf '{"a":1}' >"$dir/body"
bw_free_port && back=127.0.0.1:$BW_PORT
bw_free_port && http=$BW_PORT
bw_free_port && lonely=$BW_PORT
"$bin" back "$back" "$dir/reply" "$dir/ca.pem" "$dir/floor.pem" "$dir/floor.key" &
pids+=($!)
"$bin" front "$http" "$back" "$dir/ca.pem" "$dir/gateway.pem" "$dir/gateway.key" floor &
pids+=($!)
"$bin" front "$lonely" 127.0.0.1:1 "$dir/ca.pem" "$dir/gateway.pem" "$dir/gateway.key" floor &
pids+=($!)
for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$http/" 2>/dev/null && break
    sleep 0.1
done
curl -fsS -X POST --data-binary @"$dir/body" -o "$dir/got1" "http://127.0.0.1:$http/x" \
    --next -fsS -X POST --data-binary @"$dir/body" -o "$dir/got2" "http://127.0.0.1:$http/x"
cmp "$dir/reply" "$dir/got1"
cmp "$dir/reply" "$dir/got2"
code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$lonely/")
[[ $code == 502 ]] || { echo "a front without its back end answered $code, not 502" >&2; exit 1; }
echo "test_floor: ok"
