//! EXPLAIN: the plan a statement runs, as PostgreSQL draws it (one `QUERY PLAN` text column,
//! child nodes under `->`), with where each part runs: a primary-key lookup on the one shard
//! the key hashes to, a scan on every shard in parallel under a Gather that merges on the
//! coordinating shard, aggregates split into a per-shard partial and a final step. Orbit has
//! no cost model yet, so nodes carry no cost estimates. EXPLAIN ANALYZE runs the statement (in
//! the session's transaction, as PostgreSQL does) and adds the actual rows and time.

use crate::bind::{Distinct, OnConflict, Plan, SelectPlan};
use crate::error::{Result, SqlError};
use crate::expr::Expr;
use orbit_engine::table::{key, Datum};
use sqlparser::ast;

/// One node: its title, its property lines, its children.
struct Node {
    title: String,
    props: Vec<String>,
    children: Vec<Node>,
}

impl Node {
    fn new(title: impl Into<String>) -> Node {
        Node { title: title.into(), props: Vec::new(), children: Vec::new() }
    }

    fn prop(mut self, p: impl Into<String>) -> Node {
        self.props.push(p.into());
        self
    }

    fn child(mut self, c: Node) -> Node {
        self.children.push(c);
        self
    }

    fn draw(&self, depth: usize, out: &mut Vec<String>) {
        let (head, body) = if depth == 0 {
            (String::new(), "  ".to_string())
        } else {
            let pad = " ".repeat(6 * (depth - 1) + 2);
            (format!("{pad}->  "), " ".repeat(6 * depth + 2))
        };
        out.push(format!("{head}{}", self.title));
        for p in &self.props {
            out.push(format!("{body}{p}"));
        }
        for c in &self.children {
            c.draw(depth + 1, out);
        }
    }
}

/// The SQL text of the parts of a statement EXPLAIN prints (the bound plan keeps no names).
#[derive(Default)]
pub struct Texts {
    pub filter: Option<String>,
    pub order_by: Option<String>,
    pub group_by: Option<String>,
}

