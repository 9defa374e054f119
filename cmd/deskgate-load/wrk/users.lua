-- users.lua: wrk requests for one user each, through either API.
--
--   DG_AUTH    the Authorization header, e.g. "Basic $(printf %s 'owner@example.com/token:TOKEN' | base64)"
--   DG_PATH    the path, %d for the user id: /api/v2/users/%d or /users/%d.xml
--   DG_USERS   users seeded by deskgate-load -seed-users (ids 2 to DG_USERS+1; the owner is 1)
--   DG_IDS     all (default); groups: the seeded agents, each in a group; plain: the others
--   DG_WRITES  percent of requests that change the user instead (PUT /api/v2/users/%d); default 0
local auth = os.getenv("DG_AUTH")
local path = os.getenv("DG_PATH") or "/api/v2/users/%d"
local users = tonumber(os.getenv("DG_USERS") or "1000")
local ids = os.getenv("DG_IDS") or "all"
local writes = tonumber(os.getenv("DG_WRITES") or "0")

function init()
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

-- The seed puts every 20th user (id 21, 41, ...) in a group.
local function id()
  if ids == "groups" then
    return 20 * math.random(1, math.floor(users / 20)) + 1
  end
  local n = math.random(2, users + 1)
  if ids == "plain" and n % 20 == 1 then
    n = n - 1
  end
  return n
end

function request()
  local n = id()
  if math.random(1, 100) <= writes then
    return wrk.format("PUT", string.format("/api/v2/users/%d", n),
      { ["Authorization"] = auth, ["Content-Type"] = "application/json" },
      string.format('{"user":{"notes":"load %d"}}', math.random(1, 1e9)))
  end
  return wrk.format("GET", string.format(path, n), { ["Authorization"] = auth })
end
