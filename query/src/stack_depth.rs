//! Guards against running out of stack: PostgreSQL's `check_stack_depth` (54001 `stack depth
//! limit exceeded` where a recursion would otherwise crash the server) for the binder's, the
//! executor's and the evaluator's recursions, and a bound on how deeply a parsed statement's
//! expressions nest, checked before anything walks them.
//!
//! Why both. The binder (`Binder::expr_node`), the executor (`exec::execute_plan`, through a
//! nested query's futures) and the evaluator (`expr::eval`) call [`check`], which measures what
//! is left of the running thread's stack (its bounds from `pthread_getattr_np`) and refuses to
//! go on inside [`red_zone`] of the end. But sqlparser's syntax tree is also cloned, compared,
//! printed and dropped by derived code that checks nothing, and a chain of infix operators
//! (`1+1+...+1`, `a OR b OR ...`) parses without recursion into a tree as deep as the chain is
//! long: [`check_statements`] refuses a statement whose expressions nest deeper than
//! [`MAX_EXPR_DEPTH`], so the derived code's recursion stays inside the red zone, and takes
//! the refused tree apart without recursing through it ([`dismantle`]).

use crate::error::{Result, SqlError};
use sqlparser::ast::{self, Visit, VisitMut, Visitor, VisitorMut};
use std::cell::Cell;
use std::ops::ControlFlow;

/// How deeply a statement's expressions may nest (an operand of an operator, a function's
/// argument, a CASE branch: each a level). PostgreSQL refuses `1+1+...+1` between 3,000 and
/// 5,000 terms (its 2 MB `max_stack_depth`). This bound keeps the derived recursions over the
/// syntax tree inside [`red_zone`] in a debug build, whose frames are several times a release
/// build's: measured for a tree 1,500 deep, sqlparser's visitor takes 4 MiB there, clone and
/// comparison 1.5 MiB, printing 1 MiB.
pub const MAX_EXPR_DEPTH: usize = 1000;

thread_local! {
    /// The lowest address [`check`] lets the stack reach (0: not measured yet).
    static LIMIT: Cell<usize> = const { Cell::new(0) };
}

/// The stack kept free below the checked recursions: room for the derived code that runs
/// between two checks (a syntax tree [`MAX_EXPR_DEPTH`] deep visited, cloned or dropped, one
/// executor step's frames): a quarter of the thread's stack, at most 4 MiB (of the 16 MiB
/// `orbit` gives its threads).
pub fn red_zone(stack_bytes: usize) -> usize {
    (stack_bytes / 4).min(4 << 20)
}

/// 54001 once the running thread's stack has come within [`red_zone`] of its end.
#[inline]
pub fn check() -> Result<()> {
    let probe = 0u8;
    let here = std::hint::black_box(&probe) as *const u8 as usize;
    let mut limit = LIMIT.with(Cell::get);
    if limit == 0 {
        limit = measure();
        LIMIT.with(|l| l.set(limit));
    }
    if here < limit {
        return Err(exceeded());
    }
    Ok(())
}

/// The error PostgreSQL gives (its hint names a setting Orbit does not have: the stack is the
/// thread's, `RUST_MIN_STACK` bytes, 16 MiB unless set).
pub fn exceeded() -> SqlError {
    SqlError::new("54001", "stack depth limit exceeded")
}

/// The running thread's lowest usable stack address plus the red zone; 1 (nothing refused)
/// where the bounds cannot be read.
#[cold]
fn measure() -> usize {
    // SAFETY: pthread_getattr_np fills the zeroed attribute object for the calling thread,
    // which is destroyed after its stack bounds are read.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return 1;
        }
        let mut low: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let got = libc::pthread_attr_getstack(&attr, &mut low, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if got != 0 || low.is_null() {
            return 1;
        }
        low as usize + red_zone(size)
    }
}

/// Refuses (54001) a statement whose expressions nest deeper than [`MAX_EXPR_DEPTH`], taking
/// the refused statements apart first so that dropping them does not recurse through the
/// whole depth.
pub fn check_statements(stmts: &mut Vec<ast::Statement>) -> Result<()> {
    let mut depth = Depth { now: 0 };
    if stmts.iter().all(|s| s.visit(&mut depth).is_continue()) {
        return Ok(());
    }
    for s in std::mem::take(stmts) {
        dismantle(s);
    }
    Err(exceeded())
}

/// Counts how deeply expressions nest, stopping (Break) past [`MAX_EXPR_DEPTH`]: the walk
/// itself never goes deeper than that.
struct Depth {
    now: usize,
}

impl Visitor for Depth {
    type Break = ();

    fn pre_visit_expr(&mut self, _: &ast::Expr) -> ControlFlow<()> {
        self.now += 1;
        if self.now > MAX_EXPR_DEPTH {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, _: &ast::Expr) -> ControlFlow<()> {
        self.now -= 1;
        ControlFlow::Continue(())
    }
}

/// Drops a statement of any depth: each pass cuts off the expressions at [`MAX_EXPR_DEPTH`]
/// below its root (putting NULL in their place) and drops what is left, which is shallow; the
/// pieces cut off are dropped the same way in turn.
fn dismantle(stmt: ast::Statement) {
    let mut cut = Cut { now: 0, pieces: Vec::new() };
    let mut stmt = stmt;
    let _ = VisitMut::visit(&mut stmt, &mut cut);
    drop(stmt);
    while let Some(mut piece) = cut.pieces.pop() {
        cut.now = 0;
        let _ = VisitMut::visit(&mut piece, &mut cut);
    }
}

struct Cut {
    now: usize,
    pieces: Vec<ast::Expr>,
}

impl VisitorMut for Cut {
    type Break = ();

    fn pre_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
        self.now += 1;
        if self.now >= MAX_EXPR_DEPTH {
            let placeholder = ast::Expr::Value(ast::Value::Null.into());
            self.pieces.push(std::mem::replace(e, placeholder));
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, _: &mut ast::Expr) -> ControlFlow<()> {
        self.now -= 1;
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Vec<ast::Statement> {
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, sql).unwrap()
    }

    /// On a thread with the stack `orbit` gives its threads (a test thread has 2 MiB).
    fn on_server_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new().stack_size(16 << 20).spawn(f).unwrap().join().unwrap();
    }

    #[test]
    fn shallow_statements_pass() {
        on_server_stack(|| {
            let mut s = parse(&format!("SELECT {}", vec!["1"; MAX_EXPR_DEPTH - 5].join("+")));
            assert!(check_statements(&mut s).is_ok());
            assert_eq!(s.len(), 1);
        });
    }

    #[test]
    fn a_long_operator_chain_is_refused_and_dropped_without_recursing() {
        on_server_stack(|| {
            // Deep enough that a recursive drop would overflow the 16 MiB.
            let mut s = parse(&format!("SELECT 1; SELECT {}", vec!["1"; 200_000].join("+")));
            let e = check_statements(&mut s).unwrap_err();
            assert_eq!(e.code, "54001");
            assert!(s.is_empty());
        });
    }

    #[test]
    fn check_passes_on_a_shallow_stack_and_fails_in_the_red_zone() {
        on_server_stack(|| {
            assert!(check().is_ok());
            let limit = LIMIT.with(Cell::get);
            assert!(limit > 1);
            fn deeper(n: usize) -> Result<usize> {
                check()?;
                let pad = std::hint::black_box([0u8; 4096]);
                deeper(n + 1).map(|d| d + pad[n % 4096] as usize)
            }
            // 4 KiB frames: 54001 after about 3,000 of them, well before the end.
            assert_eq!(deeper(0).unwrap_err().code, "54001");
        });
    }
}
