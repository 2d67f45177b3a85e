-- wrk script: a forgery flood, as an attacker without any credentials sends it. Every request
-- carries the header and claims of a real token (iss, kid and aud are public knowledge) with a
-- fresh random signature of the same length, so every token is distinct, well-formed, and costs
-- a full signature check. Counts the answers by status; `done` prints them.
--   wrk ... -s bench/forge.lua URL -- <file whose first line is a token to imitate>

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local prefix, length
local threads = {}
statuses = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  local token = io.lines(args[1])()
  prefix = token:match("^(.*)%.")
  length = #token - #prefix - 1
  math.randomseed(os.time() + #threads)
end

function request()
  local signature = {}
  for i = 1, length do
    local n = math.random(1, 64)
    signature[i] = alphabet:sub(n, n)
  end
  return wrk.format("GET", nil, {
    ["Authorization"] = "Bearer " .. prefix .. "." .. table.concat(signature),
  })
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      io.write(string.format("status %d %d\n", status, count))
    end
  end
end
