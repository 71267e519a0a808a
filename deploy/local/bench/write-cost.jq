# `make bench`, step 8: from the write-cost runs (one object a run, see
# bench.sh; kinds write-bare and write-subscribed) the summary bench.sh
# writes to build/bench/write-cost.json and prints. Each round's shares
# compare its own two runs, as summary.jq's ratios do; the figures with the
# target are the medians of those shares, and the verdict a sign test over
# them (rounds_needed).
#
# Input: the runs, slurped. $when: the time of the summary.
include "stats";

def of($k): map(select(.kind == $k));
def cpu: .cpu_us_per_request | [.gateway, .scoping, .incidents, .integrations, .postgresql]
  | map(. // 0) | add;
def medians: {rps: (map(.rps) | median), cpu_us_per_write: (map(cpu) | median),
              p99_ms: (map(.p99_ms) | median)};
# The integrations process and its own PostgreSQL sessions (bench.sh's
# SESSIONS_OF) per write, null when a session closed or opened in the run.
def own: if (.cpu_s["integrations-db-set"] // 1) == 0
         then (.cpu_us_per_request | (.integrations // 0) + .["integrations-db"]) else null end;
# Per process, the median of its CPU per write over the runs.
def per_process: map(.cpu_us_per_request) as $r
  | [$r[0] | keys[]] | map({key: ., value: ([$r[][.]] | median | floor)}) | from_entries;

# The fewest of n rounds that must fall on one side of the target for a
# verdict: a sign test at 5 % (one-sided), i.e. the smallest k whose chance
# of k or more of n on one side, were the true share on the line, is at
# most 0.05 (n + 1, no verdict possible, below five rounds).
def rounds_needed($n):
  [range(0; $n + 1) as $i | reduce range(0; $i) as $j (1; . * ($n - $j) / ($j + 1))] as $c
  | ([range(0; $n + 1) | select(($c[.:] | add) / pow(2; $n) <= 0.05)] | first) // ($n + 1);

of("write-bare") as $a | of("write-subscribed") as $b
| {when: $when,
   bare: ($a | medians),
   subscribed: ($b | medians),
   per_process_us: {bare: ($a | per_process), subscribed: ($b | per_process)},
   rounds: [$a[] as $x | $b[] | select(.round == $x.round)
            | {round, bare_rps: $x.rps, subscribed_rps: .rps,
               bare_cpu_us: ($x | cpu), subscribed_cpu_us: cpu,
               own_added_us: (if ($x | own) != null and own != null then own - ($x | own) else null end)}
            | .own_added_pct = (if .own_added_us != null and .bare_cpu_us > 0
                                then .own_added_us / .bare_cpu_us * 100 else null end)
            | .added_cpu_pct = (if .bare_cpu_us > 0 then (.subscribed_cpu_us / .bare_cpu_us - 1) * 100 else null end)
            | .lost_rps_pct = (if .bare_rps > 0 then (1 - .subscribed_rps / .bare_rps) * 100 else null end)]}
| .added_cpu_pct = (.rounds | map(.added_cpu_pct) | median)
| .lost_rps_pct = (.rounds | map(.lost_rps_pct) | median)
| .own_added_us = (.rounds | map(.own_added_us | select(. != null)) | median)
| .own_added_pct = (.rounds | map(.own_added_pct | select(. != null)) | median)
| .target_pct = 10
| .target_pct as $t
| .rounds_under = (.rounds | map(select(.added_cpu_pct != null and .added_cpu_pct < $t)) | length)
| .rounds_over = (.rounds | map(select(.added_cpu_pct != null and .added_cpu_pct > $t)) | length)
| .rounds_needed = rounds_needed(.rounds | map(select(.added_cpu_pct != null)) | length)
| .verdict = (if .rounds_under >= .rounds_needed then "ok"
              elif .rounds_over >= .rounds_needed then "MISSED"
              else "not shown" end)
