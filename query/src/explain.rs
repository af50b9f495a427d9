//! EXPLAIN: the plan a statement runs, as PostgreSQL draws it (one `QUERY PLAN` text column,
//! child nodes under `->`), with where each part runs: a primary-key lookup on the one shard
//! the key hashes to, a scan on every shard in parallel under a Gather that merges on the
//! coordinating shard, aggregates split into a per-shard partial and a final step. Every node
//! carries PostgreSQL's `(cost=S..T rows=N width=W)`: rows from the planner statistics
//! ([`crate::stats`]), costs from [`crate::cost`]'s model; under a Gather the numbers are one
//! shard's. Inner joins are drawn in the order the planner picks from its estimates (the
//! executor picks again from the real input sizes). `EXPLAIN (COSTS OFF)` leaves the estimates
//! out. EXPLAIN ANALYZE runs the statement (in the session's transaction, as PostgreSQL does)
//! while the executor notes the rows of the SELECT and join it watches ([`Watch`]), then draws
//! the plan again with them (a join in the order it ran) and the time.

use crate::bind::{Distinct, OnConflict, Plan, SelectPlan};
use crate::cost::{self, Estimate};
use crate::error::{Result, SqlError};
use crate::exec::index_scan::Paths;
use crate::expr::Expr;
use crate::group::Strategy;
use crate::stats::{self, Columns, TableColumns};
use orbit_engine::table::{key, Datum, TableDef};
use sqlparser::ast;
use std::cell::RefCell;
use std::collections::HashMap;

/// One node: its title, its property lines, its children.
struct Node {
    title: String,
    props: Vec<String>,
    children: Vec<Node>,
    est: Option<Estimate>,
    /// EXPLAIN ANALYZE: the rows the node gave, where the executor noted them.
    actual: Option<u64>,
}

/// EXPLAIN's options that change the text.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `COSTS` (on by default): each node's estimated cost, rows and width.
    pub costs: bool,
    /// `FORMAT`: the text's lines, or one JSON or YAML document ([`json`]).
    pub format: Format,
}

/// EXPLAIN's output formats Orbit writes (XML is not built).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Yaml,
}

impl Default for Options {
    fn default() -> Options {
        Options { costs: true, format: Format::Text }
    }
}

/// The plan `node` in `opts`' document format (None: text, drawn line by line).
fn document(node: &Node, opts: Options, execution_ms: Option<f64>) -> Option<String> {
    match opts.format {
        Format::Text => None,
        Format::Json => Some(json::document(node, opts, execution_ms)),
        Format::Yaml => Some(json::yaml_document(node, opts, execution_ms)),
    }
}

mod json;

thread_local! {
    /// While a statement is drawn: the estimated rows of the relations it computes (derived
    /// tables, CTEs), by their table name, for the scans that read them.
    static COMPUTED: RefCell<HashMap<String, Estimate>> = RefCell::new(HashMap::new());
    /// While a statement is drawn: the nested loops of its LATERAL relations, by their table
    /// name, drawn where the query reads them (as PostgreSQL draws a LATERAL join).
    static LATERAL: RefCell<HashMap<String, Node>> = RefCell::new(HashMap::new());
    /// While a statement is drawn: the semi and anti joins of its levels' FROM rows, by the
    /// name of the relation they make, drawn where the query reads it (its WHERE is in them).
    static SEMI: RefCell<HashMap<String, Node>> = RefCell::new(HashMap::new());
    /// While a statement is drawn: its tables as its text names them ([`Texts::aliases`]).
    static ALIASES: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
}

/// What EXPLAIN ANALYZE needs to draw the plan again once it ran.
#[derive(Debug, Clone)]
pub struct Redraw {
    pub texts: Texts,
    pub shards: usize,
    pub opts: Options,
}

/// The rows the executor noted for one SELECT or join while EXPLAIN ANALYZE ran it.
#[derive(Debug, Clone, Default)]
pub struct Actual {
    /// A SELECT's rows after FROM and WHERE.
    pub rows: Option<u64>,
    /// A join's inputs' rows (after their own conditions, in FROM order), the order it joined
    /// them in and the rows after each step.
    pub join: Option<(Vec<u64>, Vec<usize>, Vec<u64>)>,
    /// Per join step, whether it looked its table up by key ([`crate::index_join`]).
    pub lookups: Option<Vec<bool>>,
    /// Per join step, where it ran ([`crate::dist_join`]).
    pub distribution: Option<Vec<crate::dist_join::Distribution>>,
    /// Per join step, where it merged its inputs in key order, if it did ([`crate::merge_join`]).
    pub merges: Option<Vec<Option<crate::merge_join::Place>>>,
}

thread_local! {
    /// The plans EXPLAIN ANALYZE statements on this shard are running, by address: the executor
    /// notes their rows here. Addresses of plans other statements run are never in it.
    static WATCHED: RefCell<HashMap<usize, Actual>> = RefCell::new(HashMap::new());
    /// While EXPLAIN ANALYZE redraws its plan: what was noted.
    static ANALYZED: RefCell<Option<HashMap<usize, Actual>>> = const { RefCell::new(None) };
}

/// The watch EXPLAIN ANALYZE keeps on its plan's SELECTs and joins while it runs them; dropped
/// on an error, it forgets them.
pub struct Watch {
    keys: Vec<usize>,
}

impl Watch {
    pub fn start(plan: &Plan) -> Watch {
        fn keys(plan: &Plan, out: &mut Vec<usize>) {
            match plan {
                Plan::Select(p) => {
                    out.push(&**p as *const SelectPlan as usize);
                    if let Some(j) = &p.join {
                        out.push(&**j as *const crate::join::JoinPlan as usize);
                    }
                }
                Plan::Query(q) => keys(&q.body, out),
                _ => {}
            }
        }
        let mut k = Vec::new();
        keys(plan, &mut k);
        WATCHED.with(|w| {
            let mut w = w.borrow_mut();
            for &key in &k {
                w.insert(key, Actual::default());
            }
        });
        Watch { keys: k }
    }

    /// What the executor noted.
    pub fn finish(mut self) -> HashMap<usize, Actual> {
        let keys = std::mem::take(&mut self.keys);
        WATCHED.with(|w| {
            let mut w = w.borrow_mut();
            keys.iter().filter_map(|k| w.remove(k).map(|a| (*k, a))).collect()
        })
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        WATCHED.with(|w| {
            let mut w = w.borrow_mut();
            for k in &self.keys {
                w.remove(k);
            }
        });
    }
}

/// Whether EXPLAIN ANALYZE watches the plan at this address.
pub(crate) fn watching(key: usize) -> bool {
    WATCHED.with(|w| {
        let w = w.borrow();
        !w.is_empty() && w.contains_key(&key)
    })
}

/// Notes a watched SELECT's rows after FROM and WHERE.
pub(crate) fn note_rows(key: usize, rows: usize) {
    WATCHED.with(|w| {
        let mut w = w.borrow_mut();
        if let Some(a) = w.get_mut(&key) {
            a.rows = Some(rows as u64);
        }
    });
}

/// Notes a watched join's input rows, order and step rows.
pub(crate) fn note_join(key: usize, inputs: Vec<u64>, order: Vec<usize>, steps: Vec<u64>) {
    WATCHED.with(|w| {
        if let Some(a) = w.borrow_mut().get_mut(&key) {
            a.join = Some((inputs, order, steps));
        }
    });
}

/// Notes which steps of a watched join looked their table up by key.
pub(crate) fn note_lookups(key: usize, lookups: Vec<bool>) {
    WATCHED.with(|w| {
        if let Some(a) = w.borrow_mut().get_mut(&key) {
            a.lookups = Some(lookups);
        }
    });
}

/// Notes where each step of a watched join ran.
pub(crate) fn note_distribution(key: usize, d: Vec<crate::dist_join::Distribution>) {
    WATCHED.with(|w| {
        if let Some(a) = w.borrow_mut().get_mut(&key) {
            a.distribution = Some(d);
        }
    });
}

/// Notes which steps of a watched join merged their inputs, and where.
pub(crate) fn note_merges(key: usize, m: Vec<Option<crate::merge_join::Place>>) {
    WATCHED.with(|w| {
        if let Some(a) = w.borrow_mut().get_mut(&key) {
            a.merges = Some(m);
        }
    });
}

fn analyzed(key: usize) -> Option<Actual> {
    ANALYZED.with(|a| a.borrow().as_ref().and_then(|m| m.get(&key).cloned()))
}

/// EXPLAIN ANALYZE's lines: the plan drawn again with the rows the executor noted (a join in
/// the order it ran), `top` rows on the top node, and the execution time (`ms`).
pub fn analyzed_lines(
    plan: &Plan,
    d: &Redraw,
    actuals: &HashMap<usize, Actual>,
    top: u64,
    ms: f64,
) -> Result<Vec<String>> {
    COMPUTED.with(|c| c.borrow_mut().clear());
    LATERAL.with(|c| c.borrow_mut().clear());
    SEMI.with(|c| c.borrow_mut().clear());
    ANALYZED.with(|a| *a.borrow_mut() = Some(actuals.clone()));
    ALIASES.with(|a| *a.borrow_mut() = d.texts.aliases.clone());
    let node = plan_node(plan, &d.texts, d.shards);
    ALIASES.with(|a| a.borrow_mut().clear());
    ANALYZED.with(|a| *a.borrow_mut() = None);
    COMPUTED.with(|c| c.borrow_mut().clear());
    LATERAL.with(|c| c.borrow_mut().clear());
    SEMI.with(|c| c.borrow_mut().clear());
    let mut node = node?;
    node.actual = Some(top);
    if let Some(doc) = document(&node, d.opts, Some(ms)) {
        return Ok(vec![doc]);
    }
    let mut out = Vec::new();
    node.draw(0, &mut out, d.opts);
    out.push(format!("Execution Time: {ms:.3} ms"));
    Ok(out)
}

