-- wrk script of `make bench` (deploy/local/bench.sh): the request, from the
-- environment, and one line of results for the script to read.
--
--   BENCH_METHOD     GET (default) or POST
--   BENCH_BODY_FILE  the body of every request, sent with
--                    Content-Type: application/json
--   BENCH_HEADERS    more headers, "Name: value" one a line (here rather
--                    than in -H options, so that no key is on a command line)
--
-- At the end it prints one line, "bench-result " and a JSON object:
-- requests completed, seconds, bytes read, errors (connect, read, write,
-- timeout, and status: replies of 400 or more) and the latency percentiles
-- in microseconds.
local method = os.getenv("BENCH_METHOD")
if method ~= nil and method ~= "" then
  wrk.method = method
end
local body_file = os.getenv("BENCH_BODY_FILE")
if body_file ~= nil and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
end
local headers = os.getenv("BENCH_HEADERS")
if headers ~= nil then
  for name, value in headers:gmatch("([^:\n]+):%s*([^\n]*)") do
    wrk.headers[name] = value
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'bench-result {"requests":%d,"seconds":%.6f,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration / 1e6, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
