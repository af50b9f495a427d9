//! Differential testing against a real redis-server: the same seeded command sequence goes to
//! Redis and to one or more Orbit servers, and every reply is compared ([`gen::Cmp`]). A
//! mismatch is recorded with the seed, the command and both replies; the servers are then
//! flushed so that one difference does not cascade into many, and the run goes on (up to a
//! bound) so that one run reports several independent differences.

pub mod gen;
pub mod resp;

use gen::{Cmd, Cmp, Gen};
use resp::{show_command, Resp, RespConn};

/// One server under comparison.
pub struct Side {
    pub name: String,
    pub conn: RespConn,
}

pub struct Diff {
    /// Family (and protocol) of this run, for reports.
    pub label: String,
    pub seed: u64,
    redis: RespConn,
    orbits: Vec<Side>,
    pub mismatches: Vec<String>,
    /// The run stops after this many mismatches.
    pub max_mismatches: usize,
    /// Commands run so far.
    pub ran: usize,
}

/// A server that stops answering (30 s read timeout) or closes the connection ends the run.
fn io_fail(at: &str, what: &str, cmd: &[Vec<u8>], e: std::io::Error) -> ! {
    panic!(
        "{at} {what} failed on {}: {e} (rerun with the seed and ORBIT_DIFF_TRACE to see the history)",
        show_command(cmd)
    )
}

/// After a server did not answer in time: does it answer PING on a new connection, and does
/// the late reply still come on the old one? (Tells a stuck shard from a lost wake-up.)
fn diagnose_stall(conn: &mut RespConn) -> String {
    let ping = match RespConn::connect(conn.port) {
        Ok(mut c) => {
            let _ = c.set_read_timeout(std::time::Duration::from_secs(5));
            match c.call(&[b"PING".to_vec()]) {
                Ok(r) => format!("a new connection got {r} to PING"),
                Err(e) => format!("a new connection got no PONG ({e})"),
            }
        }
        Err(e) => format!("a new connection failed ({e})"),
    };
    let _ = conn.set_read_timeout(std::time::Duration::from_secs(10));
    let started = std::time::Instant::now();
    let late = match conn.read() {
        Ok(r) => format!("the reply came {} ms later: {r}", started.elapsed().as_millis() + 30_000),
        Err(e) => {
            // More bytes on the same connection: if the stuck reply comes now, the server had
            // missed that the command arrived; if not, the command itself is stuck.
            let _ = conn.set_read_timeout(std::time::Duration::from_secs(5));
            let nudge = match conn.send(&[b"PING".to_vec()]).and_then(|_| conn.read()) {
                Ok(r) => format!("after a PING on the same connection it answered {r}"),
                Err(e) => format!("a PING on the same connection got nothing either ({e})"),
            };
            format!("no reply 40 s after the command ({e}); {nudge}")
        }
    };
    format!("{ping}; {late}")
}

impl Diff {
    /// Connects to Redis at `redis_port` and to each Orbit in `orbits` (name, port); with
    /// `resp3` every connection first switches to RESP3 with `HELLO 3`.
    pub fn new(label: &str, seed: u64, redis_port: u16, orbits: &[(&str, u16)], resp3: bool) -> Diff {
        let mut redis = RespConn::connect(redis_port).expect("connect to redis-server");
        let mut sides: Vec<Side> = orbits
            .iter()
            .map(|(n, p)| Side { name: n.to_string(), conn: RespConn::connect(*p).expect("connect to orbit") })
            .collect();
        if resp3 {
            let hello = vec![b"HELLO".to_vec(), b"3".to_vec()];
            for c in std::iter::once(&mut redis).chain(sides.iter_mut().map(|s| &mut s.conn)) {
                let r = c.call(&hello).expect("HELLO 3");
                assert!(matches!(r, Resp::Map(_)), "HELLO 3 replied {r}");
            }
        }
        Diff {
            label: label.to_string(),
            seed,
            redis,
            orbits: sides,
            mismatches: Vec::new(),
            max_mismatches: 20,
            ran: 0,
        }
    }

