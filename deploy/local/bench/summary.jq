# `make bench`: from the runs (one object a run, see bench.sh) and the
# spec of the request kinds, the summary bench.sh writes to
# build/bench/last.json and prints as a table (table.jq): per kind the
# median and spread (min-max) over the rounds of requests/s, latency, the
# ratios to nginx, to grpc-gateway, to the read and to the floor
# (tools/floor) in the same round, the CPU per request of each process, the
# peak RSS, and every figure that has a target beside it with "ok" or
# "MISSED".
#
# Inputs: $runs (array of runs), $spec (array of kinds, in table order),
# $meta (object copied to the top).

include "stats";

def spread: if length == 0 then null else {median: median, min: min, max: max} end;
def runs_of($k): [$runs[] | select(.kind == $k)];
# Per round, the ratio of kind $a's requests/s to kind $b's.
def ratio($a; $b):
  [runs_of($a)[] as $x | runs_of($b)[] | select(.round == $x.round and .rps > 0)
   | $x.rps / .rps] | spread;
def check($kind; $figure; $measured; $target; $ok):
  {kind: $kind, figure: $figure, measured: $measured, target: $target,
   verdict: (if $measured == null then "n/a" elif $ok then "ok" else "MISSED" end)};

($spec | map({key: .kind, value: .}) | from_entries) as $by_kind
| [ $spec[] as $s | runs_of($s.kind) as $r | select($r | length > 0)
    | ([$r[].cpu_us_per_request | keys[]] | unique) as $procs
    | ([$r[].rss_mib | keys[]] | unique) as $rss_procs
    | {kind: $s.kind, label: $s.label, runs: ($r | length),
       connections: $r[0].connections,
       rps: ([$r[].rps] | spread),
       p50_ms: ([$r[].p50_ms] | spread),
       p99_ms: ([$r[].p99_ms] | spread),
       errors: ([$r[].errors] | add),
       reply_bytes: ([$r[].reply_bytes] | median),
       cpu_us_per_request: ([$procs[] as $p | {key: $p, value: ([$r[].cpu_us_per_request[$p] // empty] | spread)}] | from_entries),
       rss_mib: ([$rss_procs[] as $p | {key: $p, value: ([$r[].rss_mib[$p] // empty] | max)}] | from_entries),
       shown: ($s.procs // $procs),
       x_nginx: (if $s.kind != "nginx" and $s.vs_nginx != false then ratio($s.kind; "nginx") else null end),
       x_peer: (if $s.peer then ratio($s.kind; $s.peer) else null end),
       peer: ($s.peer // null),
       x_read: (if $s.vs_read then ratio($s.kind; $s.vs_read) else null end),
       read: ($s.vs_read // null),
       x_floor: (if $s.vs_floor then ratio($s.kind; $s.vs_floor) else null end)} ] as $kinds
| ($kinds | map({key: .kind, value: .}) | from_entries) as $k
| [ $kinds[] as $x | $by_kind[$x.kind] as $s
    | (if $s.p99_ms then check($x.kind; "p99 ms"; $x.p99_ms.median; "<= \($s.p99_ms)"; $x.p99_ms.median <= $s.p99_ms) else empty end),
      (if $s.x_nginx then check($x.kind; "x nginx"; $x.x_nginx.median; ">= \($s.x_nginx)"; ($x.x_nginx.median // 0) >= $s.x_nginx) else empty end),
      (if $s.peer and $s.peer_min then
         check($x.kind; "x grpc-gateway"; $x.x_peer.median; ">= \($s.peer_min)"; ($x.x_peer.median // 0) >= $s.peer_min),
         ($k[$s.peer].cpu_us_per_request["grpc-gateway"].median as $go
          | $x.cpu_us_per_request.gateway.median as $c
          | check($x.kind; "gateway CPU vs grpc-gateway"; (if $go == null then null else $c end);
                  "< grpc-gateway's"; $c < $go) + {against: $go})
       else empty end),
      ($s.cpu_max // {} | to_entries[] as $c
       | check($x.kind; "\($c.key) CPU us/request"; $x.cpu_us_per_request[$c.key].median; "<= \($c.value)";
               $x.cpu_us_per_request[$c.key].median <= $c.value)),
      (if $s.rss_max then
         ([$x.rss_mib | to_entries[] | select(.key as $p | $s.rss_procs | index($p))] ) as $rss
         | check($x.kind; "peak RSS MiB"; ($rss | map(.value) | max); "<= \($s.rss_max) each";
                 ($rss | all(.value <= $s.rss_max)))
       else empty end) ] as $checks
| $meta + {kinds: $kinds, checks: $checks, runs: $runs}
