//! Replaying log and snapshot records into a keyspace. A command record runs through the same
//! command code that ran it first, with the clock it ran with, so lazy expiry and relative
//! arguments decide exactly as they did; keys whose deadline has passed by now are dropped by
//! [`crate::keyspace::Keyspace::purge_expired`] once replay is done.

use super::record::Record;
use crate::keyspace::{Entry, Keyspace};
use crate::redis::{self, Ctx, Exec};
use crate::{Error, Result};
use rand::rngs::SmallRng;

/// Applies one data record. Structural records (headers, snapshot markers) are ignored.
pub fn apply(ks: &mut Keyspace, rng: &mut SmallRng, rec: Record) -> Result<()> {
    match rec {
        Record::RedisCommand { db, now_ms, argv } => {
            let spec = redis::check(&argv).map_err(|e| Error::Corrupt(format!("logged command rejected: {e:?}")))?;
            if matches!(spec.exec, Exec::Conn) {
                return Err(Error::Corrupt(format!("logged command '{}' is not a data command", spec.name)));
            }
            let mut ctx = Ctx::new(ks, db, now_ms, rng);
            // The reply is what the client saw the first time; replay only wants the effect.
            let _ = redis::execute(spec, &mut ctx, &argv);
            ks.ready_keys.clear();
        }
        Record::RedisPut { db, key, value, expire_at_ms } => {
            ks.dbs[db].set_entry(key, Entry { value, expire_at_ms, access_s: 0, snap_mark: 0 });
        }
        Record::RedisDelete { db, key } => {
            ks.dbs[db].remove(&key);
        }
        Record::LogHeader(_) | Record::SnapshotBegin(_) | Record::SnapshotEnd { .. } => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use rand::SeedableRng;

    fn argv(parts: &[&str]) -> Vec<Bytes> {
        parts.iter().map(|p| Bytes::copy_from_slice(p.as_bytes())).collect()
    }

    #[test]
    fn commands_replay_with_their_own_clock() {
        let mut ks = Keyspace::new();
        let mut rng = SmallRng::seed_from_u64(1);
        // SET with a deadline 10 s after t0, APPEND at t0+1 s: the key was live then, so the
        // append keeps the deadline; replayed much later it must still do so.
        let t0 = 1_000_000;
        let set = Record::RedisCommand {
            db: 2,
            now_ms: t0,
            argv: argv(&["SET", "k", "v", "PXAT", &(t0 + 10_000).to_string()]),
        };
        apply(&mut ks, &mut rng, set).unwrap();
        apply(&mut ks, &mut rng, Record::RedisCommand { db: 2, now_ms: t0 + 1000, argv: argv(&["APPEND", "k", "x"]) })
            .unwrap();
        let e = ks.dbs[2].peek(b"k").unwrap();
        assert_eq!(&e.value.type_name(), &"string");
        if let crate::value::Value::Str(s) = &e.value {
            assert_eq!(&s[..], b"vx");
        }
        assert_eq!(e.expire_at_ms, Some(t0 + 10_000));
        assert_eq!(ks.purge_expired(t0 + 20_000), 1);
        assert_eq!(ks.total_keys(), 0);
    }

    #[test]
    fn connection_commands_are_rejected() {
        let mut ks = Keyspace::new();
        let mut rng = SmallRng::seed_from_u64(1);
        let r = apply(&mut ks, &mut rng, Record::RedisCommand { db: 0, now_ms: 0, argv: argv(&["SUBSCRIBE", "c"]) });
        assert!(r.is_err());
        let r = apply(&mut ks, &mut rng, Record::RedisCommand { db: 0, now_ms: 0, argv: argv(&["NOPE"]) });
        assert!(r.is_err());
    }
}
