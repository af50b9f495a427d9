//! Typed log records and their flatbuffers bodies (schema: engine/schema/log.fbs). The
//! [`Encoder`] reuses one builder, so appending a record allocates nothing in steady state;
//! [`decode`] verifies the flatbuffer before reading it (bodies come from disk).

use super::fb;
use super::frame::Kind;
use crate::keyspace::Entry;
use crate::value::{HashValue, ListValue, SetValue, StrValue, Value, ZSet};
use crate::{Error, Result};
use bytes::Bytes;
use flatbuffers::{FlatBufferBuilder, ForwardsUOffset, Vector, WIPOffset};

/// First record of every log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogHeader {
    pub shard: u32,
    pub shards: u32,
    pub epoch: u64,
    pub created_ms: u64,
}

/// First record of a snapshot: it holds the state after log record `covers_seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotBegin {
    pub shard: u32,
    pub shards: u32,
    pub epoch: u64,
    pub covers_seq: u64,
    pub created_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A Redis command as executed (or as rewritten for the log), with the clock it ran with.
    RedisCommand {
        db: usize,
        now_ms: u64,
        argv: Vec<Bytes>,
    },
    /// A whole entry.
    RedisPut {
        db: usize,
        key: Bytes,
        value: Value,
        expire_at_ms: Option<u64>,
    },
    RedisDelete {
        db: usize,
        key: Bytes,
    },
    LogHeader(LogHeader),
    SnapshotBegin(SnapshotBegin),
    SnapshotEnd {
        keys: u64,
    },
}

impl Record {
    pub fn kind(&self) -> Kind {
        match self {
            Record::RedisCommand { .. } => Kind::RedisCommand,
            Record::RedisPut { .. } => Kind::RedisPut,
            Record::RedisDelete { .. } => Kind::RedisDelete,
            Record::LogHeader(_) => Kind::LogHeader,
            Record::SnapshotBegin(_) => Kind::SnapshotBegin,
            Record::SnapshotEnd { .. } => Kind::SnapshotEnd,
        }
    }
}

/// Builds record bodies.
pub struct Encoder {
    fbb: FlatBufferBuilder<'static>,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder::new()
    }
}

type Blobs<'a> = WIPOffset<Vector<'a, ForwardsUOffset<fb::Blob<'a>>>>;

fn blobs<'a, 'b>(fbb: &mut FlatBufferBuilder<'a>, items: impl Iterator<Item = &'b [u8]>) -> Blobs<'a> {
    let offs: Vec<_> = items
        .map(|b| {
            let data = fbb.create_vector(b);
            fb::Blob::create(fbb, &fb::BlobArgs { data: Some(data) })
        })
        .collect();
    fbb.create_vector(&offs)
}

fn db_u16(db: usize) -> u16 {
    u16::try_from(db).expect("db index fits u16")
}

impl Encoder {
    pub fn new() -> Encoder {
        Encoder { fbb: FlatBufferBuilder::with_capacity(1024) }
    }