    /// Runs `count` commands from `family`, or fewer if too many mismatches pile up.
    pub fn run(&mut self, g: &mut Gen, family: fn(&mut Gen) -> Cmd, count: usize) {
        for _ in 0..count {
            if self.mismatches.len() >= self.max_mismatches {
                break;
            }
            let cmd = family(g);
            self.check(&cmd);
        }
    }

    /// Sends one command everywhere, compares the replies and records a mismatch.
    pub fn check(&mut self, cmd: &Cmd) {
        for pre in &cmd.pre {
            self.check(&Cmd { pre: Vec::new(), args: pre.clone(), cmp: Cmp::Exact });
        }
        let index = self.ran;
        self.ran += 1;
        let started = std::time::Instant::now();
        let at = format!("[{} seed={} #{}]", self.label, self.seed, index);
        let at = at.as_str();
        let (expected, got) = match &cmd.cmp {
            Cmp::ScanAll { cursor_at, pairs } => {
                let e = scan_all(&mut self.redis, &cmd.args, *cursor_at, *pairs)
                    .unwrap_or_else(|e| io_fail(at, "redis", &cmd.args, e));
                let got: Vec<Resp> = self
                    .orbits
                    .iter_mut()
                    .map(|s| {
                        scan_all(&mut s.conn, &cmd.args, *cursor_at, *pairs)
                            .unwrap_or_else(|e| io_fail(at, &s.name, &cmd.args, e))
                    })
                    .collect();
                (e, got)
            }
            _ => {
                // Send everywhere first so the servers work in parallel.
                self.redis.send(&cmd.args).unwrap_or_else(|e| io_fail(at, "redis", &cmd.args, e));
                for s in &mut self.orbits {
                    s.conn.send(&cmd.args).unwrap_or_else(|e| io_fail(at, &s.name, &cmd.args, e));
                }
                let e = self.redis.read().unwrap_or_else(|e| io_fail(at, "redis", &cmd.args, e));
                let got = self
                    .orbits
                    .iter_mut()
                    .map(|s| {
                        s.conn.read().unwrap_or_else(|e| {
                            let timed_out =
                                matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut);
                            let name = if timed_out {
                                format!("{} stalled ({})", s.name, diagnose_stall(&mut s.conn))
                            } else {
                                s.name.clone()
                            };
                            io_fail(at, &name, &cmd.args, e)
                        })
                    })
                    .collect();
                (e, got)
            }
        };
        if let Some(t) = trace_filter() {
            if cmd.args.iter().any(|a| a.windows(t.len()).any(|w| w == t.as_bytes())) {
                eprintln!("[{} #{}] {} -> {}", self.label, index, show_command(&cmd.args), expected);
            }
        }
        let took = started.elapsed();
        if took.as_secs() >= 1 {
            eprintln!(
                "[{} #{}] slow command ({} ms): {}",
                self.label,
                index,
                took.as_millis(),
                show_command(&cmd.args)
            );
        }
        // One report per command; sides that agree with each other are named together.
        let mut report = String::new();
        let mut shown: Vec<&Resp> = Vec::new();
        for g in &got {
            if same(&cmd.cmp, &expected, g) || shown.contains(&g) {
                continue;
            }
            shown.push(g);
            let names: Vec<&str> =
                self.orbits.iter().zip(&got).filter(|(_, x)| *x == g).map(|(s, _)| s.name.as_str()).collect();
            report.push_str(&format!("\n    {}: {}", names.join(" and "), g));
        }
        let differ = !report.is_empty();
        if differ {
            self.mismatches.push(format!(
                "[{} seed={} #{}] {}\n    compared as: {:?}\n    redis: {}{}",
                self.label,
                self.seed,
                index,
                show_command(&cmd.args),
                cmd.cmp,
                expected,
                report
            ));
        }
        if differ {
            // Start again from the same (empty) state everywhere.
            self.everywhere(&[b"SELECT".to_vec(), b"0".to_vec()]);
            self.everywhere(&[b"FLUSHALL".to_vec()]);
        } else if let Cmp::ShapeThenDel(key) = &cmd.cmp {
            self.everywhere(&[b"DEL".to_vec(), key.clone()]);
        }
    }

    fn everywhere(&mut self, args: &[Vec<u8>]) {
        let at = format!("[{} seed={} resync]", self.label, self.seed);
        self.redis.call(args).unwrap_or_else(|e| io_fail(&at, "redis", args, e));
        for s in &mut self.orbits {
            s.conn.call(args).unwrap_or_else(|e| io_fail(&at, &s.name, args, e));
        }
    }

    /// Panics with every mismatch found, or returns the number of commands run.
    pub fn finish(self) -> usize {
        if !self.mismatches.is_empty() {
            panic!(
                "{} mismatch(es) with redis-server in {} commands (rerun with ORBIT_DIFF_SEED={}):\n{}",
                self.mismatches.len(),
                self.ran,
                self.seed,
                self.mismatches.join("\n")
            );
        }
        self.ran
    }
}