impl Node {
    fn new(title: impl Into<String>) -> Node {
        Node { title: title.into(), props: Vec::new(), children: Vec::new(), est: None, actual: None }
    }

    fn est(mut self, e: Estimate) -> Node {
        self.est = Some(e);
        self
    }

    fn estimate(&self) -> Estimate {
        self.est.unwrap_or(Estimate { startup: 0.0, total: 0.0, rows: 1.0, width: 0.0 })
    }

    fn prop(mut self, p: impl Into<String>) -> Node {
        self.props.push(p.into());
        self
    }

    fn child(mut self, c: Node) -> Node {
        self.children.push(c);
        self
    }

    fn draw(&self, depth: usize, out: &mut Vec<String>, opts: Options) {
        let (head, body) = if depth == 0 {
            (String::new(), "  ".to_string())
        } else {
            let pad = " ".repeat(6 * (depth - 1) + 2);
            (format!("{pad}->  "), " ".repeat(6 * depth + 2))
        };
        let mut line = match (&self.est, opts.costs) {
            (Some(e), true) => format!("{head}{}  {e}", self.title),
            _ => format!("{head}{}", self.title),
        };
        if let Some(n) = self.actual {
            let sep = if opts.costs && self.est.is_some() { " " } else { "  " };
            line.push_str(&format!("{sep}(actual rows={n})"));
        }
        out.push(line);
        for p in &self.props {
            out.push(format!("{body}{p}"));
        }
        for c in &self.children {
            c.draw(depth + 1, out, opts);
        }
    }
}

/// The SQL text of the parts of a statement EXPLAIN prints (the bound plan keeps no names).
#[derive(Debug, Clone, Default)]
pub struct Texts {
    pub filter: Option<String>,
    pub order_by: Option<String>,
    pub group_by: Option<String>,
    /// The select list's expressions (without aliases; None with `*`): the Sort Key of a
    /// DISTINCT that sorts.
    pub select_list: Option<Vec<String>>,
    /// Every stored table the statement names, in the order its text names them: (table
    /// name, the alias, or the name without schema), for qualified column names in joins.
    pub aliases: Vec<(String, String)>,
}

/// Collects [`Texts::aliases`].
struct AliasCollector(Vec<(String, String)>);

impl ast::Visitor for AliasCollector {
    type Break = ();

    fn pre_visit_table_factor(&mut self, f: &ast::TableFactor) -> std::ops::ControlFlow<()> {
        if let ast::TableFactor::Table { name, alias, args: None, .. } = f {
            if let Some(rel) = name.0.last().and_then(|p| p.as_ident()).map(crate::bind::fold_ident) {
                let shown = alias.as_ref().map_or_else(|| rel.clone(), |a| crate::bind::fold_ident(&a.name));
                self.0.push((rel, shown));
            }
        }
        std::ops::ControlFlow::Continue(())
    }
}

impl Texts {
    pub fn of(stmt: &ast::Statement) -> Texts {
        let mut t = Texts::default();
        let mut aliases = AliasCollector(Vec::new());
        let _ = ast::Visit::visit(stmt, &mut aliases);
        t.aliases = aliases.0;
        match stmt {
            ast::Statement::Query(q) => {
                if let ast::SetExpr::Select(s) = q.body.as_ref() {
                    t.filter = s.selection.as_ref().map(|e| format!("({e})"));
                    t.select_list = s
                        .projection
                        .iter()
                        .map(|item| match item {
                            ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => {
                                Some(e.to_string())
                            }
                            _ => None,
                        })
                        .collect();
                    if let ast::GroupByExpr::Expressions(g, _) = &s.group_by {
                        if !g.is_empty() {
                            t.group_by = Some(g.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(", "));
                        }
                    }
                }
                if let Some(ob) = &q.order_by {
                    if let ast::OrderByKind::Expressions(list) = &ob.kind {
                        t.order_by = Some(list.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(", "));
                    }
                }
            }
            ast::Statement::Update(u) => t.filter = u.selection.as_ref().map(|e| format!("({e})")),
            ast::Statement::Delete(d) => t.filter = d.selection.as_ref().map(|e| format!("({e})")),
            _ => {}
        }
        t
    }
}

/// The shard a constant key goes to, if the key is made of constants.
fn key_shard(key: &[Expr], shards: usize) -> Option<usize> {
    let vals: Option<Vec<Datum>> =
        key.iter().map(|e| if let Expr::Const(d, _) = e { Some(d.clone()) } else { None }).collect();
    let vals = vals?;
    Some(crate::exec::shard_of_key(&key::encode(vals.iter()), shards))
}

/// The number of AND-ed conditions of a filter (each costs an operator per row).
fn quals(f: Option<&Expr>) -> usize {
    f.map_or(0, |f| {
        let mut parts = Vec::new();
        crate::join::conjuncts(f, &mut parts);
        parts.len()
    })
}

/// Rows of a relation the statement computes, as estimated when its source was drawn.
fn computed_rows(table: &TableDef) -> Option<Estimate> {
    COMPUTED.with(|c| c.borrow().get(&table.name).copied())
}

/// The columns of a table with the rows it is estimated to hold (a computed relation's from
/// its source's estimate).
fn table_columns(table: &TableDef) -> TableColumns<'_> {
    let mut cols = TableColumns::new(table);
    if let Some(e) = computed_rows(table) {
        cols.rows = e.rows;
    }
    cols
}

/// A per-shard partial aggregate to draw between a scan and its Gather.
struct Partial<'a> {
    node: Node,
    group_by: &'a [Expr],
    aggs: usize,
    strategy: Strategy,
    /// The group key's text: the Sort Key of the sort under a partial GroupAggregate.
    sort_key: Option<String>,
}

/// A Sort node over `input` (`key`: its Sort Key line).
fn sort_node(input: Node, key: Option<&str>) -> Node {
    let mut s = Node::new("Sort").est(cost::sort(input.estimate()));
    if let Some(k) = key {
        s = s.prop(format!("Sort Key: {k}"));
    }
    s.child(input)
}

