//! Conversions between Redis replies and Lua values, as Redis 7.0's `script_lua.c` does them
//! (`redisProtocolToLuaType_*` one way, `luaReplyToRedisReply` the other).

use bytes::Bytes;
use mlua::{Lua, Table, Value};
use orbit_engine::reply::Reply;
use orbit_engine::value::fmt_g17;

use crate::MAX_REPLY_DEPTH;

/// An error reply from raw bytes: newlines become spaces (Redis's `addReplyErrorFormat` does so;
/// a newline would break the protocol), non-UTF-8 text is kept as bytes.
pub fn error_reply(msg: &[u8]) -> Reply {
    let mut msg = msg.to_vec();
    while matches!(msg.last(), Some(b'\r' | b'\n')) {
        msg.pop();
    }
    for b in msg.iter_mut() {
        if *b == b'\r' || *b == b'\n' {
            *b = b' ';
        }
    }
    match String::from_utf8(msg) {
        Ok(s) => Reply::Error(s.into()),
        Err(e) => Reply::ErrorBytes(Bytes::from(e.into_bytes())),
    }
}

/// `luaPushErrorBuff`'s text: "-CODE msg" keeps its code, "-msg" and "msg" get ERR; the message is
/// trimmed of CR/LF at both ends.
pub fn push_error_text(buf: &[u8]) -> Vec<u8> {
    let (code, msg): (&[u8], &[u8]) = match buf.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&b| b == b' ') {
            Some(sp) => (&rest[..sp], &rest[sp + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", buf),
    };
    let trim = |b: &u8| *b == b'\r' || *b == b'\n';
    let start = msg.iter().position(|b| !trim(b)).unwrap_or(msg.len());
    let end = msg.iter().rposition(|b| !trim(b)).map_or(start, |p| p + 1);
    let mut out = Vec::with_capacity(code.len() + 1 + end - start);
    out.extend_from_slice(code);
    out.push(b' ');
    out.extend_from_slice(&msg[start..end]);
    out
}

/// A Redis error table `{err = ...}`; `from_reply` adds Redis's `ignore_error_stats_update` flag
/// (set on errors that came from a command's reply).
pub fn error_table(lua: &Lua, text: &[u8], from_reply: bool) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(0, 2)?;
    t.raw_set("err", lua.create_string(text)?)?;
    if from_reply {
        t.raw_set("ignore_error_stats_update", true)?;
    }
    Ok(Value::Table(t))
}

fn single_field(lua: &Lua, field: &str, v: Value) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(0, 1)?;
    t.raw_set(field, v)?;
    Ok(Value::Table(t))
}

fn bulk(lua: &Lua, b: &[u8]) -> mlua::Result<Value> {
    Ok(Value::String(lua.create_string(b)?))
}

