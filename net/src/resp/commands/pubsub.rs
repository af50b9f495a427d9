//! Pub/Sub (<https://redis.io/docs/interact/pubsub/>). Subscriptions are kept on the shard where
//! the subscriber's connection lives; PUBLISH runs on every shard, each delivering to its own
//! subscribers, and the counts are summed. Messages are RESP3 pushes (`>`) or RESP2 arrays.

use crate::resp::conn::Conn;
use crate::resp::encode::Proto;
use crate::resp::state::{self, ClientHandle, PubSub};
use crate::resp::stats;
use bytes::Bytes;
use orbit_engine::redis::args::is;
use orbit_engine::redis::glob;
use orbit_engine::reply::{errors, Reply};
use orbit_shards::mesh;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

fn kind_of(cmd: &str) -> Kind {
    match cmd {
        "psubscribe" | "punsubscribe" => Kind::Pattern,
        "ssubscribe" | "sunsubscribe" => Kind::Shard,
        _ => Kind::Channel,
    }
}

fn map_of(ps: &mut PubSub, k: Kind) -> &mut HashMap<Bytes, Vec<Rc<ClientHandle>>> {
    match k {
        Kind::Channel => &mut ps.channels,
        Kind::Pattern => &mut ps.patterns,
        Kind::Shard => &mut ps.shard_channels,
    }
}

fn client_channels(ps: &PubSub, k: Kind, id: u64) -> Vec<Bytes> {
    let m = match k {
        Kind::Channel => &ps.channels,
        Kind::Pattern => &ps.patterns,
        Kind::Shard => &ps.shard_channels,
    };
    m.iter().filter(|(_, v)| v.iter().any(|c| c.id == id)).map(|(ch, _)| ch.clone()).collect()
}

fn counter(h: &ClientHandle, k: Kind) -> &std::cell::Cell<usize> {
    match k {
        Kind::Channel => &h.subs,
        Kind::Pattern => &h.psubs,
        Kind::Shard => &h.ssubs,
    }
}

/// The count in (un)subscribe confirmations: channels + patterns, or shard channels.
fn count_for(h: &ClientHandle, k: Kind) -> i64 {
    match k {
        Kind::Shard => h.ssubs.get() as i64,
        _ => (h.subs.get() + h.psubs.get()) as i64,
    }
}

fn push(conn: &Conn, items: Vec<Reply>) -> Reply {
    match conn.proto {
        Proto::Resp3 => Reply::Push(items),
        Proto::Resp2 => Reply::Array(items),
    }
}

fn update_mode(conn: &mut Conn) {
    let h = &conn.handle;
    conn.subscribed = h.subs.get() + h.psubs.get() + h.ssubs.get() > 0;
}

pub fn subscribe(conn: &mut Conn, cmd: &'static str, names: &[Bytes], out: &mut Vec<u8>) {
    let k = kind_of(cmd);
    for name in names {
        let h = conn.handle.clone();
        let added = state::with_net(|n| {
            let subs = map_of(&mut n.pubsub, k).entry(name.clone()).or_default();
            if subs.iter().any(|c| c.id == h.id) {
                false
            } else {
                subs.push(h.clone());
                true
            }
        });
        if added {
            counter(&conn.handle, k).set(counter(&conn.handle, k).get() + 1);
        }
        let r = push(conn, vec![Reply::bulk(cmd), Reply::Bulk(name.clone()), Reply::Int(count_for(&conn.handle, k))]);
        conn.reply(out, &r);
    }
    update_mode(conn);
}

pub fn unsubscribe(conn: &mut Conn, cmd: &'static str, names: &[Bytes], out: &mut Vec<u8>) {
    let k = kind_of(cmd);
    let id = conn.handle.id;
    let names: Vec<Bytes> =
        if names.is_empty() { state::with_net(|n| client_channels(&n.pubsub, k, id)) } else { names.to_vec() };
    if names.is_empty() {
        let r = push(conn, vec![Reply::bulk(cmd), Reply::Nil, Reply::Int(count_for(&conn.handle, k))]);
        conn.reply(out, &r);
    }
    for name in names {
        let removed = state::with_net(|n| {
            let m = map_of(&mut n.pubsub, k);
            let mut removed = false;
            if let Some(v) = m.get_mut(&name) {
                let before = v.len();
                v.retain(|c| c.id != id);
                removed = v.len() != before;
                if v.is_empty() {
                    m.remove(&name);
                }
            }
            removed
        });
        if removed {
            counter(&conn.handle, k).set(counter(&conn.handle, k).get() - 1);
        }
        let r = push(conn, vec![Reply::bulk(cmd), Reply::Bulk(name), Reply::Int(count_for(&conn.handle, k))]);
        conn.reply(out, &r);
    }
    update_mode(conn);
}

/// Removes every subscription of a closing (or RESET) client.
pub fn drop_client(h: &ClientHandle) {
    state::with_net(|n| {
        for m in [&mut n.pubsub.channels, &mut n.pubsub.patterns, &mut n.pubsub.shard_channels] {
            m.retain(|_, v| {
                v.retain(|c| c.id != h.id);
                !v.is_empty()
            });
        }
    });
    h.subs.set(0);
    h.psubs.set(0);
    h.ssubs.set(0);
}

