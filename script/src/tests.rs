//! Scripts run over a real in-memory keyspace. Expected replies were taken from redis-server
//! 7.0.15 (`redis-cli -p PORT EVAL ...`, error lines read raw off the socket).

use super::*;
use orbit_engine::keyspace::Keyspace;
use orbit_engine::redis::{check, execute, Ctx};
use rand::rngs::SmallRng;
use rand::SeedableRng;

struct Env {
    scripts: Scripts,
    ks: Keyspace,
    rng: SmallRng,
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(b(s))
}

fn err(s: &str) -> Reply {
    Reply::Error(s.to_string().into())
}

impl Env {
    fn new() -> Env {
        Env::with_limits(Limits::default())
    }

    fn with_limits(limits: Limits) -> Env {
        Env { scripts: Scripts::with_limits(limits), ks: Keyspace::new(), rng: SmallRng::seed_from_u64(1) }
    }

    /// EVAL body numkeys keys... args...
    fn eval(&mut self, body: &str, keys: &[&str], args: &[&str]) -> Reply {
        let sha = match self.scripts.load(body.as_bytes()) {
            Ok(sha) => sha,
            Err(e) => return e,
        };
        self.evalsha(&sha, keys, args)
    }

    fn evalsha(&mut self, sha: &str, keys: &[&str], args: &[&str]) -> Reply {
        let keys: Vec<Bytes> = keys.iter().map(|k| b(k)).collect();
        let args: Vec<Bytes> = args.iter().map(|k| b(k)).collect();
        let ks = &mut self.ks;
        let rng = &mut self.rng;
        let mut call = |argv: &[Bytes]| -> Reply {
            let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
            if matches!(name.as_str(), "multi" | "exec" | "eval" | "evalsha" | "script") {
                return err(errors::NOT_ALLOWED);
            }
            let spec = match check(argv) {
                Ok(spec) => spec,
                Err(Reply::Error(e)) if e.starts_with("ERR wrong number") => return err(errors::WRONG_ARITY),
                Err(_) => return err(errors::UNKNOWN_COMMAND),
            };
            let mut ctx = Ctx::new(ks, 0, 1_700_000_000_000, rng);
            execute(spec, &mut ctx, argv)
        };
        self.scripts.run(sha, &keys, &args, &mut call)
    }

    fn cmd(&mut self, parts: &[&str]) -> Reply {
        let args: Vec<Bytes> = parts.iter().map(|p| b(p)).collect();
        let mut ctx = Ctx::new(&mut self.ks, 0, 1_700_000_000_000, &mut self.rng);
        orbit_engine::redis::run(&mut ctx, &args)
    }
}

fn eval(body: &str) -> Reply {
    Env::new().eval(body, &[], &[])
}

fn sha(body: &str) -> String {
    sha1hex(body.as_bytes())
}

#[test]
fn lua_to_resp_conversions() {
    assert_eq!(eval("return 3.99"), Reply::Int(3));
    assert_eq!(eval("return -3.99"), Reply::Int(-3));
    assert_eq!(eval("return -0.5"), Reply::Int(0));
    assert_eq!(eval("return 1.5e20"), Reply::Int(i64::MIN));
    assert_eq!(eval("return 'x'"), bulk("x"));
    assert_eq!(eval("return true"), Reply::Int(1));
    assert_eq!(eval("return false"), Reply::Nil);
    assert_eq!(eval("return nil"), Reply::Nil);
    assert_eq!(eval("return {1,2,nil,3}"), Reply::Array(vec![Reply::Int(1), Reply::Int(2)]));
    assert_eq!(
        eval("return {1, {2, {3}}, 'x'}"),
        Reply::Array(vec![
            Reply::Int(1),
            Reply::Array(vec![Reply::Int(2), Reply::Array(vec![Reply::Int(3)])]),
            bulk("x"),
        ])
    );
    assert_eq!(
        eval("return {1,'a',{ok='x'},{err='y'}, true, false}"),
        Reply::Array(vec![Reply::Int(1), bulk("a"), Reply::Simple("x".into()), err("y"), Reply::Int(1), Reply::Nil])
    );
    assert_eq!(eval("return {ok='x', err='y'}"), err("y"));
    assert_eq!(eval("return {err='boom'}"), err("boom"));
    assert_eq!(eval("return {err=''}"), err(""));
    assert_eq!(eval("return {err='a\\r\\nb'}"), err("a  b"));
    assert_eq!(eval("return {ok=5}"), Reply::Array(vec![]));
    assert_eq!(eval("return {double=1.5}"), Reply::Double(1.5));
    assert_eq!(eval("return {map={a=1}}"), Reply::Map(vec![(bulk("a"), Reply::Int(1))]));
}

