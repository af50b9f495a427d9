//! `EXPLAIN (FORMAT JSON | YAML)`: the plan tree EXPLAIN draws as text, written as PostgreSQL's
//! ExplainPrintPlan writes JSON (YAML: the same fields as a YAML mapping, strings quoted as
//! PostgreSQL's escape_yaml quotes them) — an array holding one object whose `"Plan"` is the top node;
//! each node with `"Node Type"`, `"Parent Relationship"` (below the top), `"Parallel Aware"`,
//! `"Async Capable"`, the relation it reads or writes (`"Relation Name"`, `"Alias"`, `"Index
//! Name"`, `"Operation"`), `"Join Type"`, an aggregate's `"Strategy"` and `"Partial Mode"`,
//! its costs (`"Startup Cost"`, `"Total Cost"`, `"Plan Rows"`, `"Plan Width"`; not with COSTS
//! OFF), `"Actual Rows"` under ANALYZE, then its text properties (`Filter: ...` as
//! `"Filter": "..."`; `Sort Key` and `Group Key` as arrays), and its children as `"Plans"`.
//! What Orbit's text adds to a node's title in parentheses (where it runs: `on every shard`,
//! `shards: 2, in parallel`) and its property lines that are no `Key: value` pair are kept
//! under `"Orbit Detail"`, a key PostgreSQL does not write.

use super::{Node, Options};

/// A JSON string literal (json.c's escape_json, as PostgreSQL's EXPLAIN writes them).
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    crate::json::write_string(&mut out, s);
    out
}

