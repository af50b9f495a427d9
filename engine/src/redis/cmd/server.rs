//! Connection and server commands. Most are run by the connection layer (`orbit-net`), which
//! owns connection state and the view over all shards; they are listed here so that the
//! command table (arity checks, COMMAND INFO/COUNT) is complete.

use crate::redis::flags::*;
use crate::redis::{CommandSpec, Exec, KeySpec};

/// EVAL and friends: keys declared by numkeys at argv[2].
const fn script(name: &'static str, flags: u32) -> CommandSpec {
    CommandSpec {
        name,
        arity: -3,
        flags,
        keys: KeySpec::NumKeys { count_at: 2, dest: false },
        group: "scripting",
        exec: Exec::Conn,
    }
}

const fn conn(name: &'static str, arity: i32, flags: u32, group: &'static str) -> CommandSpec {
    CommandSpec { name, arity, flags, keys: KeySpec::None, group, exec: Exec::Conn }
}

pub const COMMANDS: &[CommandSpec] = &[
    conn("ping", -1, FAST | STALE, "connection"),
    conn("echo", 2, FAST | STALE, "connection"),
    conn("quit", -1, FAST | STALE | NO_AUTH | NOSCRIPT, "connection"),
    conn("reset", 1, FAST | STALE | NO_AUTH | NOSCRIPT, "connection"),
    conn("hello", -1, FAST | STALE | NO_AUTH | NOSCRIPT, "connection"),
    conn("auth", -2, FAST | STALE | NO_AUTH | NOSCRIPT, "connection"),
    conn("select", 2, FAST | STALE | LOADING, "connection"),
    conn("client", -2, STALE | NOSCRIPT, "connection"),
    conn("command", -1, STALE | LOADING, "server"),
    conn("info", -1, STALE | LOADING, "server"),
    conn("config", -2, ADMIN | NOSCRIPT | STALE | LOADING, "server"),
    conn("time", 1, FAST | STALE | LOADING, "server"),
    conn("slowlog", -2, ADMIN | LOADING | STALE, "server"),
    conn("latency", -2, ADMIN | NOSCRIPT | LOADING | STALE, "server"),
    conn("shutdown", -1, ADMIN | NOSCRIPT | STALE | LOADING, "server"),
    conn("save", 1, ADMIN | NOSCRIPT, "server"),
    conn("bgsave", -1, ADMIN | NOSCRIPT, "server"),
    conn("lastsave", 1, FAST | RANDOM | LOADING | STALE, "server"),
    conn("multi", 1, NOSCRIPT | LOADING | STALE | FAST, "transactions"),
    conn("exec", 1, NOSCRIPT | LOADING | STALE, "transactions"),
    conn("discard", 1, NOSCRIPT | LOADING | STALE | FAST, "transactions"),
    CommandSpec {
        name: "watch",
        arity: -2,
        flags: NOSCRIPT | LOADING | STALE | FAST,
        keys: KeySpec::Range { first: 1, last: -1, step: 1 },
        group: "transactions",
        exec: Exec::Conn,
    },
    conn("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST, "transactions"),
    script("eval", NOSCRIPT | STALE | MAY_REPLICATE),
    script("evalsha", NOSCRIPT | STALE | MAY_REPLICATE),
    script("eval_ro", NOSCRIPT | STALE | READONLY),
    script("evalsha_ro", NOSCRIPT | STALE | READONLY),
    conn("script", -2, NOSCRIPT, "scripting"),
    conn("subscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, "pubsub"),
    conn("unsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, "pubsub"),
    conn("psubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, "pubsub"),
    conn("punsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, "pubsub"),
    conn("ssubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, "pubsub"),
    conn("sunsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, "pubsub"),
    conn("publish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, "pubsub"),
    conn("spublish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, "pubsub"),
    conn("pubsub", -2, PUBSUB | LOADING | STALE, "pubsub"),
];