fn scan_node(
    table: &TableDef,
    key: Option<&[Expr]>,
    filter_expr: Option<&Expr>,
    filter: Option<&str>,
    shards: usize,
    partial: Option<Partial>,
    paths: Paths,
) -> Node {
    // enable_indexscan = off (with sequential scans on): no key or index path; a path that is
    // switched off and drawn all the same costs disable_cost more.
    let (key, index_paths) = if paths.use_index() { (key, true) } else { (None, false) };
    let index_est = |e: Estimate| disabled(e, paths.indexscan);
    let cols = table_columns(table);
    let width = cols.width();
    let sel = filter_expr.map_or(1.0, |f| stats::selectivity(&cols, f, &[]));
    let rows = cols.rows;
    let out = cost::clamp_rows(rows * sel);
    let q = quals(filter_expr);
    // A plan bound without SQL text (a subquery's) prints its filter from the bound condition.
    let shown = match (filter, filter_expr) {
        (None, Some(f)) if !crate::relation::is_derived(table) => {
            Some(show(f, &|i| table.columns.get(i).map_or_else(|| "?".to_string(), |c| c.name.clone())))
        }
        _ => None,
    };
    let filter = filter.or(shown.as_deref());
    // The partial aggregate over one shard's (or the only) scan.
    let over = |scan: Node, partial: Option<Partial>| -> Node {
        match partial {
            Some(p) => {
                let scan = match p.strategy {
                    Strategy::Sort => sort_node(scan, p.sort_key.as_deref()),
                    _ => scan,
                };
                let input = scan.estimate();
                let groups = stats::groups(&cols, p.group_by, input.rows);
                let mut e = cost::aggregate(input, groups, p.aggs, p.group_by.len(), input.width);
                match p.strategy {
                    Strategy::Sort => e.startup = input.startup,
                    Strategy::HashDisabled => e = disabled(e, false),
                    Strategy::Hash => {}
                }
                p.node.est(e).child(scan)
            }
            None => scan,
        }
    };
    if let Some(n) = SEMI.with(|m| m.borrow_mut().remove(&table.name)) {
        return over(n, partial);
    }
    if let Some(mut n) = LATERAL.with(|m| m.borrow_mut().remove(&table.name)) {
        if let Some(f) = filter {
            n = n.prop(format!("Filter: {f}"));
        }
        return over(n, partial);
    }
    if crate::relation::is_derived(table) {
        let mut n = Node::new("Subquery Scan (rows computed first, on the coordinating shard)").est(cost::per_row(
            cost::computed(rows, width),
            q,
            out,
            width,
        ));
        if let Some(f) = filter {
            n = n.prop(format!("Filter: {f}"));
        }
        return over(n, partial);
    }
    if crate::catalog::is_view(table) {
        let mut n = Node::new(format!("Seq Scan on {} (system view, built when read)", table.name)).est(cost::per_row(
            cost::computed(rows, width),
            q,
            out,
            width,
        ));
        if let Some(f) = filter {
            n = n.prop(format!("Filter: {f}"));
        }
        return over(n, partial);
    }
    if let Some(k) = key {
        let mut n = Node::new(format!("Index Scan using {} on {}", table.pk_name, table.name))
            .est(index_est(cost::index_scan(out, width, q, out)));
        if let Some(f) = filter {
            n = n.prop(format!("Index Cond: {f}"));
        }
        n = n.prop(match key_shard(k, shards) {
            Some(s) => format!("Shard: {s} (of {shards}, the one the key hashes to)"),
            None => format!("Shard: the one the key hashes to (of {shards})"),
        });
        return over(n, partial);
    }
    if let Some(line) = filter_expr.filter(|_| index_paths).and_then(|f| crate::exec::index_scan::describe(table, f)) {
        let mut n = Node::new(line).est(index_est(cost::index_scan(out, width, q, out)));
        if let Some(f) = filter {
            n = n.prop(format!("Filter: {f}"));
        }
        return over(n, partial);
    }
    // One shard's part under the Gather: a range of its part in key order where the filter
    // bounds the leading primary-key columns (`exec::key_range`), else every row.
    let per_shard_rows = rows / shards.max(1) as f64;
    let ranged = index_paths && filter_expr.is_some_and(|f| crate::exec::key_range_applies(table, f));
    let per_shard_out = cost::clamp_rows(per_shard_rows * sel);
    let mut seq = if ranged {
        Node::new(format!("Index Scan using {} on {}", table.pk_name, table.name)).est(index_est(cost::index_scan(
            per_shard_out,
            width,
            q,
            per_shard_out,
        )))
    } else {
        Node::new(format!("Seq Scan on {}", table.name))
            .est(disabled(cost::seq_scan(per_shard_rows, width, q, per_shard_out), paths.seqscan))
    };
    if let Some(f) = filter {
        seq = seq.prop(format!("Filter: {f}"));
    }
    let partial_rows = partial.is_some();
    let per_shard = over(seq, partial);
    let mut g = cost::gather(per_shard.estimate(), shards);
    if !partial_rows {
        // The whole table's estimate, not the sum of rounded shares.
        g.rows = out;
    }
    Node::new(format!("Gather (shards: {shards}, in parallel)")).est(g).child(per_shard)
}

/// The columns of a join's combined row, each table with the rows it is estimated to keep.
struct JoinColumns<'a> {
    tables: Vec<TableColumns<'a>>,
    offsets: Vec<usize>,
}

impl Columns for JoinColumns<'_> {
    fn column(&self, i: usize) -> Option<stats::ColumnInfo<'_>> {
        let t = self.offsets.iter().rposition(|&o| o <= i)?;
        self.tables[t].column(i - self.offsets[t])
    }
}

/// A join input's scan (without partial aggregation): its own conditions where the planner
/// pushes them down (`local`), else none.
fn join_input(t: &TableDef, local: Option<&Expr>, shards: usize) -> Node {
    let key = local.and_then(|f| crate::bind::pk_lookup(f, t));
    let name = |i: usize| t.columns.get(i).map_or_else(|| format!("${i}"), |c| c.name.clone());
    let text = local.map(|f| show(f, &name));
    scan_node(t, key.as_deref(), local, text.as_deref(), shards, None, Paths::ALL)
}

fn kind_name(k: crate::join::JoinKind) -> &'static str {
    match k {
        crate::join::JoinKind::Inner => "Inner",
        crate::join::JoinKind::Left => "Left",
        crate::join::JoinKind::Right => "Right",
        crate::join::JoinKind::Full => "Full",
        crate::join::JoinKind::Cross => "Cross",
    }
}

/// A join step's lookups by key ([`crate::index_join`]) drawn as PostgreSQL draws the inner side
/// of an index nested loop: `Index Scan using <key or index> on <table>` with its `Index Cond`
/// (the table's columns against the columns of the rows so far, `left_name`) and the table's
/// own conditions; `keys` lookups find `found` rows.
fn lookup_node(
    t: &TableDef,
    lk: &crate::index_join::Lookup,
    local: Option<&Expr>,
    keys: f64,
    found: f64,
    left_name: &dyn Fn(usize) -> String,
) -> Node {
    let cols = table_columns(t);
    let conds: Vec<String> =
        lk.right.iter().zip(&lk.left).map(|(&r, &l)| format!("({} = {})", name_in(t, r), left_name(l))).collect();
    let cond = if conds.len() == 1 { conds.concat() } else { format!("({})", conds.join(" AND ")) };
    let mut n = Node::new(format!("Index Scan using {} on {}", lk.name(t), t.name))
        .est(cost::index_scan(keys, cols.width(), quals(local), cost::clamp_rows(found)))
        .prop(format!("Index Cond: {cond}"));
    if let Some(f) = local {
        n = n.prop(format!("Filter: {}", show(f, &|i| name_in(t, i))));
    }
    n.prop(if lk.point(t) {
        "Keys: batched by the shard that holds them, one message per shard".to_string()
    } else {
        "Keys: batched, one message to every shard (ranges of the key)".to_string()
    })
}

/// A column of `t` by name.
fn name_in(t: &TableDef, i: usize) -> String {
    t.columns.get(i).map_or_else(|| format!("${i}"), |c| c.name.clone())
}

/// A merge step's node ([`crate::merge_join`]): `Merge Join` / `Merge Left Join` / ... with its
/// `Merge Cond` (the key equalities, in key order, columns qualified by their tables' aliases
/// as PostgreSQL prints them: `key` pairs (column of table `a`, column of table `b`)) and, on
/// the shards, its distribution.
#[allow(clippy::too_many_arguments)]
fn merge_node(
    j: &crate::join::JoinPlan,
    kind: crate::join::JoinKind,
    place: crate::merge_join::Place,
    (a, b): (usize, usize),
    key: &[(usize, usize)],
    est: Estimate,
    shards: usize,
) -> Node {
    let mut used = vec![false; ALIASES.with(|x| x.borrow().len())];
    let names = qualified_names(None, Some(j), &mut used);
    let offset = |t: usize| j.inputs.iter().take(t).map(|d| d.row_len()).sum::<usize>();
    let conds: Vec<String> = key
        .iter()
        .map(|&(ca, cb)| format!("({} = {})", name_of(&names, offset(a) + ca), name_of(&names, offset(b) + cb)))
        .collect();
    let cond = if conds.len() == 1 { conds.concat() } else { format!("({})", conds.join(" AND ")) };
    let title = match kind {
        crate::join::JoinKind::Inner | crate::join::JoinKind::Cross => "Merge Join".to_string(),
        k => format!("Merge {} Join", kind_name(k)),
    };
    let node = |where_: &str| Node::new(format!("{title} ({where_})")).est(est).prop(format!("Merge Cond: {cond}"));
    match place {
        crate::merge_join::Place::Coordinator => node("on the coordinating shard"),
        crate::merge_join::Place::OnShards => {
            node("on every shard").prop(crate::dist_join::Distribution::CoLocated.line(shards).unwrap_or_default())
        }
    }
}

