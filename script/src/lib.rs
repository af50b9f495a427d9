//! Redis 7.0 Lua scripting (EVAL, EVALSHA, SCRIPT LOAD/EXISTS/FLUSH) as a synchronous engine: one
//! Lua 5.1 state per shard thread, a script cache keyed by SHA1, and Redis 7.0.15's sandbox, type
//! conversions and error texts. The caller runs the commands a script issues (`call`), so which
//! commands are allowed and where keys live stay in the connection layer.
//!
//! Specs: <https://redis.io/docs/interact/programmability/lua-api/> and Redis 7.0's `eval.c`,
//! `script_lua.c`. What differs from Redis is listed in `docs` of [`Scripts`].

mod bit;
mod convert;
mod rand48;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};
use orbit_engine::reply::Reply;
use rustc_hash::FxHashMap;

pub use convert::error_reply;

/// Error texts the `call` closure returns for commands a script may not run, as Redis 7.0 words
/// them (`scriptCall` in script.c). The script layer adds ` script: <sha>, on @user_script:<line>.`
pub mod errors {
    pub const UNKNOWN_COMMAND: &str = "ERR Unknown Redis command called from script";
    pub const WRONG_ARITY: &str = "ERR Wrong number of args calling Redis command from script";
    pub const NOT_ALLOWED: &str = "ERR This Redis command is not allowed from script";
    pub const WRITE_IN_READ_ONLY: &str = "ERR Write commands are not allowed from read-only scripts.";
    pub const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";
}

/// Redis 7.0.15 as `redis.REDIS_VERSION` / `redis.REDIS_VERSION_NUM` report it.
const REDIS_VERSION: &str = "7.0.15";
const REDIS_VERSION_NUM: i64 = 0x0007_000f;

/// Instructions between two checks of the time budget (Redis checks every 100000; a check is one
/// `Instant::now()`, cheap enough to do more often so the budget is kept more tightly).
const HOOK_EVERY_INSTRUCTIONS: u32 = 10_000;

/// Redis runs one GC step every 50 scripts (`LUA_GC_CYCLE_PERIOD`).
const GC_EVERY_RUNS: u32 = 50;

/// Limits of one Lua state. Redis has no hard limits: it answers BUSY to other clients after
/// `busy-reply-threshold` (5 s) and waits for SCRIPT KILL. A shard thread cannot serve others
/// while a script runs, so Orbit aborts a script that runs past `time_limit` instead.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Wall time one script may run before it is aborted with [`Scripts::kill_error`].
    pub time_limit: Duration,
    /// Memory of the whole Lua state (scripts, cache, data); an allocation past it fails with
    /// Lua's `not enough memory` error.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { time_limit: Duration::from_secs(5), memory_bytes: 256 << 20 }
    }
}

/// The time budget of the script running on this thread. A thread-local rather than a field of
/// [`Scripts`] because the count hook is a plain C hook (mlua's hooks skip coroutines), and a
/// thread runs at most one script at a time (a script cannot start another).
mod clock {
    use std::cell::Cell;
    use std::time::Instant;

    thread_local! {
        static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
        static KILLED: Cell<bool> = const { Cell::new(false) };
    }

    pub fn start(deadline: Instant) {
        DEADLINE.with(|d| d.set(Some(deadline)));
        KILLED.with(|k| k.set(false));
    }

    /// Ends the run; returns whether it was killed.
    pub fn stop() -> bool {
        DEADLINE.with(|d| d.set(None));
        KILLED.with(|k| k.replace(false))
    }

    pub fn killed() -> bool {
        KILLED.with(|k| k.get())
    }

    /// Called by the count hook: true once the deadline has passed (and from then on).
    pub fn expired() -> bool {
        if killed() {
            return true;
        }
        let Some(deadline) = DEADLINE.with(|d| d.get()) else { return false };
        if Instant::now() >= deadline {
            KILLED.with(|k| k.set(true));
            return true;
        }
        false
    }
}

/// State shared by the Lua callbacks (redis.* helpers) of one run.
struct RunState {
    /// `redis.setresp`: the protocol of the script's own client (2 or 3).
    resp: Cell<u8>,
    /// `redis.set_repl` flags of the current run (REPL_ALL by default).
    repl: Cell<u8>,
    rand: Cell<rand48::Rand48>,
}

struct Script {
    func: Function,
    body: Bytes,
}

