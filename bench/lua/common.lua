-- Shared by every scenario: POST JSON to /graphql, count bad answers, report percentiles.
-- A scenario sets `make_request` (or uses the fixed body from BODY_FILE) before returning.
local M = {}

local threads = {}

function M.read_file(path)
  local f = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
  local data = f:read("*a")
  f:close()
  return data
end

function M.install(make_request)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
  local token = os.getenv("TOKEN")
  if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
  local body_file = os.getenv("BODY_FILE")
  if body_file and body_file ~= "" then
    wrk.body = M.read_file(body_file)
  end

  function setup(thread)
    table.insert(threads, thread)
  end

  function init(args)
    non2xx = 0
    gql_errors = 0
    responses = 0
    if M.on_init then M.on_init(args) end
  end

  if make_request then
    request = make_request
  end

  function response(status, headers, body)
    responses = responses + 1
    if status < 200 or status > 299 then
      non2xx = non2xx + 1
    elseif body and string.find(body, '"errors":[{', 1, true) then
      -- a top-level GraphQL error or a UserError in a mutation payload
      gql_errors = gql_errors + 1
    end
  end

  function done(summary, latency, requests)
    local bad, errs = 0, 0
    for _, t in ipairs(threads) do
      bad = bad + (t:get("non2xx") or 0)
      errs = errs + (t:get("gql_errors") or 0)
    end
    local e = summary.errors
    io.write(string.format(
      'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,' ..
      '"max_us":%d,"non2xx":%d,"gql_errors":%d,"timeouts":%d,"connect_errors":%d,' ..
      '"read_errors":%d,"write_errors":%d}\n',
      summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
      bad, errs, e.timeout, e.connect, e.read, e.write))
  end
end

return M
