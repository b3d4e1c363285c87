-- acceptInvitation: each request uses the next "<session token> <invitation token>" line of
-- $PAIRS_FILE (bench/seed.py --accept-pairs); a token works once, so the file bounds the run.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local common = require("common")

local pairs_list = {}
for line in io.lines(os.getenv("PAIRS_FILE")) do
  local session, token = string.match(line, "^(%S+) (%S+)$")
  if session then table.insert(pairs_list, { session, token }) end
end
local index = 0
local query = "mutation Accept($input: InvitationTokenInput!) { acceptInvitation(input: $input) " ..
  "{ member { id role status } errors { code message } } }"

common.install(function()
  index = index + 1
  local pair = pairs_list[((index - 1) % #pairs_list) + 1]
  local body = string.format('{"query":"%s","variables":{"input":{"token":"%s"}}}', query, pair[2])
  local headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
    ["Authorization"] = "Bearer " .. pair[1],
  }
  return wrk.format("POST", nil, headers, body)
end)