/// One Lua state with Redis's sandbox and the script cache. Not `Send`: each shard thread owns one.
///
/// Deviations from Redis 7.0.15:
/// - a script running past [`Limits::time_limit`] is aborted (Redis waits for SCRIPT KILL);
/// - `cjson`, `cmsgpack`, `struct` and `redis.acl_check_cmd` are not provided;
/// - read-only tables are emulated with proxies: `#`/`ipairs` on a library table (e.g. `#string`)
///   see an empty table;
/// - a reply nested deeper than [`MAX_REPLY_DEPTH`] ends in `ERR reached lua stack limit` at a
///   smaller depth than Redis (7995).
pub struct Scripts {
    lua: Lua,
    runner: Function,
    /// The backing table of the globals: KEYS and ARGV are set here for each run.
    globals: Table,
    state: Rc<RunState>,
    cache: FxHashMap<String, Script>,
    limits: Limits,
    runs: u32,
}

/// Deepest Lua table nesting converted into a reply.
pub const MAX_REPLY_DEPTH: usize = 1000;

impl Default for Scripts {
    fn default() -> Self {
        Scripts::new()
    }
}

impl Scripts {
    pub fn new() -> Scripts {
        Scripts::with_limits(Limits::default())
    }

    /// `limits.memory_bytes` is raised to at least 4 MiB (room for the sandbox itself).
    pub fn with_limits(mut limits: Limits) -> Scripts {
        limits.memory_bytes = limits.memory_bytes.max(4 << 20);
        let state =
            Rc::new(RunState { resp: Cell::new(2), repl: Cell::new(3), rand: Cell::new(rand48::Rand48::new()) });
        // The prelude is fixed code; a failure here is a bug in this crate, not script input.
        let (lua, runner, globals) = match build_state(&state, &limits) {
            Ok(parts) => parts,
            Err(e) => panic!("orbit-script: the Lua prelude failed to load: {e}"),
        };
        Scripts { lua, runner, globals, state, cache: FxHashMap::default(), limits, runs: 0 }
    }

    /// The reply of a script aborted by the time limit.
    pub fn kill_error(&self) -> String {
        kill_error_text(&self.limits)
    }

    /// SCRIPT LOAD, and EVAL's first step: compiles `body` (or finds it cached) and returns its
    /// lowercase hex SHA1. A compile error is the reply Redis 7.0 gives.
    pub fn load(&mut self, body: &[u8]) -> Result<String, Reply> {
        let sha = sha1hex(body);
        if self.cache.contains_key(&sha) {
            return Ok(sha);
        }
        // Redis's Lua has no undump: a binary chunk is lexed as text and fails on char(27).
        let source: Vec<u8> = if body.first() == Some(&27) {
            let mut s = Vec::with_capacity(body.len() + 1);
            s.push(b' ');
            s.extend_from_slice(body);
            s
        } else {
            body.to_vec()
        };
        let func = self
            .lua
            .load(&source[..])
            .set_name("@user_script")
            .set_mode(mlua::ChunkMode::Text)
            .into_function()
            .map_err(|e| {
                let msg = match e {
                    mlua::Error::SyntaxError { message, .. } => message,
                    mlua::Error::MemoryError(m) => m,
                    other => other.to_string(),
                };
                error_reply(format!("ERR Error compiling script (new function): {msg}").as_bytes())
            })?;
        self.cache.insert(sha.clone(), Script { func, body: Bytes::copy_from_slice(body) });
        Ok(sha)
    }

    /// SCRIPT EXISTS: the SHA is matched case-insensitively, as Redis does.
    pub fn exists(&self, sha: &str) -> bool {
        self.cache.contains_key(&sha.to_ascii_lowercase())
    }

    /// The body of a cached script.
    pub fn body(&self, sha: &str) -> Option<Bytes> {
        self.cache.get(&sha.to_ascii_lowercase()).map(|s| s.body.clone())
    }

    /// Number of cached scripts (INFO's `number_of_cached_scripts`).
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// Bytes used by the Lua state (INFO's `used_memory_lua`).
    pub fn memory_bytes(&self) -> usize {
        self.lua.used_memory()
    }

    /// SCRIPT FLUSH: drops every script and starts a fresh Lua state, as Redis 7.0 does.
    pub fn flush(&mut self) {
        let rand = self.state.rand.get();
        *self = Scripts::with_limits(self.limits);
        // Redis's rand48 state is process-wide and survives SCRIPT FLUSH.
        self.state.rand.set(rand);
    }