    fn start(&mut self) -> &mut FlatBufferBuilder<'static> {
        // A builder that once held a huge record gives its memory back.
        if self.fbb.unfinished_data().len() > 4 << 20 {
            self.fbb = FlatBufferBuilder::with_capacity(1024);
        }
        self.fbb.reset();
        &mut self.fbb
    }

    pub fn command(&mut self, db: usize, now_ms: u64, argv: &[Bytes]) -> &[u8] {
        let fbb = self.start();
        let argv = blobs(fbb, argv.iter().map(|a| &a[..]));
        let r = fb::RedisCommand::create(fbb, &fb::RedisCommandArgs { db: db_u16(db), now_ms, argv: Some(argv) });
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    pub fn put(&mut self, db: usize, key: &[u8], value: &Value, expire_at_ms: Option<u64>) -> &[u8] {
        let fbb = self.start();
        let key = fbb.create_vector(key);
        let (value_type, value) = match value {
            Value::Str(s) => {
                let data = fbb.create_vector(&s[..]);
                (
                    fb::Value::StringValue,
                    fb::StringValue::create(fbb, &fb::StringValueArgs { data: Some(data) }).as_union_value(),
                )
            }
            Value::Hash(h) => {
                let fields = blobs(fbb, h.keys().map(|k| &k[..]));
                let values = blobs(fbb, h.values().map(|v| &v[..]));
                let args = fb::HashValueArgs { fields: Some(fields), values: Some(values) };
                (fb::Value::HashValue, fb::HashValue::create(fbb, &args).as_union_value())
            }
            Value::List(l) => {
                let items = blobs(fbb, l.iter().map(|v| &v[..]));
                (
                    fb::Value::ListValue,
                    fb::ListValue::create(fbb, &fb::ListValueArgs { items: Some(items) }).as_union_value(),
                )
            }
            Value::Set(s) => {
                let members = blobs(fbb, s.iter().map(|v| &v[..]));
                (
                    fb::Value::SetValue,
                    fb::SetValue::create(fbb, &fb::SetValueArgs { members: Some(members) }).as_union_value(),
                )
            }
            Value::ZSet(z) => {
                let members = blobs(fbb, z.entries().map(|(m, _)| &m[..]));
                let scores: Vec<f64> = z.entries().map(|(_, s)| s).collect();
                let scores = fbb.create_vector(&scores);
                let args = fb::ZSetValueArgs { members: Some(members), scores: Some(scores) };
                (fb::Value::ZSetValue, fb::ZSetValue::create(fbb, &args).as_union_value())
            }
        };
        let args = fb::RedisPutArgs {
            db: db_u16(db),
            key: Some(key),
            value_type,
            value: Some(value),
            expire_at_ms: expire_at_ms.unwrap_or(0),
        };
        let r = fb::RedisPut::create(fbb, &args);
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    pub fn put_entry(&mut self, db: usize, key: &[u8], e: &Entry) -> &[u8] {
        self.put(db, key, &e.value, e.expire_at_ms)
    }

    pub fn delete(&mut self, db: usize, key: &[u8]) -> &[u8] {
        let fbb = self.start();
        let key = fbb.create_vector(key);
        let r = fb::RedisDelete::create(fbb, &fb::RedisDeleteArgs { db: db_u16(db), key: Some(key) });
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    pub fn log_header(&mut self, h: &LogHeader) -> &[u8] {
        let fbb = self.start();
        let args = fb::LogHeaderArgs { shard: h.shard, shards: h.shards, epoch: h.epoch, created_ms: h.created_ms };
        let r = fb::LogHeader::create(fbb, &args);
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    pub fn snapshot_begin(&mut self, s: &SnapshotBegin) -> &[u8] {
        let fbb = self.start();
        let args = fb::SnapshotBeginArgs {
            shard: s.shard,
            shards: s.shards,
            epoch: s.epoch,
            covers_seq: s.covers_seq,
            created_ms: s.created_ms,
        };
        let r = fb::SnapshotBegin::create(fbb, &args);
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    pub fn snapshot_end(&mut self, keys: u64) -> &[u8] {
        let fbb = self.start();
        let r = fb::SnapshotEnd::create(fbb, &fb::SnapshotEndArgs { keys });
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    /// The body of any record.
    pub fn encode(&mut self, rec: &Record) -> &[u8] {
        match rec {
            Record::RedisCommand { db, now_ms, argv } => self.command(*db, *now_ms, argv),
            Record::RedisPut { db, key, value, expire_at_ms } => self.put(*db, key, value, *expire_at_ms),
            Record::RedisDelete { db, key } => self.delete(*db, key),
            Record::LogHeader(h) => self.log_header(h),
            Record::SnapshotBegin(s) => self.snapshot_begin(s),
            Record::SnapshotEnd { keys } => self.snapshot_end(*keys),
        }
    }
}

fn corrupt(what: &str) -> Error {
    Error::Corrupt(what.to_string())
}

fn verifier_opts() -> flatbuffers::VerifierOptions {
    // Bodies are CRC-checked before they get here; the limits only need to admit the largest
    // legitimate record (a collection of many millions of elements).
    flatbuffers::VerifierOptions {
        max_depth: 64,
        max_tables: usize::MAX,
        max_apparent_size: usize::MAX,
        ignore_missing_null_terminator: true,
    }
}

fn root<'a, T: flatbuffers::Follow<'a> + flatbuffers::Verifiable + 'a>(body: &'a [u8]) -> Result<T::Inner> {
    flatbuffers::root_with_opts::<T>(&verifier_opts(), body)
        .map_err(|e| Error::Corrupt(format!("bad record body: {e}")))
}

fn blob_list<'a>(v: Option<Vector<'a, ForwardsUOffset<fb::Blob<'a>>>>) -> impl Iterator<Item = Bytes> + 'a {
    v.into_iter().flat_map(|v| v.iter()).map(|b| Bytes::copy_from_slice(b.data().map(|d| d.bytes()).unwrap_or(&[])))
}

fn db_of(db: u16) -> Result<usize> {
    let db = db as usize;
    if db >= crate::keyspace::DATABASES {
        return Err(Error::Corrupt(format!("db index {db} out of range")));
    }
    Ok(db)
}

/// Decodes a record body of the given kind.
pub fn decode(kind: Kind, body: &[u8]) -> Result<Record> {
    Ok(match kind {
        Kind::RedisCommand => {
            let r = root::<fb::RedisCommand>(body)?;
            let argv: Vec<Bytes> = blob_list(r.argv()).collect();
            if argv.is_empty() {
                return Err(corrupt("command record without arguments"));
            }
            Record::RedisCommand { db: db_of(r.db())?, now_ms: r.now_ms(), argv }
        }
        Kind::RedisPut => {
            let r = root::<fb::RedisPut>(body)?;
            let key = Bytes::copy_from_slice(r.key().ok_or_else(|| corrupt("put without key"))?.bytes());
            let value = match r.value_type() {
                fb::Value::StringValue => {
                    let v = r.value_as_string_value().ok_or_else(|| corrupt("put without value"))?;
                    Value::Str(StrValue::new(v.data().map(|d| d.bytes().to_vec()).unwrap_or_default()))
                }
                fb::Value::HashValue => {
                    let v = r.value_as_hash_value().ok_or_else(|| corrupt("put without value"))?;
                    let n = v.fields().map(|f| f.len()).unwrap_or(0);
                    if n != v.values().map(|f| f.len()).unwrap_or(0) {
                        return Err(corrupt("hash with unequal field and value counts"));
                    }
                    let mut h = HashValue::default();
                    h.reserve(n);
                    for (f, val) in blob_list(v.fields()).zip(blob_list(v.values())) {
                        h.insert(f, val);
                    }
                    Value::Hash(h)
                }
                fb::Value::ListValue => {
                    let v = r.value_as_list_value().ok_or_else(|| corrupt("put without value"))?;
                    Value::List(blob_list(v.items()).collect::<ListValue>())
                }
                fb::Value::SetValue => {
                    let v = r.value_as_set_value().ok_or_else(|| corrupt("put without value"))?;
                    let n = v.members().map(|m| m.len()).unwrap_or(0);
                    let mut s = SetValue::with_capacity(n);
                    for m in blob_list(v.members()) {
                        s.add(m);
                    }
                    Value::Set(s)
                }
                fb::Value::ZSetValue => {
                    let v = r.value_as_zset_value().ok_or_else(|| corrupt("put without value"))?;
                    let scores: Vec<f64> = v.scores().map(|s| s.iter().collect()).unwrap_or_default();
                    let members: Vec<Bytes> = blob_list(v.members()).collect();
                    if members.len() != scores.len() || scores.iter().any(|s| s.is_nan()) {
                        return Err(corrupt("sorted set with bad scores"));
                    }
                    Value::ZSet(Box::new(ZSet::from_entries(members.into_iter().zip(scores).collect())))
                }
                other => return Err(Error::Corrupt(format!("unknown value type {}", other.0))),
            };
            let expire_at_ms = Some(r.expire_at_ms()).filter(|&t| t != 0);
            Record::RedisPut { db: db_of(r.db())?, key, value, expire_at_ms }
        }
        Kind::RedisDelete => {
            let r = root::<fb::RedisDelete>(body)?;
            let key = Bytes::copy_from_slice(r.key().ok_or_else(|| corrupt("delete without key"))?.bytes());
            Record::RedisDelete { db: db_of(r.db())?, key }
        }
        Kind::LogHeader => {
            let r = root::<fb::LogHeader>(body)?;
            Record::LogHeader(LogHeader {
                shard: r.shard(),
                shards: r.shards(),
                epoch: r.epoch(),
                created_ms: r.created_ms(),
            })
        }
        Kind::SnapshotBegin => {
            let r = root::<fb::SnapshotBegin>(body)?;
            Record::SnapshotBegin(SnapshotBegin {
                shard: r.shard(),
                shards: r.shards(),
                epoch: r.epoch(),
                covers_seq: r.covers_seq(),
                created_ms: r.created_ms(),
            })
        }
        Kind::SnapshotEnd => Record::SnapshotEnd { keys: root::<fb::SnapshotEnd>(body)?.keys() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn records() -> Vec<Record> {
        let mut h = HashValue::default();
        h.insert(b("f1"), b("v1"));
        h.insert(b("f2"), b(""));
        let mut s = SetValue::default();
        s.add(b("a"));
        s.add(b("b"));
        let z = ZSet::from_entries(vec![(b("x"), 1.5), (b("y"), -2.0), (b("z"), f64::INFINITY)]);
        vec![
            Record::LogHeader(LogHeader { shard: 1, shards: 4, epoch: 3, created_ms: 17 }),
            Record::RedisCommand {
                db: 3,
                now_ms: 1_700_000_000_123,
                argv: vec![b("SET"), b("k"), Bytes::from(vec![0u8, 255, 13, 10])],
            },
            Record::RedisPut {
                db: 0,
                key: b("s"),
                value: Value::Str(StrValue::new(b"hello".to_vec())),
                expire_at_ms: Some(99),
            },
            Record::RedisPut { db: 15, key: b("h"), value: Value::Hash(h), expire_at_ms: None },
            Record::RedisPut {
                db: 1,
                key: b("l"),
                value: Value::List([b("1"), b("2")].into_iter().collect()),
                expire_at_ms: None,
            },
            Record::RedisPut { db: 2, key: b("set"), value: Value::Set(s), expire_at_ms: None },
            Record::RedisPut { db: 2, key: b("z"), value: Value::ZSet(Box::new(z)), expire_at_ms: Some(5) },
            Record::RedisPut { db: 2, key: b(""), value: Value::Str(StrValue::new(Vec::new())), expire_at_ms: None },
            Record::RedisDelete { db: 7, key: b("gone") },
            Record::SnapshotBegin(SnapshotBegin { shard: 0, shards: 1, epoch: 0, covers_seq: 1234, created_ms: 5 }),
            Record::SnapshotEnd { keys: 42 },
        ]
    }

    #[test]
    fn bodies_round_trip() {
        let mut enc = Encoder::new();
        for r in records() {
            let body = enc.encode(&r).to_vec();
            let back = decode(r.kind(), &body).unwrap();
            assert_eq!(back, r);
        }
    }

    #[test]
    fn framed_records_round_trip() {
        let mut enc = Encoder::new();
        let mut buf = Vec::new();
        let recs = records();
        for (i, r) in recs.iter().enumerate() {
            let body = enc.encode(r).to_vec();
            super::super::frame::encode(&mut buf, r.kind(), 1 + i as u64, &body);
        }
        let mut back = Vec::new();
        let end = super::super::frame::scan(&buf, Some(1), |f| {
            back.push(decode(f.kind, f.body)?);
            Ok::<_, Error>(())
        })
        .unwrap();
        assert_eq!(end.offset(), buf.len());
        assert_eq!(back, recs);
    }

    #[test]
    fn garbage_bodies_are_errors_not_panics() {
        let kinds = [
            Kind::RedisCommand,
            Kind::RedisPut,
            Kind::RedisDelete,
            Kind::LogHeader,
            Kind::SnapshotBegin,
            Kind::SnapshotEnd,
        ];
        let mut enc = Encoder::new();
        let good = enc.encode(&records()[6]).to_vec();
        for k in kinds {
            for n in 0..good.len() {
                let _ = decode(k, &good[..n]);
                let mut g = good.clone();
                g[n] ^= 0xFF;
                let _ = decode(k, &g);
            }
        }
    }
}