/// The join tree: for inner joins in the order the planner picks from its estimates, each
/// input with its own conditions; otherwise in FROM order.
fn join_node<'a>(
    j: &'a crate::join::JoinPlan,
    filter_expr: Option<&Expr>,
    filter: Option<&str>,
    shards: usize,
    needed: Option<&[bool]>,
) -> (Node, JoinColumns<'a>) {
    let n = j.inputs.len();
    let mut jc = JoinColumns { tables: j.inputs.iter().map(|t| table_columns(t)).collect(), offsets: Vec::new() };
    let mut w = 0;
    for t in &j.inputs {
        jc.offsets.push(w);
        w += t.row_len();
    }
    let mut acc = if crate::join::reorderable(j) {
        let sp = crate::join::split(j, filter_expr);
        let sizes = crate::join::estimated_sizes(j, &sp, &jc.tables, &[]);
        // EXPLAIN ANALYZE: the order the executor picked from the real sizes, and its rows.
        let ran = analyzed(j as *const crate::join::JoinPlan as usize)
            .and_then(|a| a.join)
            .filter(|(inputs, order, steps)| inputs.len() == n && order.len() == n && steps.len() + 1 == n);
        let order = match &ran {
            Some((_, order, _)) => order.clone(),
            None => crate::join::order(&sp, &jc.tables, &sizes, 0),
        };
        let lookups = match analyzed(j as *const crate::join::JoinPlan as usize).and_then(|a| a.lookups) {
            Some(l) if ran.is_some() && l.len() + 1 == n => l,
            _ => crate::join::lookups(&sp, &jc.tables, &sizes, 0, &order),
        };
        // Where each step runs: as it ran (EXPLAIN ANALYZE), else as planned.
        let dists = match analyzed(j as *const crate::join::JoinPlan as usize).and_then(|a| a.distribution) {
            Some(d) if ran.is_some() && d.len() + 1 == n => d,
            _ => crate::join::distributions(j, &sp, &jc.tables, &sizes, &order, &lookups, shards),
        };
        // Whether the first step merges ([`crate::merge_join`]): as it ran, else as planned.
        let first_merge = match analyzed(j as *const crate::join::JoinPlan as usize).and_then(|a| a.merges) {
            Some(m) if ran.is_some() && m.len() + 1 == n => m.first().copied().flatten(),
            _ => {
                let locals: Vec<Option<Expr>> = (0..n)
                    .map(|t| sp.local[t].iter().cloned().reduce(|a, b| Expr::And(Box::new(a), Box::new(b))))
                    .collect();
                crate::merge_join::inner_first(j, &sp, &locals, &sizes, &order, &lookups, &dists, shards)
            }
        };
        let inputs: Vec<Node> = (0..n)
            .map(|t| {
                let local = sp.local[t].iter().cloned().reduce(|a, b| Expr::And(Box::new(a), Box::new(b)));
                let mut node = join_input(&j.inputs[t], local.as_ref(), shards);
                node.actual = ran.as_ref().map(|r| r.0[t]);
                node
            })
            .collect();
        let mut inputs: Vec<Option<Node>> = inputs.into_iter().map(Some).collect();
        let mut mask = 1usize << order[0];
        let mut acc = inputs[order[0]].take().unwrap_or_else(|| Node::new("Result"));
        // Each table's estimated rows (its filtered size), for the distinct counts of its columns.
        for (t, s) in sizes.iter().enumerate() {
            jc.tables[t].rows = *s;
        }
        // A column of the combined row by name.
        let name = |i: usize| match sp.table_of(i) {
            Some(t) => j.inputs[t].columns.get(i - sp.offsets[t]).map_or_else(|| "?".to_string(), |c| c.name.clone()),
            None => "?".to_string(),
        };
        let mut applied = vec![false; sp.multi.len()];
        let mut step_no = 0;
        for &t in &order[1..] {
            let mut right = inputs[t].take().unwrap_or_else(|| Node::new("Result"));
            let lookup = lookups
                .get(step_no)
                .copied()
                .unwrap_or(false)
                .then(|| crate::index_join::path(&j.inputs[t], &crate::index_join::equalities(&sp, mask, t)))
                .flatten();
            mask |= 1 << t;
            // The conditions this step applies: hash keys (or the lookups' key), and the rest
            // checked per pair.
            let (mut keys, mut others) = (Vec::new(), Vec::new());
            for (k, (p, ts)) in sp.multi.iter().enumerate() {
                if applied[k] || !ts.iter().all(|x| mask & (1 << x) != 0) {
                    continue;
                }
                applied[k] = true;
                match sp.equality(k) {
                    Some((a, ca, b, cb)) if lookup.is_some() && (a == t || b == t) => {
                        let (own, other) = if a == t { (ca, sp.offsets[b] + cb) } else { (cb, sp.offsets[a] + ca) };
                        let l = lookup.as_ref().expect("checked");
                        if !l.right.iter().zip(&l.left).any(|(&r, &s)| r == own && s == other) {
                            others.push(show(p, &name));
                        }
                    }
                    Some((a, _, b, _)) if a == t || b == t => keys.push(show(p, &name)),
                    _ => others.push(show(p, &name)),
                }
            }
            let rows = cost::clamp_rows(crate::join::estimated_rows(&sp, &jc.tables, &sizes, mask));
            if let Some(lk) = &lookup {
                let local = sp.local[t].iter().cloned().reduce(|a, b| Expr::And(Box::new(a), Box::new(b)));
                let actual = right.actual;
                right = lookup_node(&j.inputs[t], lk, local.as_ref(), acc.estimate().rows, rows, &name);
                right.actual = actual;
            }
            let (l, r) = (acc.estimate(), right.estimate());
            let merge = first_merge.filter(|_| step_no == 0 && lookup.is_none()).and_then(|place| {
                let (a, b) = (order[0], t);
                let key =
                    crate::merge_join::key(&j.inputs[a], &j.inputs[b], &crate::merge_join::equalities(&sp, a, b))?;
                Some((place, a, b, key))
            });
            let mut step = if let Some((place, a, b, key)) = &merge {
                // The equalities past the merge key are checked per pair.
                let (ka, kb) = (sp.offsets[*a], sp.offsets[*b]);
                let merged = |p: &Expr| match p {
                    Expr::Cmp(crate::expr::CmpOp::Eq, x, y) => match (x.as_ref(), y.as_ref()) {
                        (Expr::Column(x, _), Expr::Column(y, _)) => key
                            .iter()
                            .any(|&(ca, cb)| (*x == ka + ca && *y == kb + cb) || (*x == kb + cb && *y == ka + ca)),
                        _ => false,
                    },
                    _ => false,
                };
                for (k, (p, ts)) in sp.multi.iter().enumerate() {
                    if ts.len() == 2 && ts.contains(a) && ts.contains(b) && sp.equality(k).is_some() && !merged(p) {
                        others.push(show(p, &name));
                    }
                }
                let kind = crate::join::JoinKind::Inner;
                merge_node(
                    j,
                    kind,
                    *place,
                    (*a, *b),
                    key,
                    disabled(cost::merge_join(l, r, rows), j.merge_enabled),
                    shards,
                )
            } else if lookup.is_some() {
                Node::new("Nested Loop")
                    .est(disabled(disabled(cost::index_nested_loop(l, r, rows), j.methods.nestloop), j.methods.lookup))
            } else if !keys.is_empty() {
                let dist = dists.get(step_no).copied().unwrap_or(crate::dist_join::Distribution::Coordinator);
                match dist.line(shards) {
                    None => Node::new("Hash Inner Join (on the coordinating shard)")
                        .est(disabled(cost::hash_join(l, r, rows), j.methods.hash))
                        .prop(format!("Hash Cond: {}", keys.join(" AND "))),
                    Some(line) => Node::new("Hash Inner Join (on every shard)")
                        .est(disabled(cost::hash_join(l, r, rows), j.methods.hash))
                        .prop(format!("Hash Cond: {}", keys.join(" AND ")))
                        .prop(line),
                }
            } else {
                Node::new("Nested Loop (Inner Join, on the coordinating shard)")
                    .est(disabled(cost::nested_loop(l, r, rows), j.methods.nestloop))
            };
            if !others.is_empty() {
                step = step.prop(format!("Join Filter: {}", others.join(" AND ")));
            }
            step.actual = ran.as_ref().and_then(|r| r.2.get(step_no).copied());
            step_no += 1;
            acc = step.child(acc).child(right);
        }
        if !sp.last.is_empty() {
            let last: Vec<String> = sp.last.iter().map(|p| show(p, &name)).collect();
            acc = acc.prop(format!("Filter: {}", last.join(" AND ")));
        }
        // The conditions are drawn where they run, not as one WHERE.
        return (acc, jc);
    } else {
        let ran = analyzed(j as *const crate::join::JoinPlan as usize)
            .and_then(|a| a.join)
            .filter(|(inputs, _, steps)| inputs.len() == n && steps.len() + 1 == n);
        // WHERE's part over the first table alone filters its scan (as the executor runs it).
        let (first, rest) = crate::join::first_table_filter(j, filter_expr);
        let mut acc =
            j.inputs.first().map(|t| join_input(t, first.as_ref(), shards)).unwrap_or_else(|| Node::new("Result"));
        acc.actual = ran.as_ref().map(|r| r.0[0]);
        let mut width = j.inputs.first().map_or(0, |t| t.row_len());
        let noted = analyzed(j as *const crate::join::JoinPlan as usize)
            .and_then(|a| a.lookups)
            .filter(|l| ran.is_some() && l.len() + 1 == n);
        let name = |i: usize| match jc.offsets.iter().rposition(|&o| o <= i) {
            Some(t) => j.inputs[t].columns.get(i - jc.offsets[t]).map_or_else(|| "?".to_string(), |c| c.name.clone()),
            None => "?".to_string(),
        };
        let removed = crate::join_removal::removed(j, needed);
        // Whether the first step merges ([`crate::merge_join`]): as it ran, else as planned
        // (not when WHERE filters the first table's scan or the step is removed).
        let first_merge = match analyzed(j as *const crate::join::JoinPlan as usize).and_then(|a| a.merges) {
            Some(m) if ran.is_some() && m.len() + 1 == n => m.first().copied().flatten(),
            _ => crate::merge_join::written_first_step(j, shards)
                .filter(|_| first.is_none() && !removed.first().copied().unwrap_or(false)),
        };
        // A first LEFT step with its nullable side broadcast ([`crate::dist_left`]): it joins
        // one shard's part of the first table, under the Gather.
        let left_broadcast = first_merge.is_none()
            && !removed.first().copied().unwrap_or(true)
            && crate::dist_left::first_step_broadcast(j, first.as_ref(), shards);
        let mut gather: Option<Node> = None;
        if left_broadcast && acc.title.starts_with("Gather") && acc.children.len() == 1 {
            let mut g = acc;
            acc = g.children.remove(0);
            gather = Some(g);
        }
        for (k, (step, t)) in j.steps.iter().zip(j.inputs.iter().skip(1)).enumerate() {
            if removed[k] {
                // Not run: PostgreSQL's plans leave a removed join out too.
                width += t.row_len();
                continue;
            }
            let mut right = join_input(t, None, shards);
            right.actual = ran.as_ref().map(|r| r.0[k + 1]);
            let merge = first_merge
                .filter(|_| k == 0)
                .and_then(|place| Some((place, crate::merge_join::key(&j.inputs[0], t, &step.eq)?)));
            let lookup =
                if merge.is_none() && matches!(step.kind, crate::join::JoinKind::Inner | crate::join::JoinKind::Left) {
                    crate::index_join::path(t, &step.eq).filter(|l| match &noted {
                        Some(n) => n.get(k).copied().unwrap_or(false),
                        None => crate::index_join::cheaper(l, acc.estimate().rows, table_columns(t).rows, j.methods),
                    })
                } else {
                    None
                };
            if let Some(lk) = &lookup {
                let actual = right.actual;
                let left_rows = acc.estimate().rows;
                let found = (left_rows * right.estimate().rows / table_columns(t).rows.max(1.0)).max(1.0);
                right = lookup_node(t, lk, None, left_rows, found, &name);
                right.actual = actual;
            }
            let (l, r) = (acc.estimate(), right.estimate());
            let mut rows = l.rows * r.rows;
            for &(lc, rc) in &step.eq {
                if let (Some(a), Some(b)) = (jc.column(lc), jc.column(width + rc)) {
                    rows *= stats::join_eq_selectivity(&a, &b);
                }
            }
            rows = match step.kind {
                crate::join::JoinKind::Left => rows.max(l.rows),
                crate::join::JoinKind::Right => rows.max(r.rows),
                crate::join::JoinKind::Full => rows.max(l.rows).max(r.rows),
                _ => rows,
            };
            let rows = cost::clamp_rows(rows);
            let kind = kind_name(step.kind);
            acc = if let Some((place, key)) = &merge {
                merge_node(
                    j,
                    step.kind,
                    *place,
                    (0, 1),
                    key,
                    disabled(cost::merge_join(l, r, rows), j.merge_enabled),
                    shards,
                )
                .child(acc)
                .child(right)
            } else if lookup.is_some() {
                let title =
                    if step.kind == crate::join::JoinKind::Left { "Nested Loop Left Join" } else { "Nested Loop" };
                Node::new(title)
                    .est(disabled(disabled(cost::index_nested_loop(l, r, rows), j.methods.nestloop), j.methods.lookup))
                    .child(acc)
                    .child(right)
            } else if left_broadcast && k == 0 {
                let line = format!("Distribution: broadcast of the nullable side ({shards} shards)");
                let joined = Node::new(format!("Hash {kind} Join (on every shard)"))
                    .est(disabled(cost::hash_join(l, r, rows), j.methods.hash))
                    .prop(line)
                    .child(acc)
                    .child(right);
                match gather.take() {
                    Some(g) => {
                        let e = cost::gather(joined.estimate(), shards);
                        Node::new(g.title).est(e).child(joined)
                    }
                    None => joined,
                }
            } else if step.eq.is_empty() {
                Node::new(format!("Nested Loop ({kind} Join, on the coordinating shard)"))
                    .est(disabled(cost::nested_loop(l, r, rows), j.methods.nestloop))
                    .child(acc)
                    .child(right)
            } else {
                Node::new(format!("Hash {kind} Join (on the coordinating shard)"))
                    .est(disabled(cost::hash_join(l, r, rows), j.methods.hash))
                    .child(acc)
                    .child(right)
            };
            acc.actual = ran.as_ref().and_then(|r| r.2.get(k).copied());
            width += t.row_len();
        }
        if let Some(f) = &rest {
            let mut e = acc.estimate();
            e.rows = cost::clamp_rows(e.rows * stats::selectivity(&jc, f, &[]));
            acc.est = Some(e);
        }
        if first.is_some() {
            // The caller's text is the whole WHERE; only the rest runs here.
            if let Some(f) = &rest {
                acc = acc.prop(format!("Filter: {}", show(f, &name)));
            }
            return (acc, jc);
        }
        acc
    };
    if let Some(f) = filter {
        acc = acc.prop(format!("Filter: {f}"));
    }
    (acc, jc)
}
/// A condition as EXPLAIN prints a pushed-down part of WHERE (the binder keeps no text for
/// the parts): columns by name, constants as literals, `(...)` for what it does not spell out.
fn show(e: &Expr, name: &dyn Fn(usize) -> String) -> String {
    use crate::expr::CmpOp;
    match e {
        Expr::Column(i, _) => name(*i),
        Expr::Const(Datum::Null, _) => "NULL".into(),
        Expr::Const(d, ty) => match crate::types::to_text(d) {
            Some(v) if ty.is_integer() || ty.is_float() || ty.is_decimal() => v,
            Some(v) => format!("'{}'", v.replace('\'', "''")),
            None => "NULL".into(),
        },
        // A placeholder for an outer query's value in a correlated subquery.
        Expr::Param(i, _) if *i >= crate::relation::OUTER_BASE => "(outer value)".into(),
        Expr::Param(i, _) => format!("${}", i + 1),
        Expr::Cast(inner, ..) => show(inner, name),
        Expr::Cmp(op, a, b) => {
            let o = match op {
                CmpOp::Eq => "=",
                CmpOp::NotEq => "<>",
                CmpOp::Lt => "<",
                CmpOp::LtEq => "<=",
                CmpOp::Gt => ">",
                CmpOp::GtEq => ">=",
            };
            format!("({} {o} {})", show(a, name), show(b, name))
        }
        Expr::And(a, b) => format!("({} AND {})", show(a, name), show(b, name)),
        Expr::Or(a, b) => format!("({} OR {})", show(a, name), show(b, name)),
        Expr::Not(a) => format!("(NOT {})", show(a, name)),
        Expr::IsNull(a, neg) => format!("({} IS {}NULL)", show(a, name), if *neg { "NOT " } else { "" }),
        Expr::InList(a, items, neg) => format!(
            "({} {}IN ({}))",
            show(a, name),
            if *neg { "NOT " } else { "" },
            items.iter().map(|i| show(i, name)).collect::<Vec<_>>().join(", ")
        ),
        Expr::Like(a, pat, neg, ci) => format!(
            "({} {}{} {})",
            show(a, name),
            if *neg { "NOT " } else { "" },
            if *ci { "ILIKE" } else { "LIKE" },
            show(pat, name)
        ),
        _ => "(...)".into(),
    }
}

