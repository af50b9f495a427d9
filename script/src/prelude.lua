-- Orbit's Lua sandbox, loaded once per Lua state as chunk "=orbit" (the error handler skips frames
-- of this chunk so errors point at the user's script, as Redis 7.0's do).
--
-- Called with the table of Rust helpers; returns the runner. Redis 7.0.15 makes the globals and
-- every library table read-only with a patched Lua (lua_enablereadonlytable); vanilla Lua 5.1 has
-- no such flag, so each protected table is an empty proxy whose metatable forwards reads to the
-- real (backing) table and refuses writes, and rawset/rawget/next/pairs/getmetatable/setmetatable
-- are wrapped so the backing tables cannot be reached or changed.
local rust = ...

local G = _G
local dbg_getinfo = debug.getinfo
local raw_error, raw_type, raw_tostring, raw_select = error, type, tostring, select
local raw_rawset, raw_rawget, raw_next = rawset, rawget, next
local raw_setmetatable, raw_getmetatable = setmetatable, getmetatable
local raw_pcall, raw_xpcall, raw_loadstring, raw_unpack = pcall, xpcall, loadstring, unpack
local raw_tonumber, raw_pairs = tonumber, pairs
local floor, concat = math.floor, table.concat
local co_resume = coroutine.resume
local killed = rust.killed
-- Functions the script calls directly go through a C trampoline (rust.cwrap), as Redis's are C
-- functions: a Lua tail call (`return redis.call(...)`) then keeps the script's frame, so errors
-- still report the script's line. Error levels inside such a function: 1 = itself,
-- 2 = the trampoline, 3 = the script.
local cwrap = rust.cwrap

local READONLY = "Attempt to modify a readonly table"

-- proxy -> backing table; weak keys are not needed: proxies live as long as the state.
local backing = {}

local function unwrap(t)
  local b = backing[t]
  if b ~= nil then return b end
  return t
end

local function refuse_write()
  raw_error(READONLY, 2)
end

local function protect(t, index)
  local proxy = {}
  backing[proxy] = t
  raw_setmetatable(proxy, { __index = index or t, __newindex = refuse_write, __metatable = false })
  return proxy
end

-- Redis's pcall: an error table with a string `err` field comes back as that string.
local function pack(...)
  return raw_select("#", ...), { ... }
end

local function check_killed()
  if killed() then raw_error(rust.kill_error, 0) end
end

local function redis_pcall(...)
  local n, r = pack(raw_pcall(...))
  if r[1] then return raw_unpack(r, 1, n) end
  check_killed()
  local e = r[2]
  if raw_type(e) == "table" then
    local m = e.err
    local mt = raw_type(m)
    if mt == "string" or mt == "number" then e = m end
  end
  return false, e
end

local function safe_xpcall(f, h)
  local n, r = pack(raw_xpcall(f, h))
  if not r[1] then check_killed() end
  return raw_unpack(r, 1, n)
end

local function safe_resume(co, ...)
  local n, r = pack(co_resume(co, ...))
  if not r[1] then check_killed() end
  return raw_unpack(r, 1, n)
end

-- Binary chunks: Redis's Lua has no undump, its lexer reads them as text and fails on char(27).
-- A leading space makes vanilla Lua do the same; the explicit chunk name keeps the message equal.
local function safe_loadstring(s, name)
  if raw_type(s) == "string" and s:byte(1) == 27 then
    return raw_loadstring(" " .. s, name or s)
  end
  return raw_loadstring(s, name)
end