#[test]
fn resp_to_lua_conversions() {
    let mut env = Env::new();
    env.cmd(&["SET", "s", "v"]);
    env.cmd(&["RPUSH", "l", "a", "b"]);
    // status -> {ok=...}, bulk -> string, null -> false, integer -> number, array -> table
    assert_eq!(env.eval("return redis.call('set', KEYS[1], 'v2').ok", &["s"], &[]), bulk("OK"));
    assert_eq!(env.eval("return type(redis.call('get', 'nokey'))", &[], &[]), bulk("boolean"));
    assert_eq!(env.eval("return redis.call('get', 'nokey')", &[], &[]), Reply::Nil);
    assert_eq!(env.eval("return redis.call('hgetall', 'nokey')", &[], &[]), Reply::Array(vec![]));
    assert_eq!(env.eval("return redis.call('llen', 'l') + 1", &[], &[]), Reply::Int(3));
    assert_eq!(env.eval("return redis.call('lrange', 'l', 0, -1)", &[], &[]), Reply::Array(vec![bulk("a"), bulk("b")]));
    assert_eq!(env.eval("return redis.call('type', 's')", &[], &[]), Reply::Simple("string".into()));
    // numbers are passed as %.17g
    assert_eq!(
        env.eval("redis.call('set','a',0.1) return redis.call('get','a')", &[], &[]),
        bulk("0.10000000000000001")
    );
    assert_eq!(env.eval("redis.call('set','a',1e20) return redis.call('get','a')", &[], &[]), bulk("1e+20"));
    assert_eq!(env.eval("redis.call('set','a',1.5) return redis.call('get','a')", &[], &[]), bulk("1.5"));
    assert_eq!(env.eval("redis.call('set','a',7) return redis.call('get','a')", &[], &[]), bulk("7"));
    assert_eq!(env.eval("redis.call('zadd','z',1.5,'m') return redis.call('zscore','z','m')", &[], &[]), bulk("1.5"));
}

#[test]
fn resp3_with_setresp() {
    let mut env = Env::new();
    env.cmd(&["HSET", "h", "f", "v"]);
    env.cmd(&["ZADD", "z", "1.5", "m"]);
    assert_eq!(env.eval("redis.setresp(3); return redis.call('hgetall','nokey')", &[], &[]), Reply::Map(vec![]));
    assert_eq!(env.eval("redis.setresp(3); return {redis.call('get','nokey')}", &[], &[]), Reply::Array(vec![]));
    assert_eq!(env.eval("redis.setresp(3); return redis.call('hgetall','h').map.f", &[], &[]), bulk("v"));
    assert_eq!(env.eval("redis.setresp(3); return redis.call('zscore','z','m').double * 2", &[], &[]), Reply::Int(3));
    assert_eq!(env.eval("redis.setresp(3); return true", &[], &[]), Reply::Bool(true));
    // RESP2 again on the next run
    assert_eq!(env.eval("return redis.call('hgetall','h')", &[], &[]), Reply::Array(vec![bulk("f"), bulk("v")]));
    let r = env.eval("return redis.setresp(4)", &[], &[]);
    assert_eq!(
        r,
        err(&format!(
            "ERR RESP version must be 2 or 3. script: {}, on @user_script:1.",
            sha("return redis.setresp(4)")
        ))
    );
}