/// The width of the rows a SELECT returns: its output columns' widths.
fn output_width(p: &SelectPlan, cols: Option<&dyn Columns>) -> f64 {
    p.projection
        .iter()
        .map(|e| match (e, cols, p.grouped) {
            (Expr::Column(i, _), Some(c), false) => c
                .column(*i)
                .and_then(|c| c.stats.map(|s| s.avg_width as f64))
                .unwrap_or_else(|| stats::type_width(e.ty())),
            _ => stats::type_width(e.ty()),
        })
        .sum()
}

/// An integer constant (LIMIT's and OFFSET's values when written as literals).
fn const_count(e: Option<&Expr>) -> Option<f64> {
    match e? {
        Expr::Const(d, _) => d.as_i64().map(|v| v.max(0) as f64),
        Expr::Cast(inner, ..) => const_count(Some(inner)),
        _ => None,
    }
}

fn select_node(p: &SelectPlan, t: &Texts, shards: usize) -> Node {
    let aggregated = p.grouped;
    // A filter the primary key or an index's equal values serve: the coordinator groups the
    // rows it looks up, in one step (`group.rs`), with no partial aggregates on the shards.
    // (A correlated subquery's filter on outer values is rewritten before it runs: not here.)
    let looked_up = p.paths.use_index()
        && p.table.as_deref().is_some_and(|tb| {
            p.filter.as_ref().is_some_and(|f| {
                let mut outer = false;
                f.visit(&mut |x| outer |= matches!(x, Expr::Param(i, _) if *i >= crate::relation::OUTER_BASE));
                !outer
                    && (crate::bind::pk_lookup(f, tb).is_some()
                        || crate::exec::index_scan::choose(tb, f).is_some_and(|a| !a.eq.is_empty()))
            })
        });
    // enable_hashagg = off: groups found by sorting (GroupAggregate over a Sort), or hashed at
    // disable_cost more where a key does not sort.
    let strategy = if p.group_by.is_empty() { Strategy::Hash } else { p.group_strategy };
    let partial = (aggregated && !looked_up).then(|| {
        let mut n = Node::new(match (p.group_by.is_empty(), strategy) {
            (true, _) => "Partial Aggregate",
            (false, Strategy::Sort) => "Partial GroupAggregate",
            (false, _) => "Partial HashAggregate",
        });
        if let Some(g) = &t.group_by {
            n = n.prop(format!("Group Key: {g}"));
        }
        Partial { node: n, group_by: &p.group_by, aggs: p.aggs.len(), strategy, sort_key: t.group_by.clone() }
    });
    let single = p.table.as_deref().map(table_columns);
    let mut joined = None;
    let mut node = match &p.table {
        None if p.join.is_some() => {
            let j = p.join.as_deref().expect("checked");
            // The columns the statement reads besides the join's own conditions.
            let mut needed = crate::join::columns_read(p, j.inputs.iter().map(|t| t.row_len()).sum());
            if let Some(f) = &p.filter {
                f.visit_columns(&mut |c| {
                    if let Some(n) = needed.get_mut(c) {
                        *n = true;
                    }
                });
            }
            let (n, jc) = join_node(j, p.filter.as_ref(), t.filter.as_deref(), shards, Some(&needed));
            joined = Some(jc);
            n
        }
        None => {
            let mut n = Node::new("Result").est(Estimate {
                startup: 0.0,
                total: cost::constants().cpu_tuple,
                rows: 1.0,
                width: output_width(p, None),
            });
            if let Some(f) = &t.filter {
                n = n.prop(format!("One-Time Filter: {f}"));
            }
            n
        }
        Some(table) => {
            // A grouped SELECT keeps no key of its own: the lookup its filter makes.
            let key = match (&p.key, &p.filter) {
                (None, Some(f)) if looked_up => crate::bind::pk_lookup(f, table),
                _ => p.key.clone(),
            };
            scan_node(table, key.as_deref(), p.filter.as_ref(), t.filter.as_deref(), shards, partial, p.paths)
        }
    };
    if !aggregated {
        if let Some(n) = analyzed(p as *const SelectPlan as usize).and_then(|a| a.rows) {
            node.actual = Some(n);
        }
    }
    let cols: Option<&dyn Columns> = match (&single, &joined) {
        (Some(c), _) => Some(c),
        (None, Some(j)) => Some(j),
        _ => None,
    };
    let width = output_width(p, cols);
    if aggregated {
        let sorts = strategy == Strategy::Sort;
        let title = match (p.join.is_some() || looked_up, p.group_by.is_empty(), sorts) {
            (true, true, _) => "Aggregate",
            (true, false, false) => "HashAggregate",
            (true, false, true) => "GroupAggregate",
            (false, true, _) => "Finalize Aggregate",
            (false, false, false) => "Finalize HashAggregate",
            (false, false, true) => "Finalize GroupAggregate",
        };
        if sorts {
            // The rows (or the shards' partial groups) sorted by the group key first.
            node = sort_node(node, t.group_by.as_deref());
        }
        let input = node.estimate();
        // The rows before grouping: under a Gather, every shard's groups.
        let base_rows = match (&single, &p.filter) {
            (Some(c), Some(f)) => c.rows * stats::selectivity(c, f, &[]),
            (Some(c), None) => c.rows,
            _ => input.rows,
        };
        let groups = match cols {
            Some(c) => stats::groups(c, &p.group_by, base_rows),
            None => 1.0,
        };
        let rows = cost::clamp_rows(if p.having.is_some() { groups * stats::DEFAULT_INEQ_SEL } else { groups });
        let mut e = cost::aggregate(input, groups, p.aggs.len(), p.group_by.len(), width);
        e.rows = rows;
        if sorts {
            // A GroupAggregate hands on each group as its run ends: no startup of its own.
            e.startup = input.startup;
        }
        e = disabled(e, strategy != Strategy::HashDisabled);
        let mut fin = Node::new(title).est(e);
        if let Some(g) = &t.group_by {
            fin = fin.prop(format!("Group Key: {g}"));
        }
        if p.having.is_some() {
            fin = fin.prop("Filter: (HAVING condition)");
        }
        node = fin.child(node);
    }
    if !p.windows.is_empty() {
        let input = node.estimate();
        node = Node::new(format!("WindowAgg (calls: {}, on the coordinating shard)", p.windows.len()))
            .est(cost::per_row(input, p.windows.len(), input.rows, width))
            .child(node);
    }
    if !matches!(p.distinct, Distinct::None) {
        let input = node.estimate();
        let rows = match (cols, aggregated) {
            (Some(c), false) => stats::groups(c, &p.projection, input.rows),
            _ => input.rows.min(stats::DEFAULT_NUM_DISTINCT),
        };
        if p.group_strategy == Strategy::Sort && p.distinct == Distinct::All {
            // Unique over one Sort by the ORDER BY keys and then the select list, which gives
            // ORDER BY's order too.
            let mut key: Vec<String> = t.order_by.iter().cloned().collect();
            let ordered: Vec<String> = t.order_by.iter().flat_map(|o| o.split(", ")).map(str::to_string).collect();
            for item in t.select_list.iter().flatten() {
                if !ordered.contains(item) {
                    key.push(item.clone());
                }
            }
            let key = (!key.is_empty() && t.select_list.is_some()).then(|| key.join(", "));
            let sorted = sort_node(node, key.as_deref());
            let input = sorted.estimate();
            let mut e = cost::per_row(input, p.projection.len(), rows, width);
            e.startup = input.startup;
            node = Node::new("Unique").est(e).child(sorted);
        } else {
            // Hashed; at disable_cost more when enable_hashagg is off and a column does not sort.
            let hashed_anyway = p.group_strategy == Strategy::HashDisabled && p.distinct == Distinct::All;
            let e = disabled(cost::per_row(input, p.projection.len(), rows, width), !hashed_anyway);
            node = Node::new("Unique").est(e).child(node);
        }
    }
    if !(p.order_by.is_empty() || p.group_strategy == Strategy::Sort && p.distinct == Distinct::All) {
        let mut s = Node::new("Sort").est(Estimate { width, ..cost::sort(node.estimate()) });
        if let Some(o) = &t.order_by {
            s = s.prop(format!("Sort Key: {o}"));
        }
        node = s.child(node);
    }
    if p.limit.is_some() || p.offset.is_some() {
        let e =
            cost::limit(node.estimate(), const_count(p.offset.as_ref()).unwrap_or(0.0), const_count(p.limit.as_ref()));
        node = Node::new("Limit").est(e).child(node);
    }
    node
}