/// `ORBIT_DIFF_TRACE=<text>`: print every command with an argument containing <text>, and
/// Redis's reply (to see how a key reached the state of a reported mismatch).
fn trace_filter() -> Option<&'static str> {
    static TRACE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    TRACE.get_or_init(|| std::env::var("ORBIT_DIFF_TRACE").ok().filter(|t| !t.is_empty())).as_deref()
}

/// Iterates a SCAN-family command from cursor 0 to the end; the union of what came back,
/// sorted, without duplicates (SCAN may return an element twice). An error or an unexpected
/// reply is returned as is.
pub fn scan_all(conn: &mut RespConn, args: &[Vec<u8>], cursor_at: usize, pairs: bool) -> std::io::Result<Resp> {
    let mut a = args.to_vec();
    if a.len() <= cursor_at {
        // Arguments cut short: whatever error the server gives.
        return conn.call(&a);
    }
    a[cursor_at] = b"0".to_vec();
    let mut out = Vec::new();
    // A bound on pages: far more than any collection here needs.
    for _ in 0..100_000 {
        let r = conn.call(&a)?;
        let Resp::Array(parts) = &r else { return Ok(r) };
        let (Some(Resp::Bulk(cursor)), Some(items)) = (parts.first(), parts.get(1).and_then(|x| x.items())) else {
            return Ok(r);
        };
        if pairs {
            for p in items.chunks(2) {
                out.push(Resp::Array(p.to_vec()));
            }
        } else {
            out.extend(items.iter().cloned());
        }
        if cursor == b"0" {
            out.sort();
            out.dedup();
            return Ok(Resp::Array(out));
        }
        a[cursor_at] = cursor.clone();
    }
    Ok(Resp::Error(b"scan did not finish".to_vec()))
}

/// The elements in a canonical order (same container kind).
fn sorted(r: &Resp) -> Resp {
    match r {
        Resp::Array(v) => {
            let mut v = v.clone();
            v.sort();
            Resp::Array(v)
        }
        Resp::Set(v) => {
            let mut v = v.clone();
            v.sort();
            Resp::Set(v)
        }
        Resp::Map(m) => {
            let mut m = m.clone();
            m.sort();
            Resp::Map(m)
        }
        other => other.clone(),
    }
}

/// Field/value pairs in a canonical order, tagged with how they were sent: a flat array, an
/// array of 2-element arrays, or a map.
fn sorted_pairs(r: &Resp) -> Resp {
    let tagged = |tag: &str, mut m: Vec<(Resp, Resp)>| {
        m.sort();
        Resp::Array(vec![Resp::Simple(tag.as_bytes().to_vec()), Resp::Map(m)])
    };
    match r {
        Resp::Array(v) if !v.is_empty() && v.iter().all(|x| matches!(x, Resp::Array(p) if p.len() == 2)) => {
            let m = v
                .iter()
                .filter_map(|x| match x {
                    Resp::Array(p) => Some((p[0].clone(), p[1].clone())),
                    _ => None,
                })
                .collect();
            tagged("nested", m)
        }
        Resp::Array(v) if v.len() % 2 == 0 => {
            tagged("flat", v.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect())
        }
        Resp::Map(m) => tagged("map", m.clone()),
        other => other.clone(),
    }
}

