-- wrk script: send every token of a file once (the warm-up of the warm-rotation and memory
-- workloads). With -t1 only: each wrk thread has its own state.
--   wrk -t1 ... -s bench/once.lua URL -- <tokens file>
-- Once every token is out, the connections still open send the first token again (a cache hit)
-- until every token was answered; then the thread stops sending. wrk's own clock still runs
-- its full -d: bench/load.sh interrupts it once the server has verified every token.

local tokens = {}
local sent = 0
local answered = 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      tokens[#tokens + 1] = line
    end
  end
end

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