/// A data-changing node over `child`: PostgreSQL's ModifyTable shows no rows or width.
fn modify(n: Node, child: Node) -> Node {
    let c = child.estimate();
    n.est(Estimate { startup: c.startup, total: c.total + c.rows * cost::constants().cpu_tuple, rows: 0.0, width: 0.0 })
        .child(child)
}

/// The plan's lines, top node first.
pub fn lines(plan: &Plan, t: &Texts, shards: usize, opts: Options) -> Result<Vec<String>> {
    COMPUTED.with(|c| c.borrow_mut().clear());
    LATERAL.with(|c| c.borrow_mut().clear());
    SEMI.with(|c| c.borrow_mut().clear());
    ALIASES.with(|a| *a.borrow_mut() = t.aliases.clone());
    let node = plan_node(plan, t, shards);
    ALIASES.with(|a| a.borrow_mut().clear());
    COMPUTED.with(|c| c.borrow_mut().clear());
    LATERAL.with(|c| c.borrow_mut().clear());
    SEMI.with(|c| c.borrow_mut().clear());
    let node = node?;
    if let Some(doc) = document(&node, opts, None) {
        return Ok(vec![doc]);
    }
    let mut out = Vec::new();
    node.draw(0, &mut out, opts);
    Ok(out)
}

/// The width of a row of `n` expressions of these types.
fn exprs_width(es: &[Expr]) -> f64 {
    es.iter().map(|e| stats::type_width(e.ty())).sum()
}

fn plan_node(plan: &Plan, t: &Texts, shards: usize) -> Result<Node> {
    Ok(match plan {
        Plan::Select(p) => select_node(p, t, shards),
        Plan::Query(q) => query_node(q, t, shards)?,
        Plan::Insert { table, rows, select, on_conflict, .. } => {
            let mut n = Node::new(format!("Insert on {}", table.name));
            n = match on_conflict {
                Some(OnConflict::Nothing(_)) => n.prop("Conflict Resolution: NOTHING"),
                Some(OnConflict::Update { .. }) => n.prop("Conflict Resolution: UPDATE"),
                None => n,
            };
            n = n.prop(format!("Rows go to the shards their keys hash to (of {shards}), one transaction"));
            let width = rows.first().map_or(0.0, |r| exprs_width(r));
            let child = match select {
                Some(s) => select_node(&s.0, &Texts::default(), shards),
                None if rows.len() == 1 => Node::new("Result").est(cost::computed(1.0, width)),
                None => Node::new(format!("Values Scan on \"*VALUES*\" (rows: {})", rows.len()))
                    .est(cost::computed(rows.len() as f64, width)),
            };
            modify(n, child)
        }
        Plan::Update { table, join: Some(j), filter, .. } | Plan::Delete { table, join: Some(j), filter, .. } => {
            let what = if matches!(plan, Plan::Update { .. }) { "Update" } else { "Delete" };
            let names: Vec<&str> = j.inputs.iter().map(|t| t.name.as_str()).collect();
            let (tree, _) = join_node(j, filter.as_ref(), None, shards, None);
            let mut join =
                Node::new(format!("Join of {} (on the coordinating shard)", names.join(", "))).est(tree.estimate());
            if let Some(f) = &t.filter {
                join = join.prop(format!("Filter: {f}"));
            }
            modify(Node::new(format!("{what} on {}", table.name)), join)
        }
        Plan::Merge(m) => {
            // The target joined with the source, drawn as a SELECT's join is.
            let (tree, _) = join_node(&m.join, None, None, shards, None);
            modify(Node::new(format!("Merge on {}", m.table.name)), tree)
        }
        Plan::Update { table, current_of: Some(c), .. } | Plan::Delete { table, current_of: Some(c), .. } => {
            // PostgreSQL's Tid Scan of the row the cursor is on, drawn as it draws it; here a
            // look-up of the row's key on the one shard it hashes to.
            let what = if matches!(plan, Plan::Update { .. }) { "Update" } else { "Delete" };
            let width = table.columns.iter().map(|c| stats::type_width(c.ty)).sum();
            let scan = Node::new(format!("Tid Scan on {}", table.name))
                .est(cost::index_scan(1.0, width, 0, 1.0))
                .prop(format!("TID Cond: CURRENT OF {c}"));
            modify(Node::new(format!("{what} on {}", table.name)), scan)
        }
        Plan::Update { table, key, filter, .. } => modify(
            Node::new(format!("Update on {}", table.name)),
            scan_node(table, key.as_deref(), filter.as_ref(), t.filter.as_deref(), shards, None, Paths::ALL),
        ),
        Plan::Delete { table, key, filter, .. } => modify(
            Node::new(format!("Delete on {}", table.name)),
            scan_node(table, key.as_deref(), filter.as_ref(), t.filter.as_deref(), shards, None, Paths::ALL),
        ),
        _ => return Err(SqlError::unsupported("EXPLAIN of this statement is not supported")),
    })
}