/// The reply with every string and double blanked out: what a random choice must agree on.
fn shape(r: &Resp) -> Resp {
    match r {
        Resp::Bulk(_) => Resp::Bulk(b"?".to_vec()),
        Resp::Double(_) => Resp::Double(b"?".to_vec()),
        Resp::Array(v) => Resp::Array(v.iter().map(shape).collect()),
        Resp::Set(v) => Resp::Set(v.iter().map(shape).collect()),
        Resp::Push(v) => Resp::Push(v.iter().map(shape).collect()),
        Resp::Map(m) => Resp::Map(m.iter().map(|(k, v)| (shape(k), shape(v))).collect()),
        other => other.clone(),
    }
}

/// A SCAN page: (cursor is 0, elements sorted) or None if it is not a page.
fn scan_page(r: &Resp) -> Option<(bool, Vec<Resp>)> {
    let Resp::Array(parts) = r else { return None };
    let (Some(Resp::Bulk(c)), Some(items), 2) = (parts.first(), parts.get(1).and_then(|x| x.items()), parts.len())
    else {
        return None;
    };
    let mut items = items.to_vec();
    items.sort();
    Some((c == b"0", items))
}

/// Whether `got` matches `expected` under `cmp`.
pub fn same(cmp: &Cmp, expected: &Resp, got: &Resp) -> bool {
    if expected.is_error() || got.is_error() {
        return expected == got;
    }
    match cmp {
        Cmp::Exact | Cmp::ScanAll { .. } => expected == got,
        Cmp::Unordered => sorted(expected) == sorted(got),
        Cmp::UnorderedPairs => sorted_pairs(expected) == sorted_pairs(got),
        Cmp::Shape | Cmp::ShapeThenDel(_) => shape(expected) == shape(got),
        Cmp::Near(tol) => match (expected, got) {
            (Resp::Int(a), Resp::Int(b)) if *a >= 0 && *b >= 0 => (a - b).abs() <= *tol,
            _ => expected == got,
        },
        Cmp::ScanPage => match (scan_page(expected), scan_page(got)) {
            // A page that ends the scan on both sides holds everything: compare it. Otherwise
            // the servers may legitimately have stopped at different places.
            (Some((true, a)), Some((true, b))) => a == b,
            (Some(_), Some(_)) => true,
            _ => expected == got,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Resp {
        Resp::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn comparisons() {
        let a = Resp::Array(vec![bulk("a"), bulk("b")]);
        let b = Resp::Array(vec![bulk("b"), bulk("a")]);
        assert!(!same(&Cmp::Exact, &a, &b));
        assert!(same(&Cmp::Unordered, &a, &b));
        assert!(!same(&Cmp::Unordered, &a, &Resp::Set(vec![bulk("a"), bulk("b")])));
        let flat = Resp::Array(vec![bulk("f"), bulk("1"), bulk("g"), bulk("2")]);
        let flat2 = Resp::Array(vec![bulk("g"), bulk("2"), bulk("f"), bulk("1")]);
        let swapped = Resp::Array(vec![bulk("f"), bulk("2"), bulk("g"), bulk("1")]);
        assert!(same(&Cmp::UnorderedPairs, &flat, &flat2));
        assert!(!same(&Cmp::UnorderedPairs, &flat, &swapped));
        let nested =
            Resp::Array(vec![Resp::Array(vec![bulk("f"), bulk("1")]), Resp::Array(vec![bulk("g"), bulk("2")])]);
        assert!(!same(&Cmp::UnorderedPairs, &flat, &nested));
        assert!(same(&Cmp::Shape, &bulk("x"), &bulk("y")));
        assert!(!same(&Cmp::Shape, &bulk("x"), &Resp::NilBulk));
        assert!(same(&Cmp::Near(1), &Resp::Int(100), &Resp::Int(99)));
        assert!(!same(&Cmp::Near(1), &Resp::Int(-1), &Resp::Int(0)));
        let err = Resp::Error(b"ERR x".to_vec());
        assert!(!same(&Cmp::Shape, &err, &Resp::Error(b"ERR y".to_vec())));
    }
}
