-- wrk script: send the tokens of a file in rotation, one per request.
--   wrk ... -s bench/tokens.lua URL -- <tokens file>

tokens = {} -- global: bench/once.lua reads it too
local index = 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      tokens[#tokens + 1] = line
    end
  end
end

function request()
  index = index % #tokens + 1
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. tokens[index] })
end
