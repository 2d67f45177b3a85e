-- wrk script: send every token of a file once (the warm-up of the warm-rotation and memory
-- workloads). With -t1 only: each wrk thread has its own state.
--   wrk -t1 ... -s bench/once.lua URL -- <tokens file>      (run from the repository's root)
-- Once every token is out, the connections still open send the first token again (a cache hit)
-- until every token was answered; then the thread stops sending. wrk's own clock still runs
-- its full -d: bench/load.sh interrupts it once the server has verified every token.
-- A script of its own because it reads responses: wrk parses every response only for a script
-- that has a `response` function, and the timed workloads' bench/tokens.lua must not.

dofile("bench/tokens.lua") -- init: the tokens file into `tokens`

local sent = 0
local answered = 0

function request()
  local token = tokens[1]
  if sent < #tokens then
    sent = sent + 1
    token = tokens[sent]
  end
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. token })
end

function response(status, headers, body)
  answered = answered + 1
  if answered >= #tokens then
    wrk.thread:stop()
  end
end