    /// EVALSHA (and EVAL after [`Scripts::load`]): runs a cached script. `call` runs one command
    /// (argv with the name first) for redis.call/redis.pcall and returns its reply; the caller
    /// decides which commands are allowed, using the texts in [`errors`].
    pub fn run(&mut self, sha: &str, keys: &[Bytes], argv: &[Bytes], call: &mut dyn FnMut(&[Bytes]) -> Reply) -> Reply {
        let sha = sha.to_ascii_lowercase();
        let Some(script) = self.cache.get(&sha) else {
            return Reply::err(errors::NOSCRIPT);
        };
        let func = script.func.clone();
        let reply = match self.run_inner(&sha, func, keys, argv, call) {
            Ok(reply) => reply,
            Err(e) => error_reply(format!("ERR Error running script {sha}: {e}").as_bytes()),
        };
        let killed = clock::stop();
        self.state.resp.set(2);
        self.state.repl.set(3);
        self.runs = (self.runs + 1) % GC_EVERY_RUNS;
        if self.lua.used_memory() > self.limits.memory_bytes / 2 {
            // A script that ran into the memory limit leaves its garbage behind: collect it now
            // so the next script starts with room.
            let _ = self.lua.gc_collect();
        } else if self.runs == 0 {
            let _ = self.lua.gc_step_kbytes(GC_EVERY_RUNS as i32);
        }
        if killed {
            tracing::warn!(sha = %sha, limit_ms = self.limits.time_limit.as_millis() as u64, "Lua script aborted: time limit");
            return error_reply(self.kill_error().as_bytes());
        }
        reply
    }

    fn run_inner(
        &mut self,
        sha: &str,
        func: Function,
        keys: &[Bytes],
        argv: &[Bytes],
        call: &mut dyn FnMut(&[Bytes]) -> Reply,
    ) -> mlua::Result<Reply> {
        let lua = &self.lua;
        self.globals.raw_set("KEYS", array_table(lua, keys)?)?;
        self.globals.raw_set("ARGV", array_table(lua, argv)?)?;
        clock::start(Instant::now() + self.limits.time_limit);
        let state = &self.state;
        let runner = &self.runner;
        lua.scope(|scope| {
            let backend = scope.create_function_mut(|lua, args: MultiValue| {
                let (is_err, value) = redis_call(lua, state, args, call)?;
                Ok((is_err, value))
            })?;
            let (ok, value): (bool, Value) = runner.call((func, backend))?;
            let resp3 = state.resp.get() == 3;
            Ok(if ok { convert::lua_to_reply(&value, resp3, 0) } else { convert::script_error(&value, sha) })
        })
    }
}

/// The lowercase hex SHA1 of `data` (script ids, `redis.sha1hex`).
pub fn sha1hex(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}

fn kill_error_text(limits: &Limits) -> String {
    format!(
        "ERR Script killed: it ran longer than the script time limit ({} ms); Orbit aborts such scripts",
        limits.time_limit.as_millis()
    )
}

fn array_table(lua: &Lua, items: &[Bytes]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        t.raw_seti(i + 1, lua.create_string(item)?)?;
    }
    Ok(t)
}

/// The backend of redis.call/redis.pcall: checks the arguments as `luaArgsToRedisArgv` does, runs
/// the command and converts its reply. Returns (is_error, value) so the Lua side can raise or return.
fn redis_call(
    lua: &Lua,
    state: &RunState,
    args: MultiValue,
    call: &mut dyn FnMut(&[Bytes]) -> Reply,
) -> mlua::Result<(bool, Value)> {
    if args.is_empty() {
        let t = convert::error_table(lua, b"ERR Please specify at least one argument for this redis lib call", false)?;
        return Ok((true, t));
    }
    let mut argv = Vec::with_capacity(args.len());
    for arg in args.iter() {
        let bytes = match arg {
            Value::String(s) => Bytes::copy_from_slice(&s.as_bytes()),
            Value::Integer(i) => Bytes::from(orbit_engine::value::fmt_g17(*i as f64)),
            Value::Number(n) => Bytes::from(orbit_engine::value::fmt_g17(*n)),
            _ => {
                let msg = b"ERR Lua redis lib command arguments must be strings or integers";
                return Ok((true, convert::error_table(lua, msg, false)?));
            }
        };
        argv.push(bytes);
    }
    let reply = call(&argv);
    let is_err = matches!(reply, Reply::Error(_) | Reply::ErrorBytes(_));
    let value = convert::reply_to_lua(lua, &reply, state.resp.get() == 3)?;
    Ok((is_err, value))
}

