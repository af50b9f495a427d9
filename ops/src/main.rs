//! `orbit`: the server binary. Parses the command line and configuration, then hands over to
//! [`serve`], which starts one shard per CPU and the frontends on them.

mod config;
mod serve;

use clap::Parser;
use config::{Cli, Command, Config};

#[global_allocator]
static ALLOC: orbit_shards::memory::CountingAlloc = orbit_shards::memory::CountingAlloc;

/// The stack of every thread Orbit starts (shards included), unless `RUST_MIN_STACK` says
/// otherwise: a statement's nested subqueries and catalog views recurse through the executor's
/// futures, and a debug build's frames pass std's 2 MiB on SQLAlchemy's index reflection query.
/// The binder, executor and evaluator refuse to recurse within the last quarter of it
/// (`orbit_query::stack_depth`, 54001): 16 MiB lets a release build nest expressions about as
/// deeply as PostgreSQL does. Only the pages a statement touched are memory.
/// glommio's executor builder has no stack size of its own; std reads this variable when it
/// starts the first thread.
const THREAD_STACK_BYTES: &str = "16777216";

fn main() {
    if std::env::var_os("RUST_MIN_STACK").is_none() {
        // No other thread exists yet.
        std::env::set_var("RUST_MIN_STACK", THREAD_STACK_BYTES);
    }
    let started = std::time::Instant::now();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let cpus = orbit_shards::rt::available_cpus().len();
            let cfg = match Config::resolve(args, cpus) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("orbit: {e}");
                    std::process::exit(2);
                }
            };
            init_logging(&cfg.log_level);
            match serve::run(cfg, started) {
                Ok(()) => std::process::exit(0),
                Err(e) => {
                    eprintln!("orbit: {e}");
                    std::process::exit(2);
                }
            }
        }
    }
}

fn init_logging(level: &str) {
    let level = match level {
        "error" => tracing::Level::ERROR,
        "warn" => tracing::Level::WARN,
        "debug" => tracing::Level::DEBUG,
        "trace" => tracing::Level::TRACE,
        _ => tracing::Level::INFO,
    };
    // A closed stderr (e.g. piped into `head`) must not panic the thread that logs: the
    // subscriber's own error report would use eprintln!, which panics on a failed write.
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_writer(std::io::stderr)
        .log_internal_errors(false)
        .init();
}
