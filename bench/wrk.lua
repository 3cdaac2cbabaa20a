-- wrk script for bench/run.py: optional POST body, rotating paths, and a JSON summary.
--   BENCH_WRK_METHOD  GET (default) or POST
--   BENCH_WRK_BODY    request body for POST (form-encoded)
--   BENCH_WRK_PATHS   space-separated paths to cycle through (default: the URL's path)
local method = os.getenv("BENCH_WRK_METHOD") or "GET"
local body = os.getenv("BENCH_WRK_BODY")
local paths = {}
for p in string.gmatch(os.getenv("BENCH_WRK_PATHS") or "", "%S+") do
  table.insert(paths, p)
end

wrk.method = method
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

if #paths > 0 then
  local i = 0
  request = function()
    i = i + 1
    return wrk.format(nil, paths[(i % #paths) + 1])
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "status_errors": %d, ' ..
    '"timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