fn build_state(state: &Rc<RunState>, limits: &Limits) -> mlua::Result<(Lua, Function, Table)> {
    // SAFETY: the debug library is needed by the prelude's error handler; the prelude keeps
    // `debug.getinfo` in a local and removes `debug` (and every other unsafe global) before any
    // script runs. No C modules can be loaded: `package` is not opened.
    let lua = unsafe {
        Lua::unsafe_new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG, LuaOptions::default())
    };
    lua.set_memory_limit(limits.memory_bytes)?;

    let rust = lua.create_table()?;
    rust.set("killed", lua.create_function(|_, ()| Ok(clock::killed()))?)?;
    rust.set("kill_error", kill_error_text(limits))?;
    rust.set("sha1hex", lua.create_function(|_, s: mlua::String| Ok(sha1hex(&s.as_bytes())))?)?;
    rust.set(
        "error_text",
        lua.create_function(|lua, s: mlua::String| lua.create_string(convert::push_error_text(&s.as_bytes())))?,
    )?;
    rust.set("trunc", lua.create_function(|_, n: f64| Ok(c_int_cast(n)))?)?;
    rust.set(
        "log",
        lua.create_function(|_, (level, msg): (i64, mlua::String)| {
            let msg = msg.to_string_lossy();
            match level {
                0 | 1 => tracing::debug!(target: "orbit_script::lua", "{msg}"),
                2 => tracing::info!(target: "orbit_script::lua", "{msg}"),
                _ => tracing::warn!(target: "orbit_script::lua", "{msg}"),
            }
            Ok(())
        })?,
    )?;
    {
        let st = state.clone();
        rust.set(
            "setresp",
            lua.create_function(move |_, v: i64| {
                st.resp.set(if v == 3 { 3 } else { 2 });
                Ok(())
            })?,
        )?;
    }
    {
        let st = state.clone();
        rust.set(
            "set_repl",
            lua.create_function(move |_, v: i64| {
                st.repl.set((v & 3) as u8);
                Ok(())
            })?,
        )?;
    }
    rust.set("version", REDIS_VERSION)?;
    rust.set("version_num", REDIS_VERSION_NUM)?;
    {
        let st = state.clone();
        rust.set(
            "rand48",
            lua.create_function(move |_, ()| {
                let mut r = st.rand.get();
                let v = r.next_f64();
                st.rand.set(r);
                Ok(v)
            })?,
        )?;
    }
    {
        let st = state.clone();
        rust.set(
            "srand48",
            lua.create_function(move |_, seed: i64| {
                st.rand.set(rand48::Rand48::seeded(seed as i32));
                Ok(())
            })?,
        )?;
    }
    rust.set("bit", bit::table(&lua)?)?;
    rust.set("cwrap", lua.create_function(|lua, f: Function| c_wrap(lua, f))?)?;

    let prelude = lua.load(include_str!("prelude.lua")).set_name("=orbit").into_function()?;
    let (runner, globals): (Function, Table) = prelude.call(rust)?;

    // SAFETY: installs a C count hook on the main state; coroutines created later inherit it
    // (Lua 5.1's lua_newthread copies the hook).
    unsafe {
        lua.exec_raw::<()>((), |state| {
            mlua::ffi::lua_sethook(state, Some(count_hook), mlua::ffi::LUA_MASKCOUNT, HOOK_EVERY_INSTRUCTIONS as i32);
        })?;
    }
    Ok((lua, runner, globals))
}

/// Aborts the running script once its time budget is spent; it keeps raising on every call so
/// that pcall/coroutines inside the script cannot swallow the abort (the prelude's pcall, xpcall
/// and coroutine.resume also re-raise once killed).
unsafe extern "C-unwind" fn count_hook(state: *mut mlua::ffi::lua_State, _ar: *mut mlua::ffi::lua_Debug) {
    if clock::expired() {
        // No Rust value with a destructor lives in this frame: lua_error longjmps across it.
        mlua::ffi::lua_pushstring(state, c"Script killed: time limit".as_ptr());
        mlua::ffi::lua_error(state);
    }
}

/// Wraps a Lua function in a C closure that calls it with all its arguments and returns all its
/// results (see the prelude: a C function keeps the caller's frame on a tail call).
fn c_wrap(lua: &Lua, f: Function) -> mlua::Result<Function> {
    unsafe extern "C-unwind" fn trampoline(state: *mut mlua::ffi::lua_State) -> std::os::raw::c_int {
        // No Rust value with a destructor lives in this frame: a Lua error may longjmp across it.
        let nargs = mlua::ffi::lua_gettop(state);
        mlua::ffi::luaL_checkstack(state, 1, std::ptr::null());
        mlua::ffi::lua_pushvalue(state, mlua::ffi::lua_upvalueindex(1));
        mlua::ffi::lua_insert(state, 1);
        mlua::ffi::lua_call(state, nargs, mlua::ffi::LUA_MULTRET);
        mlua::ffi::lua_gettop(state)
    }
    // SAFETY: exec_raw runs the closure with `f` on top of the stack; pushcclosure pops it into
    // the closure's upvalue and leaves the closure as the single result.
    unsafe {
        lua.exec_raw::<Function>(f, |state| {
            mlua::ffi::lua_pushcclosure(state, trampoline, 1);
        })
    }
}

/// C's `(int)` of a lua_Number as Lua 5.1's `luaL_checkint` does, without undefined behaviour.
fn c_int_cast(n: f64) -> i64 {
    if n.is_nan() {
        0
    } else {
        (n as i64) as i32 as i64
    }
}

#[cfg(test)]
mod tests;
