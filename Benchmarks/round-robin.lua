-- wrk script: each connection cycles through the session cookies listed (one per line) in the
-- file named by the COOKIES environment variable, so the load touches every session in turn:
-- with 1000 sessions, the realistic case, where no request finds its session already in flight on
-- the node; with one line, one hot session. A RESULT line with req/s and latency percentiles is
-- printed for Benchmarks/wrk-sample.sh.
--   COOKIES=cookies.txt wrk -s Benchmarks/round-robin.lua http://127.0.0.1:8090/myapp/count
local cookies = {}
local index = 0

function init(args)
  local path = os.getenv("COOKIES")
  for line in io.lines(path) do
    if #line > 0 then cookies[#cookies + 1] = line end
  end
  -- Connections start at different places in the list.
  index = math.random(#cookies)
end

function request()
  index = index % #cookies + 1
  return wrk.format(nil, nil, { ["Cookie"] = cookies[index] })
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d requests=%d\n",
    summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors, summary.requests))
end
