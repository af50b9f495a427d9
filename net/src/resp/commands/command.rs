//! COMMAND, COMMAND COUNT/INFO/DOCS/LIST/GETKEYS (<https://redis.io/commands/command/>), from the
//! engine's command table. Clients such as redis-py and ioredis call these at connect time.

use bytes::Bytes;
use orbit_engine::redis::args::is;
use orbit_engine::redis::{self, flags, CommandSpec, KeySpec};
use orbit_engine::reply::{errors, Reply};

fn info(c: &CommandSpec) -> Reply {
    let (first, last, step) = match c.keys {
        KeySpec::None => (0, 0, 0),
        KeySpec::Range { first, last, step } => (first, last, step),
        KeySpec::NumKeys { .. } | KeySpec::Custom(_) => (0, 0, 0),
    };
    let fl =
        flags::NAMES.iter().filter(|(bit, _)| c.flags & bit != 0).map(|(_, n)| Reply::Simple((*n).into())).collect();
    let mut cats = vec![Reply::Simple(format!("@{}", c.group.replace("sorted-set", "sortedset")).into())];
    if c.flags & flags::WRITE != 0 {
        cats.push(Reply::simple("@write"));
    }
    if c.flags & flags::READONLY != 0 {
        cats.push(Reply::simple("@read"));
    }
    if c.flags & flags::FAST != 0 {
        cats.push(Reply::simple("@fast"));
    } else {
        cats.push(Reply::simple("@slow"));
    }
    Reply::Array(vec![
        Reply::bulk(c.name),
        Reply::Int(c.arity as i64),
        Reply::Set(fl),
        Reply::Int(first as i64),
        Reply::Int(last as i64),
        Reply::Int(step as i64),
        Reply::Set(cats),
        Reply::Set(vec![]),
        Reply::Array(vec![]),
        Reply::Array(vec![]),
    ])
}

fn docs(c: &CommandSpec) -> Reply {
    Reply::Map(vec![
        (Reply::bulk("summary"), Reply::bulk(format!("The {} command", c.name.to_ascii_uppercase()))),
        (Reply::bulk("since"), Reply::bulk("1.0.0")),
        (Reply::bulk("group"), Reply::bulk(c.group)),
    ])
}

pub fn command(args: &[Bytes]) -> Reply {
    if args.len() == 1 {
        return Reply::Array(redis::all_commands().map(info).collect());
    }
    let sub = &args[1];
    if is(sub, "count") && args.len() == 2 {
        return Reply::Int(redis::all_commands().count() as i64);
    }
    if is(sub, "info") {
        if args.len() == 2 {
            return Reply::Array(redis::all_commands().map(info).collect());
        }
        return Reply::Array(args[2..].iter().map(|n| redis::lookup(n).map(info).unwrap_or(Reply::NilArray)).collect());
    }
    if is(sub, "docs") {
        let pick: Vec<&CommandSpec> = if args.len() == 2 {
            redis::all_commands().collect()
        } else {
            args[2..].iter().filter_map(|n| redis::lookup(n)).collect()
        };
        return Reply::Map(pick.into_iter().map(|c| (Reply::bulk(c.name), docs(c))).collect());
    }
    if is(sub, "list") {
        let filter = match args.len() {
            2 => None,
            5 if is(&args[2], "filterby") => Some((args[3].clone(), args[4].clone())),
            _ => return Reply::err(errors::SYNTAX),
        };
        let names = redis::all_commands()
            .filter(|c| match &filter {
                None => true,
                Some((k, v)) if is(k, "pattern") => orbit_engine::redis::glob::matches(v, c.name.as_bytes(), true),
                Some((k, v)) if is(k, "aclcat") => {
                    let v = String::from_utf8_lossy(v).to_ascii_lowercase();
                    c.group.replace("sorted-set", "sortedset") == v
                        || (v == "write" && c.is_write())
                        || (v == "read" && c.flags & flags::READONLY != 0)
                }
                Some(_) => false,
            })
            .map(|c| Reply::bulk(c.name))
            .collect();
        return Reply::Array(names);
    }
    if is(sub, "getkeys") && args.len() >= 3 {
        let cmd_args = &args[2..];
        let Some(spec) = redis::lookup(&cmd_args[0]) else {
            return Reply::err("ERR Invalid command specified");
        };
        if !spec.arity_ok(cmd_args.len()) {
            return Reply::err("ERR Invalid number of arguments specified for command");
        }
        let keys: Vec<Reply> =
            spec.key_positions(cmd_args).into_iter().map(|p| Reply::Bulk(cmd_args[p].clone())).collect();
        if keys.is_empty() {
            return Reply::err("ERR The command has no key arguments");
        }
        return Reply::Array(keys);
    }
    Reply::err(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try COMMAND HELP.",
        String::from_utf8_lossy(sub)
    ))
}
