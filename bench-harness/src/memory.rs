//! Memory per key: the same data loaded into Orbit and into redis-server, each server's own
//! `INFO memory` `used_memory` read before and after, and bytes per key compared.

use crate::keys::key_name;
use crate::load::Client;
use crate::report::{reproduce_command, thousands};
use crate::resp::{push_command, Reply};
use crate::servers::{Server, ServerArgs, ServerKind};
use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Data {
    /// String keys: SET key:N <value>.
    Strings,
    /// Hashes of --fields fields: HSET hash:N field:0 <value> ... field:F-1 <value>.
    Hashes,
    Both,
}

#[derive(Debug, clap::Args)]
pub struct MemoryArgs {
    #[command(flatten)]
    pub servers: ServerArgs,
    /// Keys to load.
    #[arg(long, default_value_t = 1_000_000)]
    pub keys: u64,
    #[arg(long, value_enum, default_value = "both")]
    pub data: Data,
    /// Fields per hash.
    #[arg(long, default_value_t = 10)]
    pub fields: u64,
    /// Bytes per value (string values and hash field values).
    #[arg(long, default_value_t = 10)]
    pub value_size: usize,
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[arg(long)]
    pub markdown: bool,
}

pub const MEMORY_HEADER: &str = "| data | keys | Orbit used_memory | Redis used_memory | Orbit bytes/key | Redis bytes/key | Orbit/Redis | reproduce |\n|---|---|---|---|---|---|---|---|";

#[derive(Debug, Clone, Serialize)]
pub struct MemoryResult {
    pub server: String,
    pub data: String,
    pub keys: u64,
    pub used_memory_before: u64,
    pub used_memory_after: u64,
    /// (after - before) / keys: what the data costs, not the empty server.
    pub bytes_per_key: f64,
}

fn used_memory(c: &mut Client) -> Result<u64> {
    let v = c.info_field("memory", "used_memory")?;
    v.parse().with_context(|| format!("used_memory '{v}' is not a number"))
}

fn measure(kind: ServerKind, data: Data, args: &MemoryArgs) -> Result<MemoryResult> {
    let server = Server::start(kind, &args.servers, args.servers.shards, &args.servers.server_cpus)?;
    let mut c = Client::connect("127.0.0.1", server.port)?;
    let before = used_memory(&mut c)?;
    let value = vec![b'x'; args.value_size];
    let field_names: Vec<Vec<u8>> = (0..args.fields).map(|f| format!("field:{f}").into_bytes()).collect();
    let mut batch = Vec::new();
    let mut count = 0;
    let mut errors = 0;
    let mut k = [0u8; 48];
    for i in 0..args.keys {
        match data {
            Data::Strings => push_command(&mut batch, &[b"SET", key_name(&mut k, b"key:", i), &value]),
            _ => {
                let mut cmd: Vec<&[u8]> = vec![b"HSET", key_name(&mut k, b"hash:", i)];
                for f in &field_names {
                    cmd.push(f);
                    cmd.push(&value);
                }
                push_command(&mut batch, &cmd);
            }
        }
        count += 1;
        if count == 1000 {
            errors += c.pipeline(&batch, count)?;
            batch.clear();
            count = 0;
        }
    }
    if count > 0 {
        errors += c.pipeline(&batch, count)?;
    }
    if errors > 0 {
        bail!("{errors} load commands failed on {}", kind.name());
    }
    let dbsize = match c.call(&["DBSIZE"])? {
        Reply::Integer(n) => n as u64,
        other => bail!("DBSIZE answered {other:?}"),
    };
    if dbsize != args.keys {
        bail!("{} holds {dbsize} keys after loading {}", kind.name(), args.keys);
    }
    let after = used_memory(&mut c)?;
    drop(server);
    let r = MemoryResult {
        server: kind.name().into(),
        data: data_name(data, args),
        keys: dbsize,
        used_memory_before: before,
        used_memory_after: after,
        bytes_per_key: after.saturating_sub(before) as f64 / dbsize.max(1) as f64,
    };
    eprintln!(
        "{:<5} {}: {} keys, used_memory {} -> {} bytes, {:.1} bytes/key",
        r.server,
        r.data,
        r.keys,
        thousands(before as f64),
        thousands(after as f64),
        r.bytes_per_key
    );
    Ok(r)
}

fn data_name(data: Data, args: &MemoryArgs) -> String {
    match data {
        Data::Strings => format!("strings, {}-byte values", args.value_size),
        _ => format!("hashes of {} fields, {}-byte values", args.fields, args.value_size),
    }
}

pub fn memory(args: &MemoryArgs) -> Result<()> {
    if args.keys == 0 || args.fields == 0 {
        bail!("--keys and --fields must be at least 1");
    }
    let kinds = match args.data {
        Data::Both => vec![Data::Strings, Data::Hashes],
        d => vec![d],
    };
    let mut all = Vec::new();
    if args.markdown {
        println!("{MEMORY_HEADER}");
    }
    for data in kinds {
        let orbit = measure(ServerKind::Orbit, data, args)?;
        let redis = measure(ServerKind::Redis, data, args)?;
        let ratio = orbit.bytes_per_key / redis.bytes_per_key;
        if args.markdown {
            println!(
                "| {} | {} | {} | {} | {:.0} | {:.0} | **{:.2}** | `{}` |",
                orbit.data,
                thousands(orbit.keys as f64),
                thousands(orbit.used_memory_after as f64),
                thousands(redis.used_memory_after as f64),
                orbit.bytes_per_key,
                redis.bytes_per_key,
                ratio,
                reproduce_command()
            );
        } else {
            println!(
                "{}: Orbit {:.1} bytes/key, Redis {:.1} bytes/key, Orbit/Redis {:.2}",
                orbit.data, orbit.bytes_per_key, redis.bytes_per_key, ratio
            );
        }
        all.push(orbit);
        all.push(redis);
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&all)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
