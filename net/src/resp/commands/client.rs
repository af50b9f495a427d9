//! CLIENT ID/SETNAME/GETNAME/LIST/INFO/KILL/PAUSE/UNPAUSE (<https://redis.io/commands/client/>).
//! LIST and KILL look at every shard, since a connection lives on the shard that accepted it.

use crate::resp::conn::Conn;
use crate::resp::state::{self, ClientHandle};
use bytes::Bytes;
use orbit_engine::keyspace::now_ms;
use orbit_engine::redis::args::{self, is};
use orbit_engine::reply::{errors, Reply};
use orbit_shards::mesh;

const HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are: ID <client-id>, ADDR <ip:port>, LADDR <ip:port>, SKIPME (YES|NO).",
    "LIST [options ...]",
    "    Return information about client connections. Options: TYPE (NORMAL|PUBSUB), ID <client-id> [...].",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "HELP",
    "    Print this help.",
];

pub fn validate_name(name: &[u8]) -> Result<(), Reply> {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(Reply::err("ERR Client names cannot contain spaces, newlines or special characters."));
    }
    Ok(())
}

/// One CLIENT LIST line, in Redis 7.0's field order, plus Orbit's `shard=`.
pub fn info_line(c: &ClientHandle, shard: usize) -> String {
    let now = now_ms();
    let mut flags = String::new();
    if c.subs.get() + c.psubs.get() + c.ssubs.get() > 0 {
        flags.push('P');
    }
    if c.blocked.get() {
        flags.push('b');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let name = c.name.borrow().as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
    format!(
        "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi=-1 qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem={} tot-mem=0 events=r cmd={} user=default redir=-1 resp={} shard={}",
        c.id,
        c.addr,
        c.laddr,
        name,
        now.saturating_sub(c.created_ms) / 1000,
        now.saturating_sub(c.last_interaction_ms.get()) / 1000,
        flags,
        c.db.get(),
        c.subs.get(),
        c.psubs.get(),
        c.ssubs.get(),
        c.qbuf.get(),
        c.push_bytes.get(),
        c.last_cmd.get(),
        c.resp.get(),
        shard
    )
}

/// Filters of CLIENT KILL's new form.
#[derive(Clone, Default)]
struct KillFilter {
    id: Option<u64>,
    addr: Option<String>,
    laddr: Option<String>,
    skip_id: Option<u64>,
}

pub async fn client(conn: &mut Conn, args: &[Bytes]) -> Reply {
    let sub = &args[1];
    let bad_args = || {
        Reply::err(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(sub)
        ))
    };
    if is(sub, "help") && args.len() == 2 {
        return Reply::Array(HELP.iter().map(|l| Reply::Simple((*l).into())).collect());
    }
    if is(sub, "id") && args.len() == 2 {
        return Reply::Int(conn.handle.id as i64);
    }
    if is(sub, "getname") && args.len() == 2 {
        return match conn.handle.name.borrow().as_ref() {
            Some(n) => Reply::Bulk(n.clone()),
            None => Reply::Nil,
        };
    }
    if is(sub, "setname") && args.len() == 3 {
        if let Err(e) = validate_name(&args[2]) {
            return e;
        }
        *conn.handle.name.borrow_mut() = if args[2].is_empty() { None } else { Some(args[2].clone()) };
        return Reply::Ok;
    }
    if is(sub, "info") && args.len() == 2 {
        let (shard, _) = orbit_shards::state::local();
        return Reply::Verbatim("txt", Bytes::from(format!("{}\n", info_line(&conn.handle, shard))));
    }
    if is(sub, "list") {
        let mut ids: Option<Vec<u64>> = None;
        let mut pubsub_only = None;
        let mut i = 2;
        while i < args.len() {
            if is(&args[i], "type") && i + 1 < args.len() {
                let t = &args[i + 1];
                pubsub_only = Some(if is(t, "pubsub") {
                    true
                } else if is(t, "normal") {
                    false
                } else if is(t, "master") || is(t, "replica") || is(t, "slave") {
                    return Reply::Verbatim("txt", Bytes::new());
                } else {
                    return Reply::err(format!("ERR Unknown client type '{}'", String::from_utf8_lossy(t)));
                });
                i += 2;
            } else if is(&args[i], "id") && i + 1 < args.len() {
                let mut v = Vec::new();
                for a in &args[i + 1..] {
                    match args::int(a) {
                        Ok(n) if n > 0 => v.push(n as u64),
                        _ => return Reply::err("ERR Invalid client ID"),
                    }
                }
                ids = Some(v);
                i = args.len();
            } else {
                return Reply::err(errors::SYNTAX);
            }
        }
        let lines = mesh::run_on_all(move |s| {
            let shard = s.id;
            let ids = ids.clone();
            state::with_net(|n| {
                let mut v: Vec<(u64, String)> = n
                    .clients
                    .values()
                    .filter(|c| ids.as_ref().is_none_or(|ids| ids.contains(&c.id)))
                    .filter(|c| match pubsub_only {
                        Some(p) => (c.subs.get() + c.psubs.get() + c.ssubs.get() > 0) == p,
                        None => true,
                    })
                    .map(|c| (c.id, info_line(c, shard)))
                    .collect();
                v.sort();
                v
            })
        })
        .await;
        let mut all: Vec<(u64, String)> = lines.unwrap_or_default().into_iter().flatten().collect();
        all.sort();
        let mut text = String::new();
        for (_, l) in all {
            text.push_str(&l);
            text.push('\n');
        }
        return Reply::Verbatim("txt", Bytes::from(text));
    }
    if is(sub, "kill") {
        let mut f = KillFilter::default();
        let old_style = args.len() == 3;
        if old_style {
            f.addr = Some(String::from_utf8_lossy(&args[2]).into_owned());
        } else {
            let mut skipme = true;
            if !(args.len() - 2).is_multiple_of(2) {
                return Reply::err(errors::SYNTAX);
            }
            for pair in args[2..].chunks(2) {
                let v = String::from_utf8_lossy(&pair[1]).into_owned();
                if is(&pair[0], "id") {
                    match args::int(&pair[1]) {
                        Ok(n) if n > 0 => f.id = Some(n as u64),
                        _ => return Reply::err("ERR client-id should be greater than 0"),
                    }
                } else if is(&pair[0], "addr") {
                    f.addr = Some(v);
                } else if is(&pair[0], "laddr") {
                    f.laddr = Some(v);
                } else if is(&pair[0], "skipme") {
                    if is(&pair[1], "yes") {
                        skipme = true;
                    } else if is(&pair[1], "no") {
                        skipme = false;
                    } else {
                        return Reply::err(errors::SYNTAX);
                    }
                } else if is(&pair[0], "type") || is(&pair[0], "user") || is(&pair[0], "maxage") {
                    return Reply::err(format!(
                        "ERR CLIENT KILL {} is not supported by Orbit",
                        String::from_utf8_lossy(&pair[0])
                    ));
                } else {
                    return Reply::err(errors::SYNTAX);
                }
            }
            if skipme {
                f.skip_id = Some(conn.handle.id);
            }
        }
        let counts = mesh::run_on_all(move |_| {
            let f = f.clone();
            state::with_net(|n| {
                let victims: Vec<_> = n
                    .clients
                    .values()
                    .filter(|c| f.id.is_none_or(|id| c.id == id))
                    .filter(|c| f.addr.as_ref().is_none_or(|a| &c.addr == a))
                    .filter(|c| f.laddr.as_ref().is_none_or(|a| &c.laddr == a))
                    .filter(|c| f.skip_id != Some(c.id))
                    .cloned()
                    .collect();
                victims.iter().filter(|c| c.kill()).count()
            })
        })
        .await;
        let killed: usize = counts.unwrap_or_default().into_iter().sum();
        if old_style {
            return if killed > 0 { Reply::Ok } else { Reply::err("ERR No such client") };
        }
        return Reply::Int(killed as i64);
    }
    if is(sub, "pause") && (args.len() == 3 || args.len() == 4) {
        let ms = match args::int(&args[2]) {
            Ok(v) if v >= 0 => v as u64,
            Ok(_) => return Reply::err("ERR timeout is negative"),
            Err(_) => return Reply::err("ERR timeout is not an integer or out of range"),
        };
        let writes_only = match args.get(3) {
            None => false,
            Some(a) if is(a, "write") => true,
            Some(a) if is(a, "all") => false,
            Some(_) => return Reply::err(errors::SYNTAX),
        };
        let until = now_ms() + ms;
        let _ = mesh::run_on_all(move |_| {
            state::with_net(|n| {
                n.pause_until_ms = n.pause_until_ms.max(until);
                n.pause_writes_only = writes_only;
            })
        })
        .await;
        return Reply::Ok;
    }
    if is(sub, "unpause") && args.len() == 2 {
        let _ = mesh::run_on_all(|_| state::with_net(|n| n.pause_until_ms = 0)).await;
        return Reply::Ok;
    }
    if is(sub, "reply") && args.len() == 3 {
        // CLIENT REPLY ON | OFF | SKIP (https://redis.io/commands/client-reply/): OFF and SKIP
        // send no reply of their own; SKIP also drops the next command's.
        let mode = &args[2];
        if is(mode, "on") {
            conn.replies_off.set(false);
            conn.replies_skipped.set(0);
        } else if is(mode, "off") {
            conn.replies_off.set(true);
        } else if is(mode, "skip") {
            conn.replies_skipped.set(2);
        } else {
            return Reply::err("ERR syntax error");
        }
        return Reply::Ok;
    }
    if is(sub, "reply") {
        return Reply::err("ERR wrong number of arguments for 'client|reply' command");
    }
    if is(sub, "no-evict")
        || is(sub, "tracking")
        || is(sub, "caching")
        || is(sub, "getredir")
        || is(sub, "unblock")
        || is(sub, "trackinginfo")
        || is(sub, "no-touch")
    {
        return Reply::err(format!(
            "ERR CLIENT {} is not supported by Orbit",
            String::from_utf8_lossy(sub).to_ascii_uppercase()
        ));
    }
    bad_args()
}