/// A command's reply as the Lua value redis.call returns, for a RESP2 or RESP3 script client.
pub fn reply_to_lua(lua: &Lua, reply: &Reply, resp3: bool) -> mlua::Result<Value> {
    match reply {
        Reply::Ok => single_field(lua, "ok", bulk(lua, b"OK")?),
        Reply::Simple(s) => single_field(lua, "ok", bulk(lua, s.as_bytes())?),
        Reply::Error(e) => {
            let mut buf = Vec::with_capacity(e.len() + 1);
            buf.push(b'-');
            buf.extend_from_slice(e.as_bytes());
            error_table(lua, &push_error_text(&buf), true)
        }
        Reply::ErrorBytes(e) => {
            let mut buf = Vec::with_capacity(e.len() + 1);
            buf.push(b'-');
            buf.extend_from_slice(e);
            error_table(lua, &push_error_text(&buf), true)
        }
        Reply::Int(i) => Ok(Value::Number(*i as f64)),
        Reply::Bulk(b) => bulk(lua, b),
        Reply::Verbatim(format, b) => {
            if resp3 {
                let inner = lua.create_table_with_capacity(0, 2)?;
                inner.raw_set("string", lua.create_string(b)?)?;
                inner.raw_set("format", lua.create_string(format.as_bytes())?)?;
                single_field(lua, "verbatim_string", Value::Table(inner))
            } else {
                bulk(lua, b)
            }
        }
        Reply::Nil | Reply::NilArray => Ok(if resp3 { Value::Nil } else { Value::Boolean(false) }),
        Reply::Array(items) | Reply::Push(items) => array(lua, items.iter(), resp3),
        Reply::Set(items) => {
            if resp3 {
                let set = lua.create_table_with_capacity(0, items.len())?;
                for item in items {
                    let k = reply_to_lua(lua, item, resp3)?;
                    if !k.is_nil() {
                        set.raw_set(k, true)?;
                    }
                }
                single_field(lua, "set", Value::Table(set))
            } else {
                array(lua, items.iter(), resp3)
            }
        }
        Reply::Map(pairs) => {
            if resp3 {
                let map = lua.create_table_with_capacity(0, pairs.len())?;
                for (k, v) in pairs {
                    let k = reply_to_lua(lua, k, resp3)?;
                    if !k.is_nil() {
                        map.raw_set(k, reply_to_lua(lua, v, resp3)?)?;
                    }
                }
                single_field(lua, "map", Value::Table(map))
            } else {
                array(lua, pairs.iter().flat_map(|(k, v)| [k, v]), resp3)
            }
        }
        Reply::Pairs(pairs) => {
            if resp3 {
                let t = lua.create_table_with_capacity(pairs.len(), 0)?;
                for (i, (k, v)) in pairs.iter().enumerate() {
                    let pair = lua.create_table_with_capacity(2, 0)?;
                    pair.raw_seti(1, reply_to_lua(lua, k, resp3)?)?;
                    pair.raw_seti(2, reply_to_lua(lua, v, resp3)?)?;
                    t.raw_seti(i + 1, pair)?;
                }
                Ok(Value::Table(t))
            } else {
                array(lua, pairs.iter().flat_map(|(k, v)| [k, v]), resp3)
            }
        }
        Reply::Double(d) => {
            if resp3 {
                single_field(lua, "double", Value::Number(*d))
            } else {
                bulk(lua, fmt_g17(*d).as_bytes())
            }
        }
        Reply::Bool(b) => Ok(if resp3 { Value::Boolean(*b) } else { Value::Number(*b as i64 as f64) }),
    }
}

fn array<'a>(lua: &Lua, items: impl Iterator<Item = &'a Reply>, resp3: bool) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    for (i, item) in items.enumerate() {
        t.raw_seti(i + 1, reply_to_lua(lua, item, resp3)?)?;
    }
    Ok(Value::Table(t))
}

