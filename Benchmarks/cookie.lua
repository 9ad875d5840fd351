-- wrk script: every request carries the Cookie header from $SESSION_COOKIE (one shared session),
-- and a RESULT line with req/s and latency percentiles is printed for the benchmark script.
local cookie = os.getenv("SESSION_COOKIE")
if cookie ~= nil and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d requests=%d\n",
    summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors, summary.requests))
end
