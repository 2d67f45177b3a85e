-- wrk script: one token with a different pre-made proof per request.
--   wrk ... -s bench/dpop.lua URL -- <token file> <proofs file> <scheme: DPoP or Bearer>
-- With the Bearer scheme no proof is sent. Each proof is sent once: when they run out, wrk stops
-- sending proofs it has already sent (the requests after that are replays, counted as non-2xx).

local token
local proofs = {}
local index = 0
local scheme

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then token = line end
  end
  scheme = args[3]
  if scheme == "DPoP" then
    for line in io.lines(args[2]) do
      if #line > 0 then proofs[#proofs + 1] = line end
    end
  end
end

function request()
  if scheme ~= "DPoP" then
    return wrk.format("GET", nil, { ["Authorization"] = scheme .. " " .. token })
  end
  index = index % #proofs + 1
  return wrk.format("GET", nil, { ["Authorization"] = "DPoP " .. token, ["DPoP"] = proofs[index] })
end