/// C's `(long long)` of a double as x86-64 does it: NaN and out-of-range values give i64::MIN
/// (what Redis returns for `return 1e20`), in range the value is truncated.
fn c_ll_cast(n: f64) -> i64 {
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

fn raw_string(t: &Table, field: &str) -> Option<Vec<u8>> {
    match t.raw_get::<Value>(field) {
        Ok(Value::String(s)) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

fn bytes_of(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(i) => Some(i.to_string().into_bytes()),
        Value::Number(n) => Some(orbit_engine::value::fmt_g(*n, 14).into_bytes()),
        _ => None,
    }
}

/// A script's return value as its reply (`luaReplyToRedisReply`). `resp3` is the protocol the
/// script chose with redis.setresp (booleans differ).
pub fn lua_to_reply(v: &Value, resp3: bool, depth: usize) -> Reply {
    if depth >= MAX_REPLY_DEPTH {
        return Reply::err("ERR reached lua stack limit");
    }
    match v {
        Value::String(s) => Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Boolean(b) => {
            if resp3 {
                Reply::Bool(*b)
            } else if *b {
                Reply::Int(1)
            } else {
                Reply::Nil
            }
        }
        Value::Integer(i) => Reply::Int(*i),
        Value::Number(n) => Reply::Int(c_ll_cast(*n)),
        Value::Table(t) => table_to_reply(t, resp3, depth),
        _ => Reply::Nil,
    }
}

/// What kind of reply a table is; kept out of the recursive path so that each level of a nested
/// reply costs a small stack frame.
enum TableKind {
    Done(Reply),
    Map(Table),
    Set(Table),
    Array,
}

#[inline(never)]
fn classify(t: &Table) -> TableKind {
    if let Some(err) = raw_string(t, "err") {
        let mut msg = Vec::with_capacity(err.len() + 1);
        msg.push(b'-');
        msg.extend_from_slice(&err);
        return TableKind::Done(error_line(&msg));
    }
    if let Some(ok) = raw_string(t, "ok") {
        let s: Vec<u8> = ok.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect();
        return TableKind::Done(Reply::Simple(String::from_utf8_lossy(&s).into_owned().into()));
    }
    match t.raw_get::<Value>("double") {
        Ok(Value::Number(d)) => return TableKind::Done(Reply::Double(d)),
        Ok(Value::Integer(i)) => return TableKind::Done(Reply::Double(i as f64)),
        _ => {}
    }
    if let Some(big) = raw_string(t, "big_number") {
        // No big number reply in Orbit's Reply: RESP2 sends it as a bulk string too.
        let s: Vec<u8> = big.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect();
        return TableKind::Done(Reply::Bulk(Bytes::from(s)));
    }
    if let Ok(Value::Table(vt)) = t.raw_get::<Value>("verbatim_string") {
        if let (Some(format), Some(s)) = (raw_string(&vt, "format"), raw_string(&vt, "string")) {
            return TableKind::Done(match &format[..] {
                b"txt" => Reply::Verbatim("txt", Bytes::from(s)),
                b"mkd" => Reply::Verbatim("mkd", Bytes::from(s)),
                _ => Reply::Bulk(Bytes::from(s)),
            });
        }
    }
    if let Ok(Value::Table(map)) = t.raw_get::<Value>("map") {
        return TableKind::Map(map);
    }
    if let Ok(Value::Table(set)) = t.raw_get::<Value>("set") {
        return TableKind::Set(set);
    }
    TableKind::Array
}

fn table_to_reply(t: &Table, resp3: bool, depth: usize) -> Reply {
    match classify(t) {
        TableKind::Done(reply) => reply,
        TableKind::Map(map) => {
            let mut pairs = Vec::new();
            for pair in map.pairs::<Value, Value>() {
                let Ok((k, v)) = pair else { break };
                pairs.push((lua_to_reply(&k, resp3, depth + 1), lua_to_reply(&v, resp3, depth + 1)));
            }
            Reply::Map(pairs)
        }
        TableKind::Set(set) => {
            let mut items = Vec::new();
            for pair in set.pairs::<Value, Value>() {
                let Ok((k, _)) = pair else { break };
                items.push(lua_to_reply(&k, resp3, depth + 1));
            }
            Reply::Set(items)
        }
        TableKind::Array => {
            let mut items = Vec::new();
            let mut i = 1;
            loop {
                match t.raw_get::<Value>(i) {
                    Ok(Value::Nil) | Err(_) => break,
                    Ok(v) => items.push(lua_to_reply(&v, resp3, depth + 1)),
                }
                i += 1;
            }
            Reply::Array(items)
        }
    }
}

/// `addReplyErrorFormatEx(c, "-%s", msg)`: CR/LF trimmed at the end and mapped to spaces inside;
/// a message that does not start with '-' gets "-ERR ".
fn error_line(msg: &[u8]) -> Reply {
    let body = match msg.strip_prefix(b"-") {
        Some(rest) => rest.to_vec(),
        None => {
            let mut v = b"ERR ".to_vec();
            v.extend_from_slice(msg);
            v
        }
    };
    error_reply(&body)
}

/// The reply of a script that raised an error: the handler turned it into a table
/// {err=, source=, line=}; Redis 7.0 answers "-<err> script: <sha>, on <source>:<line>.".
pub fn script_error(v: &Value, sha: &str) -> Reply {
    let Value::Table(t) = v else {
        let msg = bytes_of(v).unwrap_or_else(|| b"execution failure".to_vec());
        let mut line = format!("ERR Error running script {sha}, ").into_bytes();
        line.extend_from_slice(&msg[..msg.len().min(100)]);
        return error_reply(&line);
    };
    let err = t.raw_get::<Value>("err").ok().as_ref().and_then(bytes_of);
    let source = t.raw_get::<Value>("source").ok().as_ref().and_then(bytes_of);
    let line = t.raw_get::<Value>("line").ok().as_ref().and_then(bytes_of);
    // Redis 7.0.15 crashes on an error table without `err` (error({})); answer something sane.
    let mut msg = err.unwrap_or_else(|| b"ERR unknown error".to_vec());
    if let (Some(source), Some(line)) = (source, line) {
        msg.extend_from_slice(format!(" script: {sha}, on ").as_bytes());
        msg.extend_from_slice(&source);
        msg.push(b':');
        msg.extend_from_slice(&line);
        msg.push(b'.');
    }
    let mut full = Vec::with_capacity(msg.len() + 1);
    full.push(b'-');
    full.extend_from_slice(&msg);
    error_line(&full)
}
