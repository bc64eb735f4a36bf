-- One wrk script for every gatehouse operation in scripts/bench.sh: OP (env) picks it, creds.lua
-- (written by setup.py) holds the session key and tokens. Writes get unique client ids.
dofile(os.getenv("CREDS"))
local op = os.getenv("OP")
local counter = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

-- Clock In (many employees): each thread takes every other signed-in employee of `clockers`
-- (setup.py --clockers) and goes round them, each employee alternating in and out, so every
-- request records a new punch (a second clock-in while clocked in would be a 409).
local mine, turn, dir = {}, 0, {}

function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0))
  if clockers then
    -- bench.sh runs wrk -t2: thread 1 takes the odd ones, thread 2 the even ones.
    for i = tid or 1, #clockers, 2 do mine[#mine + 1] = clockers[i] end
  end
end

local function da_headers()
  counter = counter + 1
  return {
    ["x-app-key"] = app_key,
    ["x-request-id"] = string.format("b%d-%d-%d", tid or 0, counter, math.random(1, 1e9)),
    ["x-language"] = "en",
    ["authorization"] = "Bearer " .. access,
    ["x-user-token"] = user_token,
    ["content-type"] = "application/json",
  }
end

local cl = { ["content-type"] = "application/json" }

function request()
  if op == "gatepass" then
    counter = counter + 1
    local gp = string.format("B%d-%d-%d", math.random(1, 1e6), counter, math.random(1, 1e9))
    return wrk.format("POST", "/codelayer/frontoffice_poabs/gatepass_save", cl,
      '{"key":"' .. gate_key .. '","gpno":"' .. gp .. '","kind":"visitor","name":"Asha Raman",' ..
      '"phone":"+919445295492","id_type":"Aadhaar","id_number":"XXXX-4321","host":"Estate Manager",' ..
      '"purpose":"audit","gate":"North","guard":"Ravi"}')
  elseif op == "labor" then
    return wrk.format("POST", "/codelayer/estate/sync/labors", cl, '{"key":"' .. key .. '"}')
  elseif op == "faces" then
    return wrk.format("POST", "/codelayer/estate/sync/faces", cl,
      '{"key":"' .. key .. '","firmID":"1","version":' .. face_version .. '}')
  elseif op == "task_save" then
    return wrk.format("POST", "/daily/v1/tasks", da_headers(), '{"title":"Bench task"}')
  elseif op == "task_named" then
    -- Tasks as an estate names them: work, place and number vary, about 60 characters.
    local work = { "Weeding", "Pruning", "Fence repair", "Drain clearing", "Manuring", "Spraying",
      "Plucking round", "Road grading", "Culvert check", "Shade lopping" }
    local where = { "north", "south", "river", "hill", "nursery", "factory" }
    local h = da_headers()
    local n = counter * 7 + (tid or 0)
    return wrk.format("POST", "/daily/v1/tasks", h, string.format(
      '{"title":"%s block %d %s","description":"Gang %d, see the field book for section %d"}',
      work[n % #work + 1], n % 97, where[n % #where + 1], n % 23, n % 211))
  elseif op == "clock" then
    turn = turn % #mine + 1
    local c = mine[turn]
    local d = dir[turn] == "in" and "out" or "in"
    dir[turn] = d
    counter = counter + 1
    return wrk.format("POST", "/daily/v1/attendances/clock-" .. d, {
      ["x-app-key"] = app_key,
      ["x-request-id"] = string.format("c%d-%d-%d", tid or 0, counter, math.random(1, 1e9)),
      ["x-language"] = "en",
      ["authorization"] = "Bearer " .. c[2],
      ["x-user-token"] = c[1],
      ["content-type"] = "application/json",
    }, '{"latitude":8.9600,"longitude":77.3000,"accuracy":10}')
  elseif op == "task_list" then
    return wrk.format("GET", "/daily/v1/tasks", da_headers())
  elseif op == "da_get" then
    -- Any Daily Activity read, signed in as the bench user: PATH_ (e.g. a filtered task list).
    return wrk.format("GET", os.getenv("PATH_"), da_headers())
  elseif op == "today" then
    -- Attendance Today as the signed-in employees of `clockers` (their day, with the punches
    -- the Clock In row made), going round them.
    turn = turn % #mine + 1
    local c = mine[turn]
    counter = counter + 1
    return wrk.format("GET", "/daily/v1/attendances/today", {
      ["x-app-key"] = app_key,
      ["x-request-id"] = string.format("t%d-%d-%d", tid or 0, counter, math.random(1, 1e9)),
      ["x-language"] = "en",
      ["authorization"] = "Bearer " .. c[2],
      ["x-user-token"] = c[1],
    })
  elseif op == "pb_create" then
    return wrk.format("POST", "/api/collections/bench/records", cl, '{"title":"Bench task"}')
  elseif op == "pb_list" then
    return wrk.format("GET", "/api/collections/bench/records?perPage=20")
  else
    return wrk.format("GET", os.getenv("PATH_") or "/")
  end
end

local bad = 0
-- Only when asked (CHECK=1): a response callback makes wrk hand every body to Lua.
if os.getenv("CHECK") then function response(status, headers, body)
  if status >= 300 or (body and string.find(body, '"e":[45]%d%d')) then
    bad = bad + 1
    if bad <= 2 then io.stderr:write(op .. ": " .. status .. " " .. string.sub(body or "", 1, 200) .. "\n") end
  end
end
end