impl Texts {
    pub fn of(stmt: &ast::Statement) -> Texts {
        let mut t = Texts::default();
        match stmt {
            ast::Statement::Query(q) => {
                if let ast::SetExpr::Select(s) = q.body.as_ref() {
                    t.filter = s.selection.as_ref().map(|e| format!("({e})"));
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

fn scan_node(
    table: &orbit_engine::table::TableDef,
    key: Option<&[Expr]>,
    filter_expr: Option<&Expr>,
    filter: Option<&str>,
    shards: usize,
    partial: Option<Node>,
) -> Node {
    if crate::relation::is_derived(table) {
        let mut n = Node::new("Subquery Scan (rows computed first, on the coordinating shard)");
        if let Some(f) = filter {
            n = n.prop(format!("Filter: {f}"));
        }
        return match partial {
            Some(p) => p.child(n),
            None => n,
        };
    }
    if crate::catalog::is_view(table) {
        let mut n = Node::new(format!("Seq Scan on {} (system view, built when read)", table.name));
        if let Some(f) = filter {
            n = n.prop(format!("Filter: {f}"));
        }
        return match partial {
            Some(p) => p.child(n),
            None => n,
        };
    }
    if let Some(k) = key {
        let mut n = Node::new(format!("Index Scan using {} on {}", table.pk_name, table.name));
        if let Some(f) = filter {
            n = n.prop(format!("Index Cond: {f}"));
        }
        n = n.prop(match key_shard(k, shards) {
            Some(s) => format!("Shard: {s} (of {shards}, the one the key hashes to)"),
            None => format!("Shard: the one the key hashes to (of {shards})"),
        });
        return match partial {
            Some(p) => p.child(n),
            None => n,
        };
    }
    if let Some(line) = filter_expr.and_then(|f| crate::exec::index_scan::describe(table, f)) {
        let mut n = Node::new(line);
        if let Some(f) = filter {
            n = n.prop(format!("Filter: {f}"));
        }
        return match partial {
            Some(p) => p.child(n),
            None => n,
        };
    }
    let mut seq = Node::new(format!("Seq Scan on {}", table.name));
    if let Some(f) = filter {
        seq = seq.prop(format!("Filter: {f}"));
    }
    let per_shard = match partial {
        Some(p) => p.child(seq),
        None => seq,
    };
    Node::new(format!("Gather (shards: {shards}, in parallel)")).child(per_shard)
}

fn select_node(p: &SelectPlan, t: &Texts, shards: usize) -> Node {
    let aggregated = p.grouped;
    let partial = aggregated.then(|| {
        let mut n = Node::new(if p.group_by.is_empty() { "Partial Aggregate" } else { "Partial HashAggregate" });
        if let Some(g) = &t.group_by {
            n = n.prop(format!("Group Key: {g}"));
        }
        n
    });
    let mut node = match &p.table {
        None if p.join.is_some() => {
            let j = p.join.as_deref().expect("checked");
            let scan = |t: &orbit_engine::table::TableDef| {
                if crate::relation::is_derived(t) {
                    Node::new("Subquery Scan (rows computed first, on the coordinating shard)")
                } else if crate::catalog::is_view(t) {
                    Node::new(format!("Seq Scan on {} (system view, built when read)", t.name))
                } else {
                    Node::new(format!("Gather (shards: {shards}, in parallel)"))
                        .child(Node::new(format!("Seq Scan on {}", t.name)))
                }
            };
            let mut acc = j.inputs.first().map(|t| scan(t)).unwrap_or_else(|| Node::new("Result"));
            for (step, t) in j.steps.iter().zip(j.inputs.iter().skip(1)) {
                let kind = match step.kind {
                    crate::join::JoinKind::Inner => "Inner",
                    crate::join::JoinKind::Left => "Left",
                    crate::join::JoinKind::Right => "Right",
                    crate::join::JoinKind::Full => "Full",
                    crate::join::JoinKind::Cross => "Cross",
                };
                let title = if step.eq.is_empty() {
                    format!("Nested Loop ({kind} Join, on the coordinating shard)")
                } else {
                    format!("Hash {kind} Join (on the coordinating shard)")
                };
                acc = Node::new(title).child(acc).child(scan(t));
            }
            if let Some(f) = &t.filter {
                acc = acc.prop(format!("Filter: {f}"));
            }
            acc
        }
        None => {
            let mut n = Node::new("Result");
            if let Some(f) = &t.filter {
                n = n.prop(format!("One-Time Filter: {f}"));
            }
            n
        }
        Some(table) => scan_node(table, p.key.as_deref(), p.filter.as_ref(), t.filter.as_deref(), shards, partial),
    };
    if aggregated {
        let title = match (p.join.is_some(), p.group_by.is_empty()) {
            (true, true) => "Aggregate",
            (true, false) => "HashAggregate",
            (false, true) => "Finalize Aggregate",
            (false, false) => "Finalize HashAggregate",
        };
        let mut fin = Node::new(title);
        if let Some(g) = &t.group_by {
            fin = fin.prop(format!("Group Key: {g}"));
        }
        if p.having.is_some() {
            fin = fin.prop("Filter: (HAVING condition)");
        }
        node = fin.child(node);
    }
    if !p.windows.is_empty() {
        node = Node::new(format!("WindowAgg (calls: {}, on the coordinating shard)", p.windows.len())).child(node);
    }
    if !matches!(p.distinct, Distinct::None) {
        node = Node::new("Unique").child(node);
    }
    if !p.order_by.is_empty() {
        let mut s = Node::new("Sort");
        if let Some(o) = &t.order_by {
            s = s.prop(format!("Sort Key: {o}"));
        }
        node = s.child(node);
    }
    if p.limit.is_some() || p.offset.is_some() {
        node = Node::new("Limit").child(node);
    }
    node
}

/// The plan's lines, top node first.
pub fn lines(plan: &Plan, t: &Texts, shards: usize) -> Result<Vec<String>> {
    let node = match plan {
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
            match select {
                Some(s) => n.child(select_node(&s.0, &Texts::default(), shards)),
                None if rows.len() == 1 => n.child(Node::new("Result")),
                None => n.child(Node::new(format!("Values Scan on \"*VALUES*\" (rows: {})", rows.len()))),
            }
        }
        Plan::Update { table, join: Some(j), .. } | Plan::Delete { table, join: Some(j), .. } => {
            let what = if matches!(plan, Plan::Update { .. }) { "Update" } else { "Delete" };
            let names: Vec<&str> = j.inputs.iter().map(|t| t.name.as_str()).collect();
            let mut join = Node::new(format!("Join of {} (on the coordinating shard)", names.join(", ")));
            if let Some(f) = &t.filter {
                join = join.prop(format!("Filter: {f}"));
            }
            Node::new(format!("{what} on {}", table.name)).child(join)
        }
        Plan::Update { table, key, filter, .. } => Node::new(format!("Update on {}", table.name)).child(scan_node(
            table,
            key.as_deref(),
            filter.as_ref(),
            t.filter.as_deref(),
            shards,
            None,
        )),
        Plan::Delete { table, key, filter, .. } => Node::new(format!("Delete on {}", table.name)).child(scan_node(
            table,
            key.as_deref(),
            filter.as_ref(),
            t.filter.as_deref(),
            shards,
            None,
        )),
        _ => return Err(SqlError::unsupported("EXPLAIN of this statement is not supported")),
    };
    let mut out = Vec::new();
    node.draw(0, &mut out);
    Ok(out)
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
            LinkKind::Any(_) => "ANY",
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
            Source::Query(p) => {
                let lines = lines(p, &Texts::default(), shards)?;
                let mut it = lines.into_iter();
                let mut node = Node::new(it.next().unwrap_or_default());
                for l in it {
                    node = node.prop(l.trim_start().to_string());
                }
                node
            }
            Source::Values(rows) => Node::new(format!("Values Scan on \"*VALUES*\" (rows: {})", rows.len())),
            Source::SetOp { op, all, left, right } => {
                let title = match (op, all) {
                    (crate::relation::SetOp::Union, true) => "Append".to_string(),
                    (crate::relation::SetOp::Union, false) => "HashAggregate (UNION)".to_string(),
                    (o, a) => format!("HashSetOp {}{}", o.name(), if *a { " ALL" } else { "" }),
                };
                Node::new(title).child(source_node(left, shards, n)?).child(source_node(right, shards, n)?)
            }
            Source::Project(input, _) => source_node(input, shards, n)?,
            Source::Recursive { name, base, step, all } => Node::new(format!(
                "Recursive Union{} ({name}, at most {} iterations)",
                if *all { " ALL" } else { "" },
                crate::relation::MAX_ITERATIONS
            ))
            .child(source_node(base, shards, n)?)
            .child(source_node(step, shards, n)?),
            Source::Series { .. } => Node::new("Function Scan on generate_series"),
            Source::Unnest { .. } => Node::new("Function Scan on unnest"),
            Source::Correlated(c) => {
                let mut node = Node::new("Result (FROM rows with correlated subqueries, on the coordinating shard)");
                if c.filter.is_some() {
                    node = node.prop("Filter: (WHERE condition)");
                }
                for l in &c.links {
                    *n += 1;
                    node = node.child(Node::new(link_title(l, *n)).child(source_node(
                        &Source::Query(l.plan.clone()),
                        shards,
                        n,
                    )?));
                }
                node
            }
        })
    }
    let mut node = match &q.body {
        Plan::Select(p) => select_node(p, t, shards),
        Plan::Query(inner) => query_node(inner, t, shards)?,
        other => {
            let lines = lines(other, t, shards)?;
            let mut it = lines.into_iter();
            let mut node = Node::new(it.next().unwrap_or_default());
            for l in it {
                node = node.prop(l.trim_start().to_string());
            }
            node
        }
    };
    let mut n = 0;
    for c in &q.ctes {
        node = node.child(Node::new(format!("CTE {}", c.label)).child(source_node(&c.source, shards, &mut n)?));
    }
    for l in &q.links {
        n += 1;
        node =
            node.child(Node::new(link_title(l, n)).child(source_node(&Source::Query(l.plan.clone()), shards, &mut n)?));
    }
    for d in &q.inputs {
        node = node.child(Node::new(format!("Subquery {}", d.label)).child(source_node(&d.source, shards, &mut n)?));
    }
    Ok(node)
}
