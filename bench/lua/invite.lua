-- inviteMember with a fresh email on every request ($ORG is the organization's global id).
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local common = require("common")

local org = os.getenv("ORG")
local run = os.getenv("RUN_TAG") or tostring(os.time())
local query = "mutation Invite($input: InviteMemberInput!) { inviteMember(input: $input) " ..
  "{ invitation { id email status expiresAt } errors { code message } } }"
local counter = 0

common.on_init = function(args)
  counter = 0
end

common.install(function()
  counter = counter + 1
  local email = string.format("bench.%s.%d@newhire.example", run, counter)
  local body = string.format(
    '{"query":"%s","variables":{"input":{"organizationId":"%s","email":"%s","role":"USER"}}}',
    query, org, email)
  return wrk.format("POST", nil, nil, body)
end)