#[test]
fn keys_and_argv() {
    let mut env = Env::new();
    assert_eq!(
        env.eval("return {KEYS[1], KEYS[2], ARGV[1], #ARGV}", &["k1", "k2"], &["a1", "a2", "a3"]),
        Reply::Array(vec![bulk("k1"), bulk("k2"), bulk("a1"), Reply::Int(3)])
    );
    // KEYS is an ordinary table, new for every run
    assert_eq!(env.eval("KEYS[1]='z'; return KEYS[1]", &["a"], &[]), bulk("z"));
    assert_eq!(env.eval("return KEYS[1]", &["a"], &[]), bulk("a"));
    assert_eq!(env.eval("return #KEYS", &[], &[]), Reply::Int(0));
}

#[test]
fn call_and_pcall_errors() {
    let mut env = Env::new();
    env.cmd(&["SET", "str", "v"]);
    let body = "return redis.call('lpush', KEYS[1], 'x')";
    assert_eq!(
        env.eval(body, &["str"], &[]),
        err(&format!(
            "WRONGTYPE Operation against a key holding the wrong kind of value script: {}, on @user_script:1.",
            sha(body)
        ))
    );
    assert_eq!(
        env.eval("return redis.pcall('lpush', KEYS[1], 'x')", &["str"], &[]),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    assert_eq!(
        env.eval("local t = redis.pcall('lpush', KEYS[1], 'x'); return t.err", &["str"], &[]),
        bulk("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    let body = "return redis.call('nosuch')";
    assert_eq!(
        env.eval(body, &[], &[]),
        err(&format!("ERR Unknown Redis command called from script script: {}, on @user_script:1.", sha(body)))
    );
    assert_eq!(env.eval("return redis.pcall('nosuch')", &[], &[]), err("ERR Unknown Redis command called from script"));
    let body = "return redis.call('get')";
    assert_eq!(
        env.eval(body, &[], &[]),
        err(&format!(
            "ERR Wrong number of args calling Redis command from script script: {}, on @user_script:1.",
            sha(body)
        ))
    );
    let body = "return redis.call()";
    assert_eq!(
        env.eval(body, &[], &[]),
        err(&format!(
            "ERR Please specify at least one argument for this redis lib call script: {}, on @user_script:1.",
            sha(body)
        ))
    );
    let body = "return redis.call('set', {})";
    assert_eq!(
        env.eval(body, &[], &[]),
        err(&format!(
            "ERR Lua redis lib command arguments must be strings or integers script: {}, on @user_script:1.",
            sha(body)
        ))
    );
    let body = "return {redis.call('set','a',true)}";
    assert_eq!(
        env.eval(body, &[], &[]),
        err(&format!(
            "ERR Lua redis lib command arguments must be strings or integers script: {}, on @user_script:1.",
            sha(body)
        ))
    );
    assert_eq!(
        env.eval("return redis.pcall()", &[], &[]),
        err("ERR Please specify at least one argument for this redis lib call")
    );
    assert_eq!(
        env.eval("return redis.pcall('set',{})", &[], &[]),
        err("ERR Lua redis lib command arguments must be strings or integers")
    );
    // the line of the failing call is reported
    let body = "local x = 1\n\nreturn redis.call('nosuch')";
    assert_eq!(
        env.eval(body, &[], &[]),
        err(&format!("ERR Unknown Redis command called from script script: {}, on @user_script:3.", sha(body)))
    );
    let body = "return redis.call('multi')";
    assert_eq!(
        env.eval(body, &[], &[]),
        err(&format!("ERR This Redis command is not allowed from script script: {}, on @user_script:1.", sha(body)))
    );
}

#[test]
fn lua_pcall_returns_error_strings() {
    let mut env = Env::new();
    assert_eq!(
        env.eval("local ok, e = pcall(function() error('boo') end); return e", &[], &[]),
        bulk("user_script:1: boo")
    );
    assert_eq!(
        env.eval("local ok, e = pcall(function() redis.call('nosuch') end); return e", &[], &[]),
        bulk("ERR Unknown Redis command called from script")
    );
    assert_eq!(
        env.eval("local ok, e = pcall(function() error({err='x'}) end); return type(e)", &[], &[]),
        bulk("string")
    );
    assert_eq!(env.eval("return pcall(function() return 1, 2 end)", &[], &[]), Reply::Int(1));
    assert_eq!(
        env.eval("return {pcall(function() error('boo') end)}", &[], &[]),
        Reply::Array(vec![Reply::Nil, bulk("user_script:1: boo")])
    );
}

#[test]
fn runtime_error_formats() {
    let cases = [
        ("error('boom')", "ERR user_script:1: boom"),
        ("error({err='MY boom'})", "MY boom"),
        ("error({err='boom'})", "boom"),
        ("error(nil)", "ERR nil"),
        ("error(12)", "ERR user_script:1: 12"),
        ("error({err=5})", "5"),
        ("error('x', 0)", "ERR x"),
        ("error('a\\nb')", "ERR user_script:1: a b"),
        ("return nil + 1", "ERR user_script:1: attempt to perform arithmetic on a nil value"),
        ("local x = nil; return x.y", "ERR user_script:1: attempt to index local 'x' (a nil value)"),
        ("return redis.sha1hex()", "ERR wrong number of arguments"),
        (
            "return redis.set_repl(99)",
            "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
        ),
        ("return redis.set_repl()", "ERR redis.set_repl() requires two arguments."),
        ("return redis.log(9, 'x')", "ERR Invalid debug level."),
        ("return redis.log('a', 'x')", "ERR First argument must be a number (log level)."),
        ("return bit.band('x')", "ERR user_script:1: bad argument #1 to 'band' (number expected, got string)"),
        ("return bit.band()", "ERR user_script:1: bad argument #1 to 'band' (number expected, got no value)"),
    ];
    for (body, want) in cases {
        assert_eq!(eval(body), err(&format!("{want} script: {}, on @user_script:1.", sha(body))), "{body}");
    }
    let body = "local function f() return f() + 1 end return f()";
    assert_eq!(
        eval(body),
        err(&format!("ERR user_script:1: stack overflow script: {}, on @user_script:1.", sha(body)))
    );
    // error({}) crashes redis-server 7.0.15; Orbit answers an error.
    assert!(matches!(eval("error({})"), Reply::Error(_)));
}

#[test]
fn reply_helpers() {
    assert_eq!(eval("return redis.error_reply('x')"), err("ERR x"));
    assert_eq!(eval("return redis.error_reply('-x')"), err("ERR x"));
    assert_eq!(eval("return redis.error_reply('MY x')"), err("MY x"));
    assert_eq!(eval("return redis.error_reply('')"), err("ERR "));
    assert_eq!(eval("return redis.error_reply(5)"), err("ERR wrong number or type of arguments"));
    assert_eq!(eval("local t = redis.error_reply('x'); return t.err"), bulk("ERR x"));
    assert_eq!(eval("return redis.status_reply('x')"), Reply::Simple("x".into()));
    assert_eq!(eval("return redis.status_reply()"), err("ERR wrong number or type of arguments"));
    assert_eq!(eval("return redis.sha1hex('')"), bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709"));
    assert_eq!(eval("return redis.sha1hex(5)"), bulk("ac3478d69a3c81fa62e60f5c3696165a4e5e6ac4"));
    assert_eq!(eval("return redis.sha1hex({})"), bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709"));
    assert_eq!(eval("return redis.replicate_commands()"), Reply::Int(1));
    assert_eq!(eval("return redis.set_repl(redis.REPL_ALL)"), Reply::Nil);
    assert_eq!(eval("return redis.REDIS_VERSION"), bulk("7.0.15"));
    assert_eq!(eval("return redis.REDIS_VERSION_NUM"), Reply::Int(458767));
    assert_eq!(eval("return redis.log(redis.LOG_WARNING, 'hi', 1.5, {})"), Reply::Nil);
    assert_eq!(eval("return redis.breakpoint()"), Reply::Nil);
}

#[test]
fn sandbox_and_global_protection() {
    let cases = [
        ("return foo", "ERR user_script:1: Script attempted to access nonexistent global variable 'foo'"),
        ("foo = 1", "ERR user_script:1: Attempt to modify a readonly table"),
        ("string.foo = 1", "ERR user_script:1: Attempt to modify a readonly table"),
        ("redis.call = 1", "ERR user_script:1: Attempt to modify a readonly table"),
        ("rawset(_G, 'x', 1)", "ERR Attempt to modify a readonly table"),
        ("_G.x = 1", "ERR user_script:1: Attempt to modify a readonly table"),
        ("return type(os)", "ERR user_script:1: Script attempted to access nonexistent global variable 'os'"),
        ("return type(print)", "ERR user_script:1: Script attempted to access nonexistent global variable 'print'"),
        ("return type(dofile)", "ERR user_script:1: Script attempted to access nonexistent global variable 'dofile'"),
        ("return type(debug)", "ERR user_script:1: Script attempted to access nonexistent global variable 'debug'"),
        ("return type(setfenv)", "ERR user_script:1: Script attempted to access nonexistent global variable 'setfenv'"),
        ("return type(getfenv)", "ERR user_script:1: Script attempted to access nonexistent global variable 'getfenv'"),
        (
            "return type(newproxy)",
            "ERR user_script:1: Script attempted to access nonexistent global variable 'newproxy'",
        ),
        ("return type(require)", "ERR user_script:1: Script attempted to access nonexistent global variable 'require'"),
        ("return type(module)", "ERR user_script:1: Script attempted to access nonexistent global variable 'module'"),
    ];
    for (body, want) in cases {
        assert_eq!(eval(body), err(&format!("{want} script: {}, on @user_script:1.", sha(body))), "{body}");
    }
    // loadstring'd code runs with the same protected globals; its chunk is the source text.
    let body = "local f = loadstring('x = 1'); f()";
    assert_eq!(
        eval(body),
        err(&format!(
            "ERR [string \"x = 1\"]:1: Attempt to modify a readonly table script: {}, on x = 1:1.",
            sha(body)
        ))
    );
    assert_eq!(eval("return rawget(_G,'nothing')"), Reply::Nil);
    assert_eq!(eval("return _VERSION"), bulk("Lua 5.1"));
    assert_eq!(eval("return loadstring('return 1')()"), Reply::Int(1));
    assert_eq!(eval("return type(getmetatable(''))"), bulk("table"));
    assert_eq!(eval("return ('abc'):upper()"), bulk("ABC"));
    assert_eq!(eval("local n = 0; for k,v in pairs(string) do n = n + 1 end; return n"), Reply::Int(15));
    for lib in ["cjson", "cmsgpack", "struct"] {
        // Left out of Orbit: see the crate docs.
        assert!(matches!(eval(&format!("return type({lib})")), Reply::Error(_)));
    }
    for name in ["coroutine", "gcinfo", "load", "collectgarbage", "_G", "unpack", "bit", "math", "table", "string"] {
        let want = if matches!(name, "gcinfo" | "load" | "collectgarbage" | "unpack") { "function" } else { "table" };
        assert_eq!(eval(&format!("return type({name})")), bulk(want), "{name}");
    }
    // Binary chunks are refused as Redis's Lua refuses them.
    assert_eq!(
        eval("local f, e = loadstring(string.dump(function() end)); return e"),
        bulk("[string \"\u{1b}LuaQ\"]:1: unexpected symbol near 'char(27)'")
    );
    let mut env = Env::new();
    assert_eq!(
        env.eval("\u{1b}Lua", &[], &[]),
        err("ERR Error compiling script (new function): user_script:1: unexpected symbol near 'char(27)'")
    );
    // The sandbox cannot be changed by one script for the next ones.
    assert!(matches!(env.eval("setmetatable(_G, nil)", &[], &[]), Reply::Error(_)));
    assert!(matches!(env.eval("getmetatable('').__index = {}", &[], &[]), Reply::Error(_)));
    assert!(matches!(env.eval("rawset(string, 'len', nil)", &[], &[]), Reply::Error(_)));
    assert_eq!(env.eval("return string.len('abc')", &[], &[]), Reply::Int(3));
}

#[test]
fn bit_library() {
    assert_eq!(
        eval("return {bit.tobit(2^32+5), bit.lshift(1,31), bit.rol(1, 33), bit.tohex(255), bit.bswap(1)}"),
        Reply::Array(vec![
            Reply::Int(5),
            Reply::Int(-2147483648),
            Reply::Int(2),
            bulk("000000ff"),
            Reply::Int(16777216)
        ])
    );
    assert_eq!(eval("return bit.tohex(-1, -4)"), bulk("FFFF"));
    assert_eq!(
        eval("return {bit.band(12, 10), bit.bor(12, 10, 1), bit.bxor(12, 10), bit.bnot(0)}"),
        Reply::Array(vec![Reply::Int(8), Reply::Int(15), Reply::Int(6), Reply::Int(-1)])
    );
    assert_eq!(
        eval("return {bit.rshift(-1, 28), bit.arshift(-256, 4), bit.ror(1, 1)}"),
        Reply::Array(vec![Reply::Int(15), Reply::Int(-16), Reply::Int(-2147483648)])
    );
}

#[test]
fn math_random_follows_redis_sequence() {
    // A fresh redis-server 7.0.15 answers 397, 841, "0.35333609737146"; the sequence goes on
    // across scripts.
    let mut env = Env::new();
    assert_eq!(env.eval("return math.random(1000)", &[], &[]), Reply::Int(397));
    assert_eq!(
        env.eval("return {math.random(1000), tostring(math.random())}", &[], &[]),
        Reply::Array(vec![Reply::Int(841), bulk("0.35333609737146")])
    );
    env.eval("math.randomseed(7)", &[], &[]);
    let a = env.eval("return math.random(1, 1000000)", &[], &[]);
    env.eval("math.randomseed(7)", &[], &[]);
    assert_eq!(env.eval("return math.random(1, 1000000)", &[], &[]), a);
}

#[test]
fn script_cache() {
    let mut s = Scripts::new();
    let sha = s.load(b"return 1").unwrap();
    assert_eq!(sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
    assert!(s.exists(&sha));
    assert!(s.exists(&sha.to_ascii_uppercase()));
    assert!(!s.exists("0000000000000000000000000000000000000000"));
    assert_eq!(s.body(&sha), Some(Bytes::from_static(b"return 1")));
    assert_eq!(s.len(), 1);
    assert_eq!(
        s.load(b"return 1 +"),
        Err(err("ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'"))
    );
    assert_eq!(s.len(), 1);
    let mut call = |_: &[Bytes]| Reply::Nil;
    assert_eq!(s.run(&sha.to_ascii_uppercase(), &[], &[], &mut call), Reply::Int(1));
    s.flush();
    assert!(!s.exists(&sha));
    assert_eq!(s.run(&sha, &[], &[], &mut call), err("NOSCRIPT No matching script. Please use EVAL."));
}

#[test]
fn infinite_loops_are_aborted() {
    let limits = Limits { time_limit: Duration::from_millis(100), ..Limits::default() };
    let mut env = Env::with_limits(limits);
    let want = err(&env.scripts.kill_error());
    assert_eq!(env.eval("while true do end", &[], &[]), want);
    // pcall cannot swallow the abort
    assert_eq!(env.eval("while true do pcall(function() while true do end end) end", &[], &[]), want);
    assert_eq!(
        env.eval(
            "local co = coroutine.create(function() while true do end end) while true do coroutine.resume(co) end",
            &[],
            &[]
        ),
        want
    );
    // the state is usable afterwards
    assert_eq!(env.eval("return 1", &[], &[]), Reply::Int(1));
}

#[test]
fn memory_is_bounded() {
    let limits = Limits { memory_bytes: 16 << 20, ..Limits::default() };
    let mut env = Env::with_limits(limits);
    let r = env.eval("local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end", &[], &[]);
    assert!(matches!(&r, Reply::Error(e) if e.contains("not enough memory")), "{r:?}");
    assert_eq!(env.eval("return 1", &[], &[]), Reply::Int(1));
}

#[test]
fn deep_nesting_is_bounded() {
    let r = eval("local t = {} for i=1,100000 do t = {t} end return t");
    let mut depth = 0;
    let mut cur = &r;
    while let Reply::Array(items) = cur {
        depth += 1;
        cur = &items[0];
    }
    assert_eq!(depth, MAX_REPLY_DEPTH);
    assert_eq!(cur, &err("ERR reached lua stack limit"));
}