local function safe_load(f, name)
  if raw_type(f) ~= "function" then
    return raw_loadstring(f, name) -- raises Lua's own argument error
  end
  local parts = {}
  while true do
    local p = f()
    if p == nil or p == "" then break end
    if raw_type(p) ~= "string" then return nil, "reader function must return a string" end
    parts[#parts + 1] = p
  end
  return safe_loadstring(concat(parts), name or "=(load)")
end

local safe_rawset = cwrap(function(t, k, v)
  if backing[t] ~= nil then raw_error(READONLY, 0) end
  return raw_rawset(t, k, v)
end)

local function safe_rawget(t, k)
  return raw_rawget(unwrap(t), k)
end

local function safe_next(t, k)
  return raw_next(unwrap(t), k)
end

local function safe_pairs(t)
  if backing[t] ~= nil then return raw_next, backing[t], nil end
  return raw_pairs(t)
end

local string_meta = raw_getmetatable("")
local function safe_getmetatable(v)
  if raw_type(v) == "string" then return rust.string_meta_proxy end
  if backing[v] ~= nil then return nil end
  return raw_getmetatable(v)
end

local safe_setmetatable = cwrap(function(t, mt)
  if backing[t] ~= nil then raw_error(READONLY, 0) end
  return raw_setmetatable(t, mt)
end)

-- ---------------------------------------------------------------------------------------------
-- The `redis` table.
local current = nil -- the Rust redis.call of the running script (a scoped function)

local function not_in_script(what)
  raw_error({ err = "ERR " .. what .. " can only be called inside a script invocation" }, 0)
end

local redis = {}
redis.call = function(...)
  if current == nil then not_in_script("redis.call/pcall") end
  local is_err, r = current(...)
  if is_err then raw_error(r, 0) end
  return r
end
redis.pcall = function(...)
  if current == nil then not_in_script("redis.call/pcall") end
  local _, r = current(...)
  return r
end
redis.sha1hex = function(...)
  if raw_select("#", ...) ~= 1 then raw_error({ err = "ERR wrong number of arguments" }, 0) end
  local s = ...
  local t = raw_type(s)
  if t ~= "string" and t ~= "number" then s = "" end
  return rust.sha1hex(raw_tostring(s))
end
redis.error_reply = function(...)
  local s = ...
  if raw_select("#", ...) ~= 1 or raw_type(s) ~= "string" then
    return { err = "ERR wrong number or type of arguments" }
  end
  if s:byte(1) ~= 45 then s = "-" .. s end
  return { err = rust.error_text(s) }
end
redis.status_reply = function(...)
  local s = ...
  if raw_select("#", ...) ~= 1 or raw_type(s) ~= "string" then
    return { err = "ERR wrong number or type of arguments" }
  end
  return { ok = s }
end
redis.log = function(...)
  local argc = raw_select("#", ...)
  if argc < 2 then raw_error({ err = "ERR redis.log() requires two arguments or more." }, 0) end
  local level = ...
  if raw_tonumber(level) == nil then
    raw_error({ err = "ERR First argument must be a number (log level)." }, 0)
  end
  level = rust.trunc(raw_tonumber(level))
  if level < 0 or level > 3 then raw_error({ err = "ERR Invalid debug level." }, 0) end
  local parts = {}
  for i = 2, argc do
    local v = raw_select(i, ...)
    local t = raw_type(v)
    if t == "string" or t == "number" then parts[#parts + 1] = raw_tostring(v) end
  end
  rust.log(level, concat(parts, " "))
end
redis.LOG_DEBUG = 0
redis.LOG_VERBOSE = 1
redis.LOG_NOTICE = 2
redis.LOG_WARNING = 3
redis.setresp = function(...)
  if current == nil then not_in_script("redis.setresp") end
  if raw_select("#", ...) ~= 1 then raw_error({ err = "ERR redis.setresp() requires one argument." }, 0) end
  local v = raw_tonumber((...)) or 0
  v = rust.trunc(v)
  if v ~= 2 and v ~= 3 then raw_error({ err = "ERR RESP version must be 2 or 3." }, 0) end
  rust.setresp(v)
end
redis.set_repl = function(...)
  if current == nil then not_in_script("redis.set_repl") end
  if raw_select("#", ...) ~= 1 then raw_error({ err = "ERR redis.set_repl() requires two arguments." }, 0) end
  local flags = rust.trunc(raw_tonumber((...)) or 0)
  if flags < 0 or flags > 3 then
    raw_error({ err = "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE." }, 0)
  end
  rust.set_repl(flags)
end
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.REPL_NONE = 0
redis.REPL_AOF = 1
redis.REPL_SLAVE = 2
redis.REPL_REPLICA = 2
redis.REPL_ALL = 3
redis.REDIS_VERSION = rust.version
redis.REDIS_VERSION_NUM = rust.version_num

-- ---------------------------------------------------------------------------------------------
-- math.random/randomseed: Redis's rand48 so sequences match Redis's.
local function checkint(v, i, name, argc)
  local n = raw_tonumber(v)
  if n == nil then
    local got = i > argc and "no value" or raw_type(v)
    raw_error("bad argument #" .. i .. " to '" .. name .. "' (number expected, got " .. got .. ")", 4)
  end
  return rust.trunc(n)
end
local math_t = G.math
math_t.random = function(...)
  local argc = raw_select("#", ...)
  local r = rust.rand48()
  if argc == 0 then return r end
  local a, b = ...
  if argc == 1 then
    local u = checkint(a, 1, "random", argc)
    if u < 1 then raw_error("bad argument #1 to 'random' (interval is empty)", 3) end
    return floor(r * u) + 1
  elseif argc == 2 then
    local l = checkint(a, 1, "random", argc)
    local u = checkint(b, 2, "random", argc)
    if l > u then raw_error("bad argument #2 to 'random' (interval is empty)", 3) end
    return floor(r * (u - l + 1)) + l
  end
  raw_error("wrong number of arguments", 3)
end
math_t.randomseed = function(...)
  rust.srand48(checkint((...), 1, "randomseed", raw_select("#", ...)))
end

-- ---------------------------------------------------------------------------------------------
-- bit (LuaBitOp's API; the arithmetic is in Rust).
local function bitarg(v, i, name, argc)
  local n = raw_tonumber(v)
  if n == nil then
    local got = i > argc and "no value" or raw_type(v)
    raw_error("bad argument #" .. i .. " to '" .. name .. "' (number expected, got " .. got .. ")", 4)
  end
  return n
end
local bit = {}
local bitops = rust.bit
local function bit_fold(name, op)
  bit[name] = function(...)
    local argc = raw_select("#", ...)
    local acc = bitops.tobit(bitarg((...), 1, name, argc))
    for i = 2, argc do acc = bitops[op](acc, bitarg((raw_select(i, ...)), i, name, argc)) end
    return acc
  end
end
bit_fold("band", "band")
bit_fold("bor", "bor")
bit_fold("bxor", "bxor")
bit.tobit = function(...) return bitops.tobit(bitarg((...), 1, "tobit", raw_select("#", ...))) end
bit.bnot = function(...) return bitops.bnot(bitarg((...), 1, "bnot", raw_select("#", ...))) end
bit.bswap = function(...) return bitops.bswap(bitarg((...), 1, "bswap", raw_select("#", ...))) end
local function bit_shift(name)
  bit[name] = function(...)
    local argc = raw_select("#", ...)
    local x, n = ...
    return bitops[name](bitarg(x, 1, name, argc), bitarg(n, 2, name, argc))
  end
end
bit_shift("lshift")
bit_shift("rshift")
bit_shift("arshift")
bit_shift("rol")
bit_shift("ror")
bit.tohex = function(...)
  local argc = raw_select("#", ...)
  local x, n = ...
  x = bitarg(x, 1, "tohex", argc)
  if n == nil then n = 8 else n = bitarg(n, 2, "tohex", argc) end
  return bitops.tohex(x, n)
end

-- ---------------------------------------------------------------------------------------------
-- Globals: everything a Redis 7.0.15 script sees, and nothing else (no os, io, debug, print,
-- dofile, loadfile, require, module, getfenv, setfenv, newproxy).
local base = {}
for _, name in raw_next, {
  "assert", "collectgarbage", "error", "gcinfo", "ipairs", "select", "tonumber", "tostring",
  "type", "unpack", "rawequal", "_VERSION",
} do
  base[name] = G[name]
end
base.pcall = redis_pcall
base.xpcall = safe_xpcall
base.loadstring = safe_loadstring
base.load = safe_load
base.rawset = safe_rawset
base.rawget = safe_rawget
base.next = safe_next
base.pairs = safe_pairs
base.getmetatable = safe_getmetatable
base.setmetatable = safe_setmetatable

local co = {}
for k, v in raw_next, G.coroutine do co[k] = v end
co.resume = safe_resume

for _, lib in raw_next, { redis, bit } do
  for k, v in raw_next, lib do
    if raw_type(v) == "function" then lib[k] = cwrap(v) end
  end
end
math_t.random = cwrap(math_t.random)
math_t.randomseed = cwrap(math_t.randomseed)

base.string = protect(G.string)
base.table = protect(G.table)
base.math = protect(math_t)
base.coroutine = protect(co)
base.redis = protect(redis)
base.bit = protect(bit)

-- ("x"):upper() goes through the string metatable; point it at the proxy and hide the metatable.
string_meta.__index = base.string
rust.string_meta_proxy = protect(string_meta)

-- The error handler of Redis 7.0 (eval.c), with Orbit's own frames skipped.
local function err_handler(err)
  local lvl = 2
  local i = dbg_getinfo(lvl, "nSl")
  if i and i.what == "C" then
    lvl = lvl + 1
    i = dbg_getinfo(lvl, "nSl")
  end
  while i and i.source == "=orbit" do
    lvl = lvl + 1
    i = dbg_getinfo(lvl, "nSl")
    if i and i.what == "C" then
      lvl = lvl + 1
      i = dbg_getinfo(lvl, "nSl")
    end
  end
  if raw_type(err) ~= "table" then
    err = { err = "ERR " .. raw_tostring(err) }
  end
  if i then
    err["source"] = i.source
    err["line"] = i.currentline
  end
  return err
end

-- Replace the real globals table's contents by the read-only view of `base`.
local globals_proxy_meta = {
  __index = function(_, name)
    local v = base[name]
    if v == nil then
      raw_error("Script attempted to access nonexistent global variable '" .. raw_tostring(name) .. "'", 2)
    end
    return v
  end,
  __newindex = refuse_write,
  __metatable = false,
}
local names = {}
for k in raw_next, G do names[#names + 1] = k end
for _, k in raw_next, names do raw_rawset(G, k, nil) end
backing[G] = base
base._G = G
raw_setmetatable(G, globals_proxy_meta)

-- The runner: runs `f` with `call` as redis.call's backend; returns ok, value.
local function run(f, call)
  current = call
  local ok, v = raw_xpcall(f, err_handler)
  current = nil
  return ok, v
end

return run, base