/// The FROM rows of a level with decorrelated EXISTS/IN subqueries: hash semi and anti joins of
/// them (the first over the FROM rows, each next over the last), each subquery's rows hashed.
fn semi_join_node(c: &crate::relation::Correlated, shards: usize) -> Result<Node> {
    use crate::dist_semi::SemiDistribution;
    let plain = crate::relation::plain_filter(c);
    // Columns qualified by their tables' names in the statement, as PostgreSQL writes a
    // join's: the outer tables take their first mention, each subquery's the next ones.
    let mut used: Vec<bool> = ALIASES.with(|a| vec![false; a.borrow().len()]);
    let outer_names = qualified_names(c.table.as_deref(), c.join.as_deref(), &mut used);
    let mut node = match (&c.table, &c.join) {
        (Some(t), _) => scan_node(t, None, plain.as_ref(), None, shards, None, Paths::ALL),
        (None, Some(j)) => join_node(j, plain.as_ref(), None, shards, None).0,
        (None, None) => Node::new("Result").est(cost::computed(1.0, 0.0)),
    };
    // The joins that run on the shards ([`crate::dist_semi`]) join one shard's part of the
    // scan, under its Gather; the others join above it.
    let dists = crate::dist_semi::choose(c, plain.as_ref(), shards);
    let on_shards = dists.iter().any(|d| *d != SemiDistribution::Coordinator);
    let mut gather: Option<Node> = None;
    if on_shards && node.title.starts_with("Gather") && node.children.len() == 1 {
        let mut g = node;
        node = g.children.remove(0);
        gather = Some(g);
    }
    let mut above: Vec<(Node, Node)> = Vec::new();
    for (sj, dist) in c.semi.iter().zip(dists) {
        let mut inner = plan_node(&sj.plan, &Texts::default(), shards)?;
        if dist == SemiDistribution::CoLocated && inner.title.starts_with("Gather") && inner.children.len() == 1 {
            // Each shard's own part of the inner table.
            inner = inner.children.remove(0);
        }
        let inner_names = match sj.plan.as_ref() {
            Plan::Select(p) => qualified_names(p.table.as_deref(), p.join.as_deref(), &mut used),
            _ => vec![],
        };
        let inner_text: Vec<String> = sj.inner_exprs.iter().map(|e| show(e, &|i| name_of(&inner_names, i))).collect();
        let conds: Vec<String> = sj
            .keys
            .iter()
            .zip(&inner_text)
            .map(|(o, i)| format!("({} = {i})", show(o, &|c| name_of(&outer_names, c))))
            .collect();
        let pair = |i: usize| {
            if i < sj.width {
                name_of(&outer_names, i)
            } else {
                inner_text.get(i - sj.width).cloned().unwrap_or_else(|| "?".into())
            }
        };
        let kind = if sj.anti { "Hash Anti Join" } else { "Hash Semi Join" };
        let title = match dist {
            SemiDistribution::Coordinator if on_shards => format!("{kind} (on the coordinating shard)"),
            SemiDistribution::Coordinator => kind.to_string(),
            _ => format!("{kind} (on every shard)"),
        };
        let mut n = Node::new(title).prop(format!(
            "Hash Cond: {}",
            if conds.len() == 1 { conds[0].clone() } else { format!("({})", conds.join(" AND ")) }
        ));
        if let Some(r) = &sj.residual {
            n = n.prop(format!("Join Filter: {}", show(r, &pair)));
        }
        if let Some(t) = &sj.not_in {
            n = n.prop(format!("NOT IN (NULL-aware): {}", show(t, &pair)));
        }
        if sj.null_aware {
            n = n.prop("NOT IN (NULL-aware): on the Hash Cond's keys");
        }
        if let Some(line) = dist.line(shards) {
            n = n.prop(line);
        }
        if dist == SemiDistribution::Coordinator && gather.is_some() {
            above.push((n, inner));
            continue;
        }
        node = semi_step(n, node, inner);
    }
    if let Some(g) = gather {
        let e = cost::gather(node.estimate(), shards);
        node = Node::new(g.title).est(e).child(node);
    }
    for (n, inner) in above {
        node = semi_step(n, node, inner);
    }
    Ok(node)
}

/// A hash semi or anti join node `n` of `outer` (its rows kept, estimated half) and `inner`
/// (hashed).
fn semi_step(n: Node, outer: Node, inner: Node) -> Node {
    let (oe, ie) = (outer.estimate(), inner.estimate());
    let mut e = cost::hash_join(oe, ie, cost::clamp_rows(oe.rows * 0.5));
    e.width = oe.width;
    n.est(e).child(outer).child(Node::new("Hash").est(ie).child(inner))
}

/// The names of the columns of a FROM row (a table's, or a join's tables' laid end to end; a
/// hidden row id is `?`), qualified by each stored table's alias ([`Texts::aliases`]): its
/// first mention not `used` yet.
fn qualified_names(table: Option<&TableDef>, join: Option<&crate::join::JoinPlan>, used: &mut [bool]) -> Vec<String> {
    let tables: Vec<&TableDef> = match (table, join) {
        (Some(t), _) => vec![t],
        (None, Some(j)) => j.inputs.iter().map(|t| t.as_ref()).collect(),
        (None, None) => vec![],
    };
    let mut out = Vec::new();
    for t in tables {
        let start = out.len();
        let rel = crate::schema::relname(&t.name);
        let alias = if crate::relation::is_derived(t) {
            None
        } else {
            ALIASES.with(|a| {
                let a = a.borrow();
                let k =
                    a.iter().enumerate().position(|(k, (r, _))| r == rel && !used.get(k).copied().unwrap_or(true))?;
                if let Some(u) = used.get_mut(k) {
                    *u = true;
                }
                Some(a[k].1.clone())
            })
        };
        out.extend(t.columns.iter().map(|c| match &alias {
            Some(a) => format!("{a}.{}", c.name),
            None => c.name.clone(),
        }));
        out.resize(start + t.row_len(), "?".to_string());
    }
    out
}

/// A node's estimate with PostgreSQL's `disable_cost` added to its startup and total
/// cost when its method is switched off (`enable_hashjoin`, `enable_nestloop`,
/// `enable_mergejoin`, `enable_hashagg`) and it was planned all the same: no alternative, or all of them off.
fn disabled(e: cost::Estimate, enabled: bool) -> cost::Estimate {
    if enabled {
        return e;
    }
    let penalty = crate::index_join::DISABLE_COST;
    cost::Estimate { startup: e.startup + penalty, total: e.total + penalty, ..e }
}

/// `INTERSECT` as PostgreSQL's SetOp node names it (`Intersect`).
fn title_case(word: &str) -> String {
    let lower = word.to_ascii_lowercase();
    let mut chars = lower.chars();
    chars.next().map_or_else(String::new, |c| c.to_ascii_uppercase().to_string() + chars.as_str())
}

fn name_of(names: &[String], i: usize) -> String {
    names.get(i).cloned().unwrap_or_else(|| "?".into())
}

/// A node whose estimate is its only child's.
fn wrap(title: String, child: Node) -> Node {
    let e = child.estimate();
    Node::new(title).est(e).child(child)
}

