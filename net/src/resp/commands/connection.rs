//! PING, HELLO, AUTH, SELECT, RESET, TIME, SHUTDOWN (<https://redis.io/commands/?group=connection>).

use crate::resp::conn::{Conn, Next};
use crate::resp::encode::Proto;
use crate::resp::state;
use crate::server::REDIS_COMPAT_VERSION;
use bytes::Bytes;
use orbit_engine::redis::args::is;
use orbit_engine::reply::{errors, Reply};

pub fn ping(conn: &Conn, args: &[Bytes]) -> Reply {
    if args.len() > 2 {
        return Reply::err(errors::wrong_args("ping"));
    }
    if conn.subscribed && conn.proto == Proto::Resp2 {
        let payload = args.get(1).cloned().unwrap_or_default();
        return Reply::Array(vec![Reply::bulk("pong"), Reply::Bulk(payload)]);
    }
    match args.get(1) {
        Some(m) => Reply::Bulk(m.clone()),
        None => Reply::simple("PONG"),
    }
}

fn check_password(given: &[u8]) -> bool {
    state::with_net(|n| match &n.config.requirepass {
        Some(p) => p.as_bytes() == given,
        None => false,
    })
}

pub fn auth(conn: &mut Conn, args: &[Bytes]) -> Reply {
    if args.len() > 3 {
        return Reply::err(errors::SYNTAX);
    }
    let has_pass = state::with_net(|n| n.config.requirepass.is_some());
    if args.len() == 2 && !has_pass {
        return Reply::err(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        );
    }
    let (user, pass) = if args.len() == 3 { (&args[1][..], &args[2]) } else { (&b"default"[..], &args[1]) };
    if user == b"default" && (check_password(pass) || !has_pass) {
        conn.authed = true;
        Reply::Ok
    } else {
        Reply::err("WRONGPASS invalid username-password pair or user is disabled.")
    }
}

pub fn select(conn: &mut Conn, args: &[Bytes]) -> Reply {
    match orbit_engine::redis::args::db_index(&args[1]) {
        Ok(db) => {
            conn.db = db;
            conn.handle.db.set(db);
            Reply::Ok
        }
        Err(e) => e,
    }
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]].
pub fn hello(conn: &mut Conn, args: &[Bytes]) -> Reply {
    let mut proto = None;
    let mut i = 1;
    if args.len() >= 2 {
        match orbit_engine::value::parse_i64_strict(&args[1]) {
            Some(v) => {
                if !(2..=3).contains(&v) {
                    return Reply::err("NOPROTO unsupported protocol version");
                }
                proto = Some(v);
            }
            None => return Reply::err("ERR Protocol version is not an integer or out of range"),
        }
        i = 2;
    }
    let mut setname = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if is(&args[i], "auth") && more >= 2 {
            let user = &args[i + 1];
            let pass = &args[i + 2];
            let has_pass = state::with_net(|n| n.config.requirepass.is_some());
            if &user[..] == b"default" && (!has_pass || check_password(pass)) {
                conn.authed = true;
            } else {
                return Reply::err("WRONGPASS invalid username-password pair or user is disabled.");
            }
            i += 3;
        } else if is(&args[i], "setname") && more >= 1 {
            if let Err(e) = super::client::validate_name(&args[i + 1]) {
                return e;
            }
            setname = Some(args[i + 1].clone());
            i += 2;
        } else {
            return Reply::err(format!("ERR Syntax error in HELLO option '{}'", String::from_utf8_lossy(&args[i])));
        }
    }
    if !conn.authed {
        return Reply::err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(n) = setname {
        *conn.handle.name.borrow_mut() = if n.is_empty() { None } else { Some(n) };
    }
    if let Some(p) = proto {
        conn.proto = if p == 3 { Proto::Resp3 } else { Proto::Resp2 };
        conn.handle.resp.set(p as u8);
    }
    let (shard, _) = orbit_shards::state::local();
    Reply::Map(vec![
        (Reply::bulk("server"), Reply::bulk("redis")),
        (Reply::bulk("version"), Reply::bulk(REDIS_COMPAT_VERSION)),
        (Reply::bulk("proto"), Reply::Int(if conn.proto == Proto::Resp3 { 3 } else { 2 })),
        (Reply::bulk("id"), Reply::Int(conn.handle.id as i64)),
        (Reply::bulk("mode"), Reply::bulk("standalone")),
        (Reply::bulk("role"), Reply::bulk("master")),
        (Reply::bulk("modules"), Reply::Array(vec![])),
        (Reply::bulk("orbit_shard"), Reply::Int(shard as i64)),
    ])
}

/// RESET: back to a fresh connection's state (RESP2, db 0, no subscriptions, no name).
pub fn reset(conn: &mut Conn) -> Reply {
    crate::resp::commands::pubsub::drop_client(&conn.handle);
    conn.multi = None;
    crate::resp::commands::multi::forget(conn);
    conn.subscribed = false;
    conn.db = 0;
    conn.handle.db.set(0);
    conn.proto = Proto::Resp2;
    conn.handle.resp.set(2);
    *conn.handle.name.borrow_mut() = None;
    conn.authed = state::with_net(|n| n.config.requirepass.is_none());
    Reply::simple("RESET")
}

pub fn time() -> Reply {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(now.as_secs().to_string())),
        Reply::Bulk(Bytes::from(now.subsec_micros().to_string())),
    ])
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: asks every shard to stop, like SIGTERM.
pub fn shutdown(conn: &Conn, args: &[Bytes], out: &mut Vec<u8>) -> (Next, bool) {
    for a in &args[1..] {
        if !(is(a, "nosave") || is(a, "save") || is(a, "now") || is(a, "force") || is(a, "abort")) {
            conn.reply(out, &Reply::err(errors::SYNTAX));
            return (Next::Continue, true);
        }
    }
    if args[1..].iter().any(|a| is(a, "abort")) {
        conn.reply(out, &Reply::err("ERR No shutdown in progress."));
        return (Next::Continue, true);
    }
    tracing::info!("SHUTDOWN requested by client {}", conn.handle.id);
    orbit_shards::rt::request_shutdown();
    // Redis closes the connection without a reply when the shutdown succeeds.
    (Next::Close, false)
}