/// A property list's items (`a.v, lower(b)`), split at the commas outside parentheses.
fn items(list: &str) -> Vec<String> {
    let (mut out, mut depth, mut quoted, mut cur) = (Vec::new(), 0i32, false, String::new());
    for c in list.chars() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// The node type and the fields a node's title gives, PostgreSQL's names for them.
fn title_fields(title: &str) -> (String, Vec<(&'static str, String)>) {
    // `Name (detail)`: the detail is Orbit's.
    let (head, detail) = match title.find(" (") {
        Some(i) if title.ends_with(')') => (&title[..i], Some(title[i + 2..title.len() - 1].to_string())),
        _ => (title, None),
    };
    let mut fields: Vec<(&'static str, String)> = Vec::new();
    let q = string;
    let (kind, on) = match head.split_once(" on ") {
        Some((k, rel)) => (k, Some(rel)),
        None => (head, None),
    };
    let mut node = kind.to_string();
    if matches!(kind, "Insert" | "Update" | "Delete" | "Merge") {
        node = "ModifyTable".into();
        fields.push(("Operation", q(kind)));
    }
    if let Some((scan, index)) = kind.split_once(" using ") {
        node = scan.to_string();
        fields.push(("Scan Direction", q("Forward")));
        fields.push(("Index Name", q(index)));
    }
    // Joins: `Hash Left Join`, `Merge Join`, `Nested Loop`, `Hash Inner Join`.
    for base in ["Hash", "Merge"] {
        if let Some(kind) = node.strip_prefix(base).and_then(|k| k.strip_suffix("Join")).map(str::trim) {
            let join = if kind.is_empty() { "Inner" } else { kind };
            fields.push(("Join Type", q(join)));
            node = format!("{base} Join");
        }
    }
    if node == "Nested Loop" {
        // Orbit's detail names the join's kind: `Left Join, on the coordinating shard`.
        let join = detail
            .as_deref()
            .and_then(|d| d.split(',').next())
            .and_then(|k| k.trim().strip_suffix(" Join"))
            .unwrap_or("Inner");
        fields.push(("Join Type", q(join)));
    }
    // Aggregates: `[Partial | Finalize] HashAggregate | GroupAggregate | Aggregate`.
    let (mode, agg) = match node.split_once(' ') {
        Some((m @ ("Partial" | "Finalize"), rest)) => (m.to_string(), rest.to_string()),
        _ => ("Simple".to_string(), node.clone()),
    };
    let strategy = match agg.as_str() {
        "HashAggregate" => Some("Hashed"),
        "GroupAggregate" => Some("Sorted"),
        "MixedAggregate" => Some("Mixed"),
        "Aggregate" => Some("Plain"),
        _ => None,
    };
    if let Some(s) = strategy {
        node = "Aggregate".into();
        fields.push(("Strategy", q(s)));
        fields.push(("Partial Mode", q(&mode)));
    }
    if let Some(rel) = on {
        let (name, alias) = match rel.rsplit_once(' ') {
            Some((n, a)) if !n.ends_with(',') => (n, a),
            _ => (rel, rel),
        };
        let key = match node.as_str() {
            "Function Scan" => "Function Name",
            "CTE Scan" => "CTE Name",
            "Values Scan" | "Subquery Scan" => "",
            _ => "Relation Name",
        };
        if !key.is_empty() {
            fields.push((key, q(name.trim_matches('"'))));
        }
        fields.push(("Alias", q(alias.trim_matches('"'))));
    }
    if let Some(d) = detail {
        fields.push(("Orbit Detail", q(&d)));
    }
    (node, fields)
}

/// A field's value: a scalar as written (a number, a boolean, a quoted string) or a list of
/// quoted strings.
enum Value {
    Scalar(String),
    List(Vec<String>),
}

impl Node {
    /// This node's node type and fields, in PostgreSQL's order (`relationship`: to its parent).
    fn fields(&self, relationship: Option<&str>, opts: Options) -> (String, Vec<(String, Value)>) {
        let s = |v: String| Value::Scalar(v);
        let (node, title_fields) = title_fields(&self.title);
        let mut fields: Vec<(String, Value)> = vec![("Node Type".into(), s(string(&node)))];
        if let Some(r) = relationship {
            fields.push(("Parent Relationship".into(), s(string(r))));
        }
        fields.push(("Parallel Aware".into(), s("false".into())));
        fields.push(("Async Capable".into(), s("false".into())));
        let (details, named): (Vec<_>, Vec<_>) = title_fields.into_iter().partition(|(k, _)| *k == "Orbit Detail");
        fields.extend(named.into_iter().map(|(k, v)| (k.to_string(), s(v))));
        if let (Some(e), true) = (&self.est, opts.costs) {
            fields.push(("Startup Cost".into(), s(format!("{:.2}", e.startup))));
            fields.push(("Total Cost".into(), s(format!("{:.2}", e.total))));
            fields.push(("Plan Rows".into(), s(format!("{}", e.rows.max(0.0).round() as u64))));
            fields.push(("Plan Width".into(), s(format!("{}", e.width.max(0.0).round() as u64))));
        }
        if let Some(n) = self.actual {
            fields.push(("Actual Rows".into(), s(n.to_string())));
            fields.push(("Actual Loops".into(), s("1".into())));
        }
        let mut notes: Vec<String> = details.into_iter().map(|(_, v)| v).collect();
        for p in &self.props {
            match p.split_once(": ") {
                Some((k, v)) if !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == ' ') => {
                    let value = match k {
                        "Sort Key" | "Group Key" | "Presorted Key" | "Output" => {
                            Value::List(items(v).iter().map(|i| string(i)).collect())
                        }
                        _ => s(string(v)),
                    };
                    fields.push((k.to_string(), value));
                }
                _ => notes.push(string(p)),
            }
        }
        if !notes.is_empty() {
            fields.push(("Orbit Detail".into(), Value::List(notes)));
        }
        (node, fields)
    }

    /// The children's relationships to this node (`node`: its node type).
    fn relationships(&self, node: &str) -> impl Iterator<Item = (&Node, &'static str)> {
        let member = matches!(node, "Append" | "Merge Append");
        self.children.iter().enumerate().map(move |(i, c)| {
            let rel = match (member, i) {
                (true, _) => "Member",
                (false, 0) => "Outer",
                (false, _) => "Inner",
            };
            (c, rel)
        })
    }

    /// This node as a JSON object at `indent` spaces.
    fn json(&self, indent: usize, relationship: Option<&str>, opts: Options, out: &mut String) {
        let pad = " ".repeat(indent);
        let inner = " ".repeat(indent + 2);
        let (node, fields) = self.fields(relationship, opts);
        out.push_str(&format!("{pad}{{\n"));
        let last = fields.len() - 1;
        for (i, (k, v)) in fields.iter().enumerate() {
            let comma = if i < last || !self.children.is_empty() { "," } else { "" };
            let v = match v {
                Value::Scalar(v) => v.clone(),
                Value::List(l) => format!("[{}]", l.join(", ")),
            };
            out.push_str(&format!("{inner}{}: {v}{comma}\n", string(k)));
        }
        if !self.children.is_empty() {
            out.push_str(&format!("{inner}\"Plans\": [\n"));
            let n = self.children.len();
            for (i, (c, rel)) in self.relationships(&node).enumerate() {
                c.json(indent + 4, Some(rel), opts, out);
                out.push_str(if i + 1 < n { ",\n" } else { "\n" });
            }
            out.push_str(&format!("{inner}]\n"));
        }
        out.push_str(&format!("{pad}}}"));
    }

    /// This node as YAML mapping lines with keys at `indent` spaces; `item`: it is an element
    /// of a list, so its first line starts with `- ` two spaces before the keys.
    fn yaml(&self, indent: usize, item: bool, relationship: Option<&str>, opts: Options, out: &mut String) {
        let pad = " ".repeat(indent);
        let (node, fields) = self.fields(relationship, opts);
        for (i, (k, v)) in fields.iter().enumerate() {
            let lead = if i == 0 && item { format!("{}- ", " ".repeat(indent - 2)) } else { pad.clone() };
            match v {
                Value::Scalar(v) => out.push_str(&format!("{lead}{k}: {v}\n")),
                Value::List(l) => {
                    out.push_str(&format!("{lead}{k}: \n"));
                    for x in l {
                        out.push_str(&format!("{pad}  - {x}\n"));
                    }
                }
            }
        }
        if !self.children.is_empty() {
            out.push_str(&format!("{pad}Plans: \n"));
            for (c, rel) in self.relationships(&node) {
                c.yaml(indent + 4, true, Some(rel), opts, out);
            }
        }
    }
}

/// The whole JSON document: `[ { "Plan": ..., "Execution Time": ms } ]` (the time under
/// ANALYZE).
pub(super) fn document(node: &Node, opts: Options, execution_ms: Option<f64>) -> String {
    let mut plan = String::new();
    node.json(4, None, opts, &mut plan);
    let plan = plan.trim_start();
    let time = execution_ms.map_or(String::new(), |t| format!(",\n    \"Execution Time\": {t:.3}"));
    format!("[\n  {{\n    \"Plan\": {plan}{time}\n  }}\n]")
}

/// The YAML document: `- Plan: ` and the top node, then `Execution Time: ms` under ANALYZE.
pub(super) fn yaml_document(node: &Node, opts: Options, execution_ms: Option<f64>) -> String {
    let mut out = String::from("- Plan: \n");
    node.yaml(4, false, None, opts, &mut out);
    if let Some(t) = execution_ms {
        out.push_str(&format!("  Execution Time: {t:.3}\n"));
    }
    out.trim_end_matches('\n').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_name_nodes_as_postgresql_does() {
        let (n, f) = title_fields("Index Scan using t_pkey on t");
        assert_eq!(n, "Index Scan");
        assert!(f.contains(&("Index Name", "\"t_pkey\"".into())) && f.contains(&("Relation Name", "\"t\"".into())));
        let (n, f) = title_fields("Hash Left Join (on every shard)");
        assert_eq!(n, "Hash Join");
        assert!(f.contains(&("Join Type", "\"Left\"".into())));
        assert!(f.contains(&("Orbit Detail", "\"on every shard\"".into())));
        let (n, f) = title_fields("Finalize HashAggregate");
        assert_eq!(n, "Aggregate");
        assert!(f.contains(&("Strategy", "\"Hashed\"".into())) && f.contains(&("Partial Mode", "\"Finalize\"".into())));
        let (n, f) = title_fields("Insert on t");
        assert_eq!(n, "ModifyTable");
        assert!(f.contains(&("Operation", "\"Insert\"".into())));
        let (n, f) = title_fields("Nested Loop (Left Join, on the coordinating shard)");
        assert_eq!(n, "Nested Loop");
        assert!(f.contains(&("Join Type", "\"Left\"".into())));
        assert_eq!(items("a.v, lower(b, c), 'x,y'"), ["a.v", "lower(b, c)", "'x,y'"]);
        assert_eq!(string("a\"b\\\n"), "\"a\\\"b\\\\\\n\"");
    }
}
