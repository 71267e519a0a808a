#!/usr/bin/env bash
# test_floor: bulwark-floor's two processes with mutual TLS answer a POST
# with the back end's file, byte for byte, and a second request on the same
# connection too, one that arrives in pieces and two sent in one write; a
# front whose back end is not there answers 502.
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
# A request that arrives in pieces (its head's end split across writes),
# then two in one write: three replies, in order, on the one connection.
exec 3<>"/dev/tcp/127.0.0.1/$http"
printf 'POST /x HTTP/1.1\r\nHost: f\r\nContent-Length: 7\r\n\r' >&3
sleep 0.2
printf '\n{"a"' >&3
sleep 0.2
printf ':1}POST /x HTTP/1.1\r\nContent-Length: 7\r\n\r\n{"a":1}GET /y HTTP/1.1\r\n\r\n' >&3
timeout 2 cat <&3 >"$dir/raw" || true
exec 3<&-
replies=$(grep -o 'HTTP/1.1 200 OK' "$dir/raw" | wc -l)
[[ $replies == 3 ]] || { echo "three requests on one connection got $replies replies" >&2; exit 1; }
[[ $(wc -c <"$dir/raw") -gt $((3 * $(wc -c <"$dir/reply"))) ]] || { echo "the replies were cut short" >&2; exit 1; }
code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$lonely/")
[[ $code == 502 ]] || { echo "a front without its back end answered $code, not 502" >&2; exit 1; }
echo "test_floor: ok"
