-- wrk script for POST /msl (docs/benchmarks.md, issue 20 item 8): posts the file named by
-- $MSL_BODY (a captured MSL message) as MSL's Java client does (form content type, raw body),
-- and counts the answers: MSL messages, MSL error headers, anything else.
local f = assert(io.open(os.getenv("MSL_BODY"), "rb"))
local body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) msgs = 0; errs = 0; other = 0 end
function response(status, headers, b)
  if status ~= 200 then other = other + 1
  elseif b:find('"errordata"', 1, true) then errs = errs + 1
  elseif b:find('"keyresponsedata"', 1, true) or b:find('"headerdata"', 1, true) then msgs = msgs + 1
  else other = other + 1 end
end
function done(summary, latency, requests)
  local m, e, o = 0, 0, 0
  for _, t in ipairs(threads) do m = m + t:get("msgs"); e = e + t:get("errs"); o = o + t:get("other") end
  io.write(string.format("answers: %d messages, %d error headers, %d other\n", m, e, o))
end