/// The rows `generate_series` gives for constant integer arguments (PostgreSQL 15's support
/// function estimates them the same way).
fn series_rows(args: &[Expr]) -> Option<f64> {
    let v: Option<Vec<i64>> = args
        .iter()
        .map(|a| match a {
            Expr::Const(d, _) => d.as_i64(),
            Expr::Cast(inner, ..) => match inner.as_ref() {
                Expr::Const(d, _) => d.as_i64(),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let v = v?;
    let (start, stop, step) = (*v.first()?, *v.get(1)?, v.get(2).copied().unwrap_or(1));
    if step == 0 {
        return None;
    }
    let n = (stop as f64 - start as f64) / step as f64;
    Some(if n < 0.0 { 0.0 } else { n.floor() + 1.0 })
}

/// A statement with computed relations and subqueries: its body, with the CTEs, InitPlans and
/// relations it computes first as children.
fn query_node(q: &crate::relation::QueryPlan, t: &Texts, shards: usize) -> Result<Node> {
    use crate::relation::{LinkKind, Source};
    fn link_title(l: &crate::relation::SubLink, n: usize) -> String {
        let what = match l.kind {
            LinkKind::Scalar => "value",
            LinkKind::Exists => "EXISTS",
            LinkKind::Array => "ARRAY",
            LinkKind::Any(_) | LinkKind::AnyRow(_) => "ANY",
            LinkKind::All(_) => "ALL",
            LinkKind::Keyed { .. } => "the rows to change, with correlated subqueries' values",
        };
        if l.captures.is_empty() {
            format!("InitPlan {n} (returns {what}, run once before the statement)")
        } else if crate::relation::runs_once(l) {
            format!("SubPlan {n} (returns {what}, run once grouped by the outer key, looked up per row)")
        } else {
            format!("SubPlan {n} (returns {what}, per distinct outer values, on the coordinating shard)")
        }
    }
    fn source_node(s: &Source, shards: usize, n: &mut usize) -> Result<Node> {
        Ok(match s {
            Source::Query(p) => plan_node(p, &Texts::default(), shards)?,
            Source::Values(rows) => Node::new(format!("Values Scan on \"*VALUES*\" (rows: {})", rows.len()))
                .est(cost::computed(rows.len() as f64, rows.first().map_or(0.0, |r| exprs_width(r)))),
            Source::SetOp { op, all, left, right, strategy }
                if *strategy == Strategy::Sort && !(*op == crate::relation::SetOp::Union && *all) =>
            {
                // enable_hashagg = off: both inputs appended, sorted by every column, and the
                // runs of equal rows kept or dropped (Unique for UNION, a sorted SetOp else).
                let title = match (op, all) {
                    (crate::relation::SetOp::Union, _) => "Unique".to_string(),
                    (o, a) => format!("SetOp {}{}", title_case(o.name()), if *a { " All" } else { "" }),
                };
                let (l, r) = (source_node(left, shards, n)?, source_node(right, shards, n)?);
                let (le, re) = (l.estimate(), r.estimate());
                let append = Node::new("Append")
                    .est(Estimate {
                        startup: 0.0,
                        total: le.total + re.total,
                        rows: le.rows + re.rows,
                        width: le.width.max(re.width),
                    })
                    .child(l)
                    .child(r);
                let sorted = sort_node(append, None);
                let input = sorted.estimate();
                let rows = match op {
                    crate::relation::SetOp::Union => input.rows,
                    crate::relation::SetOp::Intersect => le.rows.min(re.rows),
                    crate::relation::SetOp::Except => le.rows,
                };
                let e = Estimate {
                    startup: input.startup,
                    total: input.total + input.rows * cost::constants().cpu_operator,
                    rows,
                    width: input.width,
                };
                Node::new(title).est(e).child(sorted)
            }
            Source::SetOp { op, all, left, right, strategy } => {
                let title = match (op, all) {
                    (crate::relation::SetOp::Union, true) => "Append".to_string(),
                    (crate::relation::SetOp::Union, false) => "HashAggregate (UNION)".to_string(),
                    (o, a) => format!("HashSetOp {}{}", o.name(), if *a { " ALL" } else { "" }),
                };
                let (l, r) = (source_node(left, shards, n)?, source_node(right, shards, n)?);
                let (le, re) = (l.estimate(), r.estimate());
                let rows = match op {
                    crate::relation::SetOp::Union => le.rows + re.rows,
                    crate::relation::SetOp::Intersect => le.rows.min(re.rows),
                    crate::relation::SetOp::Except => le.rows,
                };
                let e = Estimate {
                    startup: 0.0,
                    total: le.total + re.total + (le.rows + re.rows) * cost::constants().cpu_tuple,
                    rows,
                    width: le.width.max(re.width),
                };
                Node::new(title).est(disabled(e, *strategy != Strategy::HashDisabled)).child(l).child(r)
            }
            Source::Project(input, _) => source_node(input, shards, n)?,
            Source::Recursive { name, base, step, all, .. } => {
                let (b, s) = (source_node(base, shards, n)?, source_node(step, shards, n)?);
                // PostgreSQL's guess: the base rows plus ten rounds of the recursive term.
                let (be, se) = (b.estimate(), s.estimate());
                let e = Estimate {
                    startup: 0.0,
                    total: be.total + 10.0 * se.total,
                    rows: be.rows + 10.0 * se.rows,
                    width: be.width,
                };
                Node::new(format!(
                    "Recursive Union{} ({name}, at most {} iterations)",
                    if *all { " ALL" } else { "" },
                    crate::relation::MAX_ITERATIONS
                ))
                .est(e)
                .child(b)
                .child(s)
            }
            Source::Series { args, ty, .. } => Node::new("Function Scan on generate_series")
                .est(cost::computed(series_rows(args).unwrap_or(stats::DEFAULT_ROWS), stats::type_width(*ty))),
            // PostgreSQL's prorows for unnest.
            Source::Unnest { arg, .. } => {
                let w = arg.ty().elem().map_or(32.0, stats::type_width);
                Node::new("Function Scan on unnest").est(cost::computed(100.0, w))
            }
            Source::Zip { args, .. } => {
                let w: f64 = args.iter().map(|a| a.ty().elem().map_or(32.0, stats::type_width)).sum();
                Node::new(format!("Function Scan (rows from {} arrays side by side)", args.len()))
                    .est(cost::computed(100.0, w))
            }
            Source::RowsFrom { parts, .. } => {
                let mut node = Node::new(format!("Function Scan (ROWS FROM {} functions side by side)", parts.len()));
                for (p, _) in parts {
                    node = node.child(source_node(p, shards, n)?);
                }
                node
            }
            Source::Correlated(c) => {
                let rows = match &c.table {
                    Some(t) => table_columns(t).rows,
                    None => stats::DEFAULT_ROWS,
                };
                let rows = if c.filter.is_some() { rows * stats::DEFAULT_INEQ_SEL } else { rows };
                if c.links.is_empty() {
                    // Only semi and anti joins: drawn where the query reads them.
                    return semi_join_node(c, shards);
                }
                let mut node = Node::new("Result (FROM rows with correlated subqueries, on the coordinating shard)")
                    .est(cost::computed(cost::clamp_rows(rows), 0.0));
                if !c.semi.is_empty() {
                    node = node.child(semi_join_node(c, shards)?);
                }
                if c.filter.is_some() {
                    node = node.prop("Filter: (WHERE condition)");
                }
                for l in &c.links {
                    *n += 1;
                    let title = link_title(l, *n);
                    node = node.child(wrap(title, source_node(&Source::Query(l.plan.clone()), shards, n)?));
                }
                node
            }
            // PostgreSQL's plan for a LATERAL item: a nested loop with the item inside.
            Source::Lateral(l) => {
                let (left, right) = (join_node(&l.left, None, None, shards, None).0, source_node(&l.right, shards, n)?);
                let (le, re) = (left.estimate(), right.estimate());
                let title = if l.kind == crate::join::JoinKind::Left { "Nested Loop Left Join" } else { "Nested Loop" };
                let e = Estimate {
                    startup: le.startup,
                    total: le.total + le.rows * re.total,
                    rows: cost::clamp_rows(le.rows * re.rows),
                    width: le.width + re.width,
                };
                Node::new(title).est(e).child(left).child(right)
            }
        })
    }
    let mut n = 0;
    let mut children = Vec::new();
    // Computed relations first: the body's scans of them use their estimates.
    for c in &q.ctes {
        let child = source_node(&c.source, shards, &mut n)?;
        COMPUTED.with(|m| m.borrow_mut().insert(c.def.name.clone(), child.estimate()));
        children.push(wrap(format!("CTE {}", c.label), child));
    }
    for l in &q.links {
        n += 1;
        let title = link_title(l, n);
        children.push(wrap(title, source_node(&Source::Query(l.plan.clone()), shards, &mut n)?));
    }
    for d in &q.inputs {
        let child = source_node(&d.source, shards, &mut n)?;
        COMPUTED.with(|m| m.borrow_mut().insert(d.def.name.clone(), child.estimate()));
        if matches!(&d.source, Source::Correlated(c) if c.links.is_empty()) {
            SEMI.with(|m| m.borrow_mut().insert(d.def.name.clone(), child));
            continue;
        }
        if matches!(d.source, Source::Lateral(_)) {
            LATERAL.with(|m| m.borrow_mut().insert(d.def.name.clone(), child));
            continue;
        }
        children.push(wrap(format!("Subquery {}", d.label), child));
    }
    let mut node = match &q.body {
        Plan::Select(p) => select_node(p, t, shards),
        Plan::Query(inner) => query_node(inner, t, shards)?,
        other => plan_node(other, t, shards)?,
    };
    node.children.extend(children);
    Ok(node)
}
