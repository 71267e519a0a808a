# `make bench`: the summary (summary.jq) as rows of a table, tab-separated:
# request, figure, measured (median, and the spread min-max over the
# rounds), target, verdict. bench.sh lays them out.

def fixed($d): if . == null then "-" else
  (. * pow(10; $d) | round) as $n
  | if $d == 0 then ($n | tostring)
    else ($n | fabs | tostring) as $s
      | ("0" * ([$d + 1 - ($s | length), 0] | max) + $s) as $p
      | (if $n < 0 then "-" else "" end) + $p[0:-$d] + "." + $p[-$d:] end end;
def commas: tostring | if test("^[0-9]{4,}") then
  capture("^(?<i>[0-9]+)(?<f>.*)$") as $m
  | ($m.i | explode | reverse | [range(0; length; 3) as $j | .[$j:$j + 3]] | map(reverse | implode) | reverse | join(",")) + $m.f
  else . end;
# A figure with its spread: "4,788 (4,600-5,100)".
def spread($d): if . == null then "-"
  elif .min == .max then (.median | fixed($d) | commas)
  else "\(.median | fixed($d) | commas) (\(.min | fixed($d) | commas)-\(.max | fixed($d) | commas))" end;
def digits: if . == null then 0 elif . >= 100 then 0 elif . >= 10 then 1 else 2 end;

(.checks | group_by(.kind) | map({key: .[0].kind, value: .}) | from_entries) as $checks
| def verdict($kind; $figure):
    [($checks[$kind] // [])[] | select(.figure == $figure)] | first // null;
  def row($lab; $figure; $measured; $kind; $check):
    (verdict($kind; $check) // {target: "", verdict: ""}) as $v
    | [$lab, $figure, $measured, $v.target, $v.verdict] | @tsv;
  .kinds[] as $x
  | row($x.label; "requests/s"; $x.rps | spread(0); $x.kind; ""),
    row(""; "p50 ms"; $x.p50_ms | spread(2); $x.kind; ""),
    row(""; "p99 ms"; $x.p99_ms | spread(2); $x.kind; "p99 ms"),
    (if $x.errors > 0 then row(""; "errors (all runs)"; $x.errors | tostring; $x.kind; "") else empty end),
    row(""; "bytes per reply"; $x.reply_bytes | fixed(0) | commas; $x.kind; ""),
    (if $x.x_nginx then row(""; "x nginx"; $x.x_nginx | spread(2); $x.kind; "x nginx") else empty end),
    (if $x.peer then row(""; "x grpc-gateway"; (if $x.x_peer then $x.x_peer | spread(2) else "skipped" end); $x.kind; "x grpc-gateway") else empty end),
    (verdict($x.kind; "gateway CPU vs grpc-gateway") | select(. != null and .against != null)
     | .measured as $m | .against as $g
     | row(""; "gateway CPU vs grpc-gateway"; "\($m | fixed($m | digits)) vs \($g | fixed($g | digits)) us"; $x.kind;
           "gateway CPU vs grpc-gateway")),
    (if $x.read then row(""; "x the read (\($x.read))"; $x.x_read | spread(2); $x.kind; "") else empty end),
    (if $x.x_floor then row(""; "x the floor"; $x.x_floor | spread(2); $x.kind; "") else empty end),
    ($x.shown[] as $p | select($x.cpu_us_per_request[$p])
     | $x.cpu_us_per_request[$p] as $c
     | row(""; "CPU us/request \($p)"; $c | spread($c.median | digits); $x.kind;
           "\($p) CPU us/request")),
    ([$x.shown[] as $p | select($x.rss_mib[$p]) | "\($p) \($x.rss_mib[$p] | fixed(1))"]
     | select(length > 0) | row(""; "peak RSS MiB"; join(", "); $x.kind; "peak RSS MiB"))
