//! Commands the connection layer runs itself (their table entries are `Exec::Conn`): they
//! touch connection state, or look at every shard (INFO, CLIENT LIST, PUBLISH).

pub mod client;
pub mod command;
pub mod config;
pub mod connection;
pub mod info;
pub mod multi;
pub mod persistence;
pub mod pubsub;
pub mod scripting;
pub mod slowlog;

use super::conn::{Conn, Next};
use bytes::Bytes;
use orbit_engine::redis::CommandSpec;
use orbit_engine::reply::Reply;

/// Runs a connection-level command. Returns what the loop does next and whether it failed.
pub async fn run(conn: &mut Conn, spec: &'static CommandSpec, args: &[Bytes], out: &mut Vec<u8>) -> (Next, bool) {
    let reply = match spec.name {
        "ping" => connection::ping(conn, args),
        "echo" => Reply::Bulk(args[1].clone()),
        "quit" => {
            conn.reply(out, &Reply::Ok);
            return (Next::Close, false);
        }
        "reset" => connection::reset(conn),
        "hello" => connection::hello(conn, args),
        "auth" => connection::auth(conn, args),
        "select" => connection::select(conn, args),
        "time" => connection::time(),
        "client" => client::client(conn, args).await,
        "command" => command::command(args),
        "info" => info::info(args).await,
        "config" => config::config(args).await,
        "shutdown" => return connection::shutdown(conn, args, out),
        "subscribe" | "psubscribe" | "ssubscribe" => {
            pubsub::subscribe(conn, spec.name, &args[1..], out);
            return (Next::Continue, false);
        }
        "unsubscribe" | "punsubscribe" | "sunsubscribe" => {
            pubsub::unsubscribe(conn, spec.name, &args[1..], out);
            return (Next::Continue, false);
        }
        "publish" | "spublish" => pubsub::publish(spec.name, args[1].clone(), args[2].clone()).await,
        "pubsub" => pubsub::pubsub_cmd(args).await,
        "slowlog" => slowlog::slowlog(args).await,
        "latency" => slowlog::latency(args).await,
        "multi" => multi::multi(conn),
        "exec" => {
            let failed = multi::exec(conn, out).await;
            return (Next::Continue, failed);
        }
        "discard" => multi::discard(conn).await,
        "watch" => multi::watch(conn, args).await,
        "unwatch" => {
            multi::unwatch_all(conn).await;
            Reply::Ok
        }
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" => {
            let by_sha = spec.name.starts_with("evalsha");
            let read_only = spec.name.ends_with("_ro");
            let o = scripting::eval(conn, args, by_sha, read_only, conn.in_exec).await;
            conn.durable.extend(o.durable);
            o.reply
        }
        "script" => scripting::script(args).await,
        "save" => persistence::save().await,
        "bgsave" => persistence::bgsave(args).await,
        "lastsave" => persistence::lastsave().await,
        other => Reply::err(format!("ERR '{other}' is not implemented by the connection layer")),
    };
    let failed = reply.is_error();
    conn.reply(out, &reply);
    (Next::Continue, failed)
}