fn send(c: &ClientHandle, items: Vec<Reply>) -> bool {
    let msg = if c.resp.get() == 3 { Reply::Push(items) } else { Reply::Array(items) };
    let size = 64;
    let limit = state::with_net(|n| n.config.pubsub_output_limit_bytes);
    if c.push_bytes.get() + size > limit {
        // Redis's client-output-buffer-limit for pubsub: a subscriber that cannot keep up is
        // disconnected rather than buffering without bound.
        c.kill();
        return false;
    }
    c.push_bytes.set(c.push_bytes.get() + size);
    c.push.unbounded_send(msg).is_ok()
}

/// Subscribers of a channel: direct ones, and pattern ones with the pattern they matched.
type Subscribers = (Vec<Rc<ClientHandle>>, Vec<(Bytes, Rc<ClientHandle>)>);

/// Delivers on this shard; returns how many clients received the message.
fn deliver_local(shard_channel: bool, channel: &Bytes, message: &Bytes) -> i64 {
    let (direct, patterned): Subscribers = state::with_net(|n| {
        let m = if shard_channel { &n.pubsub.shard_channels } else { &n.pubsub.channels };
        let d = m.get(channel).cloned().unwrap_or_default();
        let p = if shard_channel {
            Vec::new()
        } else {
            n.pubsub
                .patterns
                .iter()
                .filter(|(pat, _)| glob::matches(pat, channel, false))
                .flat_map(|(pat, v)| v.iter().map(move |c| (pat.clone(), c.clone())))
                .collect()
        };
        (d, p)
    });
    let mut n = 0;
    let kind = if shard_channel { "smessage" } else { "message" };
    for c in direct {
        if send(&c, vec![Reply::bulk(kind), Reply::Bulk(channel.clone()), Reply::Bulk(message.clone())]) {
            n += 1;
        }
    }
    for (pat, c) in patterned {
        if send(
            &c,
            vec![Reply::bulk("pmessage"), Reply::Bulk(pat), Reply::Bulk(channel.clone()), Reply::Bulk(message.clone())],
        ) {
            n += 1;
        }
    }
    stats::with(|s| s.pubsub_messages += 1);
    n
}

pub async fn publish(cmd: &str, channel: Bytes, message: Bytes) -> Reply {
    let shard_channel = cmd == "spublish";
    match mesh::run_on_all(move |_| deliver_local(shard_channel, &channel, &message)).await {
        Ok(counts) => Reply::Int(counts.into_iter().sum()),
        Err(e) => Reply::err(format!("ERR {e}")),
    }
}

/// PUBSUB CHANNELS/NUMSUB/NUMPAT/SHARDCHANNELS/SHARDNUMSUB.
pub async fn pubsub_cmd(args: &[Bytes]) -> Reply {
    let sub = &args[1];
    let bad = || {
        Reply::err(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(sub)
        ))
    };
    if (is(sub, "channels") || is(sub, "shardchannels")) && args.len() <= 3 {
        let shard = is(sub, "shardchannels");
        let pat = args.get(2).cloned();
        let r = mesh::run_on_all(move |_| {
            let pat = pat.clone();
            state::with_net(|n| {
                let m = if shard { &n.pubsub.shard_channels } else { &n.pubsub.channels };
                m.keys()
                    .filter(|c| pat.as_ref().is_none_or(|p| glob::matches(p, c, false)))
                    .cloned()
                    .collect::<Vec<_>>()
            })
        })
        .await;
        let all: BTreeSet<Bytes> = r.unwrap_or_default().into_iter().flatten().collect();
        return Reply::Array(all.into_iter().map(Reply::Bulk).collect());
    }
    if is(sub, "numsub") || is(sub, "shardnumsub") {
        let shard = is(sub, "shardnumsub");
        let names: Vec<Bytes> = args[2..].to_vec();
        let names2 = names.clone();
        let r = mesh::run_on_all(move |_| {
            let names = names2.clone();
            state::with_net(|n| {
                let m = if shard { &n.pubsub.shard_channels } else { &n.pubsub.channels };
                names.iter().map(|c| m.get(c).map_or(0, |v| v.len()) as i64).collect::<Vec<_>>()
            })
        })
        .await
        .unwrap_or_default();
        let mut out = Vec::new();
        for (i, name) in names.into_iter().enumerate() {
            let total: i64 = r.iter().map(|v| v[i]).sum();
            out.push((Reply::Bulk(name), Reply::Int(total)));
        }
        return Reply::Map(out);
    }
    if is(sub, "numpat") && args.len() == 2 {
        let r = mesh::run_on_all(|_| state::with_net(|n| n.pubsub.patterns.keys().cloned().collect::<Vec<_>>())).await;
        let all: BTreeSet<Bytes> = r.unwrap_or_default().into_iter().flatten().collect();
        return Reply::Int(all.len() as i64);
    }
    if is(sub, "help") && args.len() == 2 {
        return Reply::Array(
            [
                "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CHANNELS [<pattern>]",
                "    Return the currently active channels matching a <pattern> (default: '*').",
                "NUMPAT",
                "    Return number of subscriptions to patterns.",
                "NUMSUB [<channel> ...]",
                "    Return the number of subscribers for the specified channels, excluding",
                "    pattern subscriptions(default: no channels).",
                "SHARDCHANNELS [<pattern>]",
                "    Return the currently active shard level channels matching a <pattern> (default: '*').",
                "SHARDNUMSUB [<shardchannel> ...]",
                "    Return the number of subscribers for the specified shard level channel(s)",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|l| Reply::Simple((*l).into()))
            .collect(),
        );
    }
    let _ = errors::SYNTAX;
    bad()
}
