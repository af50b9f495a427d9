//! Reads a PL/pgSQL body (`pl_gram.y`'s statements) into a [`Function`], resolving variable
//! names as it goes: every expression and SQL statement becomes a [`Sql`] with the variables
//! it reads as `$n` parameters.

use super::scan::{tokens, Tok, Token};
use super::{
    Block, Condition, CursorDecl, FetchDirection, Function, Handler, Into, Level, OpenSource, Ref, Sql, Stmt, Target,
    Var, VarType,
};
use crate::error::{code, Result, SqlError};
use orbit_engine::table::SqlType;

struct Scope {
    label: Option<String>,
    names: Vec<(String, usize)>,
}

struct P<'a> {
    text: &'a str,
    t: Vec<Token>,
    i: usize,
    vars: Vec<Var>,
    scopes: Vec<Scope>,
    /// The loop labels around the statement being read (EXIT's label must be one).
    loops: Vec<Option<String>>,
    /// How many parameters the function has (`$n` names the first ones).
    nparams: usize,
    /// The bound cursors declared so far.
    cursors: Vec<CursorDecl>,
}

/// The variables a trigger function has after FOUND, in this order ([`super::run`] sets
/// them for each firing): NEW and OLD are records of the table's columns.
pub const TRIGGER_VARS: &[(&str, Option<SqlType>)] = &[
    ("new", None),
    ("old", None),
    ("tg_name", Some(SqlType::Name)),
    ("tg_when", Some(SqlType::Text)),
    ("tg_level", Some(SqlType::Text)),
    ("tg_op", Some(SqlType::Text)),
    ("tg_relid", Some(SqlType::Oid(orbit_engine::table::OidKind::Oid))),
    ("tg_relname", Some(SqlType::Name)),
    ("tg_table_name", Some(SqlType::Name)),
    ("tg_table_schema", Some(SqlType::Name)),
    ("tg_nargs", Some(SqlType::Int4)),
    ("tg_argv", None),
];

/// Reads `body`, a function's with parameters `params` (name, possibly empty, and type) and
/// name `fname` (the outermost block's label; `inline_code_block` for DO); a trigger
/// function (`trigger`) has [`TRIGGER_VARS`].
pub fn parse(body: &str, params: &[(String, SqlType)], fname: &str, trigger: bool) -> Result<Function> {
    parse_with_outs(body, params, &[], fname, trigger)
}

/// [`parse`] of a function with OUT parameters (or `RETURNS TABLE` columns) `outs`: variables
/// after FOUND, in order ([`Function::outs`]); one named as a parameter is that INOUT
/// parameter's variable.
pub fn parse_with_outs(
    body: &str,
    params: &[(String, SqlType)],
    outs: &[(String, SqlType)],
    fname: &str,
    trigger: bool,
) -> Result<Function> {
    let t = tokens(body)?;
    let mut p = P {
        text: body,
        t,
        i: 0,
        vars: Vec::new(),
        scopes: Vec::new(),
        loops: Vec::new(),
        nparams: params.len(),
        cursors: Vec::new(),
    };
    let mut outer = Scope { label: Some(fname.to_string()), names: Vec::new() };
    for (n, ty) in params {
        let id = p.vars.len();
        p.vars.push(Var { name: n.clone(), ty: VarType::Known(*ty), constant: false, not_null: false, default: None });
        if !n.is_empty() {
            outer.names.push((n.clone(), id));
        }
    }
    let found = p.vars.len();
    p.vars.push(Var {
        name: "found".into(),
        ty: VarType::Known(SqlType::Bool),
        constant: false,
        not_null: false,
        default: None,
    });
    outer.names.push(("found".into(), found));
    let mut out_vars = Vec::new();
    for (n, ty) in outs {
        if let Some(i) = params.iter().position(|(pn, _)| !pn.is_empty() && pn == n) {
            out_vars.push(i);
            continue;
        }
        out_vars.push(p.vars.len());
        outer.names.push((n.clone(), p.vars.len()));
        p.vars.push(Var { name: n.clone(), ty: VarType::Known(*ty), constant: false, not_null: false, default: None });
    }
    if trigger {
        let text_array = SqlType::Text.array_of().unwrap_or(SqlType::Text);
        for (n, ty) in TRIGGER_VARS {
            let ty = match (*n, ty) {
                (_, Some(t)) => VarType::Known(*t),
                ("tg_argv", None) => VarType::Known(text_array),
                _ => VarType::Record,
            };
            outer.names.push((n.to_string(), p.vars.len()));
            p.vars.push(Var { name: n.to_string(), ty, constant: false, not_null: false, default: None });
        }
    }
    p.scopes.push(outer);
    let label = p.label()?;
    if !(p.at("declare") || p.at("begin")) {
        return Err(p.near(p.i));
    }
    let block = p.block(label)?;
    p.eat_op(";");
    if p.i < p.t.len() {
        return Err(p.near(p.i));
    }
    Ok(Function { vars: p.vars, block, found, trigger, outs: out_vars, cursors: p.cursors })
}

/// Words after `rec.*` that make it an operand (the record as one value), not a list of its
/// fields.
const OPERAND_WORDS: &[&str] = &[
    "is", "in", "not", "between", "like", "ilike", "similar", "and", "or", "then", "else", "end", "when", "isnull",
    "notnull",
];

fn syntax(msg: String) -> SqlError {
    SqlError::new(code::SYNTAX_ERROR, msg)
}

fn unsupported(what: &str) -> SqlError {
    SqlError::unsupported(format!("{what} is not supported in PL/pgSQL functions yet"))
}

/// Words that end a statement list.
const ENDS: &[&str] = &["end", "else", "elsif", "elseif", "when", "exception"];

impl P<'_> {
    fn peek(&self) -> Option<&Token> {
        self.t.get(self.i)
    }

    fn at(&self, kw: &str) -> bool {
        self.peek().is_some_and(|t| t.is(kw))
    }

    fn at_op(&self, op: &str) -> bool {
        self.peek().is_some_and(|t| t.is_op(op))
    }

    fn eat(&mut self, kw: &str) -> bool {
        let yes = self.at(kw);
        self.i += yes as usize;
        yes
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let yes = self.at_op(op);
        self.i += yes as usize;
        yes
    }

    fn near(&self, i: usize) -> SqlError {
        match self.t.get(i) {
            Some(t) => syntax(format!("syntax error at or near \"{}\"", &self.text[t.start..t.end])),
            None => syntax("syntax error at end of input".into()),
        }
    }

    fn expect(&mut self, kw: &str) -> Result<()> {
        if self.eat(kw) {
            Ok(())
        } else {
            Err(self.near(self.i))
        }
    }

    fn expect_op(&mut self, op: &str) -> Result<()> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(self.near(self.i))
        }
    }

    fn line_of(&self, i: usize) -> u32 {
        let at = self.t.get(i).map_or(self.text.len(), |t| t.start);
        self.text[..at].bytes().filter(|&b| b == b'\n').count() as u32 + 1
    }

    fn name(&mut self) -> Result<String> {
        match self.peek().and_then(Token::word) {
            Some(w) => {
                let w = w.to_string();
                self.i += 1;
                Ok(w)
            }
            None => Err(self.near(self.i)),
        }
    }

    /// `<<label>>` before a block or loop.
    fn label(&mut self) -> Result<Option<String>> {
        if !self.eat_op("<<") {
            return Ok(None);
        }
        let l = self.name()?;
        self.expect_op(">>")?;
        Ok(Some(l))
    }

    fn lookup(&self, name: &str) -> Option<usize> {
        self.scopes.iter().rev().find_map(|s| s.names.iter().rev().find(|(n, _)| n == name).map(|(_, id)| *id))
    }

    /// `label.name`: the variable of that block.
    fn lookup_in(&self, label: &str, name: &str) -> Option<usize> {
        let s = self.scopes.iter().rev().find(|s| s.label.as_deref() == Some(label))?;
        s.names.iter().rev().find(|(n, _)| n == name).map(|(_, id)| *id)
    }

    fn is_record(&self, id: usize) -> bool {
        matches!(self.vars[id].ty, VarType::Record | VarType::RowType(_))
    }

    fn add_var(&mut self, v: Var) -> usize {
        let id = self.vars.len();
        if let Some(s) = self.scopes.last_mut() {
            s.names.push((v.name.clone(), id));
        }
        self.vars.push(v);
        id
    }

    /// The index of the first token from here, at nesting depth 0 (parentheses, brackets,
    /// CASE ... END), that is one of the words `stops` (or `;` when listed).
    fn find(&self, stops: &[&str]) -> Result<usize> {
        let mut depth = 0i32;
        let mut cases = 0i32;
        for j in self.i..self.t.len() {
            let t = &self.t[j];
            match &t.tok {
                Tok::Op(o) if o == "(" || o == "[" => depth += 1,
                Tok::Op(o) if o == ")" || o == "]" => depth -= 1,
                Tok::Op(o) if depth == 0 && cases == 0 && stops.contains(&o.as_str()) => return Ok(j),
                Tok::Op(o) if o == ";" && depth == 0 => return Err(self.near(j)),
                Tok::Word { text, quoted: false } if depth == 0 => {
                    if text == "case" {
                        cases += 1;
                    } else if text == "end" && cases > 0 {
                        cases -= 1;
                    } else if cases == 0 && stops.contains(&text.as_str()) {
                        return Ok(j);
                    }
                }
                _ => {}
            }
        }
        Err(self.near(self.t.len()))
    }

    /// The expression from here to the first of `stops` (which is left unread).
    fn expr_until(&mut self, stops: &[&str]) -> Result<Sql> {
        let end = self.find(stops)?;
        if end == self.i {
            return Err(self.near(end));
        }
        let s = self.compile(&[(self.i, end)], "SELECT ");
        self.i = end;
        Ok(s)
    }

    /// The SQL text of token ranges `parts` (joined by spaces) after `prefix`, with the
    /// variables they name as parameters.
    fn compile(&self, parts: &[(usize, usize)], prefix: &str) -> Sql {
        let mut text = prefix.to_string();
        let mut written = String::new();
        let mut refs: Vec<Ref> = Vec::new();
        let line = parts.first().map_or(1, |&(a, _)| self.line_of(a));
        let first = parts.first().and_then(|&(a, _)| self.t.get(a)).and_then(|t| t.word().map(str::to_string));
        let dml = first.as_deref().unwrap_or("");
        let mut param = |r: Ref, text: &mut String| {
            let n = match refs.iter().position(|x| *x == r) {
                Some(n) => n,
                None => {
                    refs.push(r);
                    refs.len() - 1
                }
            };
            text.push_str(&format!("${}", n + 1));
        };
        for (pi, &(a, b)) in parts.iter().enumerate() {
            if pi > 0 {
                text.push(' ');
                written.push(' ');
            }
            if a < b {
                written.push_str(&self.text[self.t[a].start..self.t[b - 1].end]);
            }
            let mut last = self.t.get(a).map_or(0, |t| t.start);
            // INSERT's column list and UPDATE's SET targets are no variables.
            let mut insert_columns = false;
            let mut depth = 0i32;
            let mut list_depth = -1i32;
            let mut in_set = false;
            let mut j = a;
            while j < b {
                let t = &self.t[j];
                text.push_str(&self.text[last..t.start]);
                last = t.end;
                let prev = (j > a).then(|| &self.t[j - 1]);
                let next = self.t.get(j + 1).filter(|_| j + 1 < b);
                match &t.tok {
                    Tok::Op(o) if o == "(" => {
                        if insert_columns && list_depth < 0 {
                            list_depth = depth;
                        }
                        depth += 1;
                    }
                    Tok::Op(o) if o == ")" => {
                        depth -= 1;
                        if depth == list_depth {
                            list_depth = -1;
                            insert_columns = false;
                        }
                    }
                    _ => {}
                }
                if t.is("into") && dml == "insert" {
                    insert_columns = true;
                } else if t.is("values") || t.is("select") || t.is("default") {
                    insert_columns = false;
                }
                if t.is("set") && depth == 0 {
                    in_set = true;
                } else if depth == 0 && (t.is("where") || t.is("from") || t.is("returning")) {
                    in_set = false;
                }
                match &t.tok {
                    Tok::Param(n) if *n >= 1 && self.vars.get(n - 1).is_some() && self.is_param(n - 1) => {
                        param(Ref::Var(n - 1), &mut text);
                        j += 1;
                        continue;
                    }
                    Tok::Word { text: w, .. } => {
                        let after_dot = prev.is_some_and(|p| p.is_op("."));
                        let call = next.is_some_and(|n| n.is_op("("));
                        let alias = prev.is_some_and(|p| p.is("as"));
                        // `IS [NOT] DISTINCT FROM x` names no relation.
                        let distinct_from =
                            prev.is_some_and(|p| p.is("from")) && j >= a + 2 && self.t[j - 2].is("distinct");
                        let relation = prev.is_some_and(|p| {
                            ["from", "join", "into", "update", "table", "only"].iter().any(|k| p.is(k))
                        }) && !t.is("select")
                            && !distinct_from;
                        let set_target = in_set
                            && depth == 0
                            && prev.is_some_and(|p| p.is("set") || p.is_op(","))
                            && next.is_some_and(|n| n.is_op("="));
                        let skip = after_dot
                            || call
                            || alias
                            || relation
                            || set_target
                            || (insert_columns && list_depth >= 0 && depth > list_depth);
                        if !skip
                            && next.is_some_and(|n| n.is_op("."))
                            && self.t.get(j + 2).filter(|_| j + 2 < b).is_some_and(|x| x.is_op("*"))
                        {
                            // `rec.*`: the record's fields, as `($k).*` reads them, in a list
                            // (a select list, VALUES, ROW); in an expression (`new.*::text`,
                            // `new.* IS DISTINCT FROM old.*`) the record as one value, as
                            // PostgreSQL reads `t.*` there.
                            if let Some(id) = self.lookup(w).filter(|&id| self.is_record(id)) {
                                let listed_after = |x: &Token| match &x.tok {
                                    Tok::Op(o) => o == "," || o == ")",
                                    _ => !OPERAND_WORDS.iter().any(|k| x.is(k)),
                                };
                                let listed_before = |x: &Token| {
                                    x.is_op(",")
                                        || x.is_op("(")
                                        || ["select", "distinct", "all", "row"].iter().any(|k| x.is(k))
                                };
                                let after = self.t.get(j + 3).filter(|_| j + 3 < b);
                                let whole = !prev.is_none_or(listed_before) || !after.is_none_or(listed_after);
                                if !whole {
                                    text.push('(');
                                }
                                param(Ref::Var(id), &mut text);
                                if !whole {
                                    text.push_str(").*");
                                }
                                last = self.t[j + 2].end;
                                j += 3;
                                continue;
                            }
                        }
                        if !skip {
                            // `label.var` or `rec.field`.
                            let dotted = next.is_some_and(|n| n.is_op("."))
                                && self.t.get(j + 2).filter(|_| j + 2 < b).and_then(Token::word).is_some();
                            if dotted {
                                let second = self.t[j + 2].word().unwrap_or_default().to_string();
                                if let Some(id) = self.lookup_in(w, &second) {
                                    param(Ref::Var(id), &mut text);
                                    last = self.t[j + 2].end;
                                    j += 3;
                                    continue;
                                }
                                if let Some(id) = self.lookup(w).filter(|&id| self.is_record(id)) {
                                    param(Ref::Field(id, second), &mut text);
                                    last = self.t[j + 2].end;
                                    j += 3;
                                    continue;
                                }
                            }
                            if let Some(id) = self.lookup(w) {
                                param(Ref::Var(id), &mut text);
                                j += 1;
                                continue;
                            }
                        }
                        text.push_str(&self.text[t.start..t.end]);
                    }
                    _ => text.push_str(&self.text[t.start..t.end]),
                }
                j += 1;
            }
        }
        Sql { text, refs, line, written: written.trim().to_string() }
    }

    fn is_param(&self, id: usize) -> bool {
        id < self.nparams
    }

    /// An assignment's or INTO's target: `name` or `rec.field` (a variable).
    fn target(&mut self) -> Result<Target> {
        let at = self.i;
        let name = self.name()?;
        if self.at_op(".") {
            if let Some(second) = self.t.get(self.i + 1).and_then(Token::word).map(str::to_string) {
                if let Some(id) = self.lookup_in(&name, &second) {
                    self.i += 2;
                    return Ok(Target::Var(id));
                }
                if let Some(id) = self.lookup(&name).filter(|&id| self.is_record(id)) {
                    self.i += 2;
                    return Ok(Target::Field(id, second));
                }
            }
        }
        match self.lookup(&name) {
            Some(id) => Ok(Target::Var(id)),
            None => {
                Err(syntax(format!("\"{}\" is not a known variable", &self.text[self.t[at].start..self.t[at].end])))
            }
        }
    }

    fn block(&mut self, label: Option<String>) -> Result<Block> {
        let line = self.line_of(self.i);
        self.scopes.push(Scope { label: label.clone(), names: Vec::new() });
        let r = self.block_in_scope(label, line);
        self.scopes.pop();
        r
    }

    fn block_in_scope(&mut self, label: Option<String>, line: u32) -> Result<Block> {
        let mut vars = Vec::new();
        if self.eat("declare") {
            while !self.at("begin") {
                if self.peek().is_none() {
                    return Err(self.near(self.i));
                }
                // A nested DECLARE keyword between declarations is allowed.
                if self.eat("declare") {
                    continue;
                }
                vars.extend(self.declaration()?);
            }
        }
        self.expect("begin")?;
        let body = self.stmts()?;
        let mut handlers = Vec::new();
        if self.eat("exception") {
            while self.eat("when") {
                let mut conditions = vec![self.condition()?];
                while self.eat("or") {
                    conditions.push(self.condition()?);
                }
                self.expect("then")?;
                // SQLSTATE and SQLERRM are the handler's own variables.
                self.scopes.push(Scope { label: None, names: Vec::new() });
                for n in ["sqlstate", "sqlerrm"] {
                    self.add_var(Var {
                        name: n.into(),
                        ty: VarType::Known(SqlType::Text),
                        constant: false,
                        not_null: false,
                        default: None,
                    });
                }
                let body = self.stmts();
                self.scopes.pop();
                handlers.push(Handler { conditions, body: body? });
            }
        }
        self.expect("end")?;
        if let Some(l) = self.peek().and_then(Token::word).filter(|_| !self.at_op(";")) {
            if label.as_deref() != Some(l) {
                return Err(syntax(format!(
                    "end label \"{l}\" differs from block's label \"{}\"",
                    label.as_deref().unwrap_or("")
                )));
            }
            self.i += 1;
        }
        Ok(Block { label, vars, body, handlers, line })
    }

    fn condition(&mut self) -> Result<Condition> {
        if self.eat("sqlstate") {
            let t = self.peek().cloned().ok_or_else(|| self.near(self.i))?;
            self.i += 1;
            let s = literal_text(&self.text[t.start..t.end]).ok_or_else(|| self.near(self.i - 1))?;
            return Ok(Condition::State(s));
        }
        let n = self.name()?;
        if n == "others" {
            return Ok(Condition::Others);
        }
        match condition_state(&n) {
            Some(s) => Ok(Condition::State(s.to_string())),
            None => Err(SqlError::new(code::UNDEFINED_OBJECT, format!("unrecognized exception condition \"{n}\""))),
        }
    }

    /// `name [[NO] SCROLL] CURSOR [(arg type, ...)] FOR | IS query;` after a DECLARE entry's
    /// name: the cursor variable (None, nothing read, when the entry is no cursor).
    fn cursor_declaration(&mut self, name: &str) -> Result<Option<usize>> {
        let start = self.i;
        let scroll =
            if self.eat("no") { self.eat("scroll").then_some(false) } else { self.eat("scroll").then_some(true) };
        if !self.eat("cursor") {
            self.i = start;
            return Ok(None);
        }
        // The arguments are variables of the query alone.
        self.scopes.push(Scope { label: None, names: Vec::new() });
        let mut args = Vec::new();
        if self.eat_op("(") {
            loop {
                let arg = self.name()?;
                let end = (self.i..self.t.len())
                    .find(|&j| self.t[j].is_op(",") || self.t[j].is_op(")"))
                    .ok_or_else(|| self.near(self.t.len()))?;
                if end == self.i {
                    return Err(self.near(end));
                }
                let ty = self.text[self.t[self.i].start..self.t[end - 1].end].to_string();
                self.i = end;
                args.push(self.add_var(Var {
                    name: arg,
                    ty: VarType::Written(ty),
                    constant: false,
                    not_null: false,
                    default: None,
                }));
                if !self.eat_op(",") {
                    break;
                }
            }
            self.expect_op(")")?;
        }
        if !self.eat("for") && !self.eat("is") {
            return Err(self.near(self.i));
        }
        let end = self.find(&[";"])?;
        let query = self.compile(&[(self.i, end)], "");
        self.i = end;
        self.scopes.pop();
        self.expect_op(";")?;
        let var = self.add_var(Var {
            name: name.to_string(),
            ty: VarType::Known(SqlType::Text),
            constant: false,
            not_null: false,
            default: None,
        });
        self.cursors.push(CursorDecl { var, args, query, scroll });
        Ok(Some(var))
    }

    /// A cursor variable named at the current token (read).
    fn cursor_var(&mut self) -> Result<usize> {
        let at = self.i;
        let name = self.name()?;
        match self.lookup(&name) {
            Some(id) if self.vars[id].ty == VarType::Known(SqlType::Text) => Ok(id),
            Some(_) => Err(syntax(format!("variable \"{name}\" must be of type cursor or refcursor"))),
            None => Err(self.near(at)),
        }
    }

    fn is_bound_cursor(&self, id: usize) -> bool {
        self.cursors.iter().any(|c| c.var == id)
    }

    /// A bound cursor's arguments `(expr, ...)` (none without parentheses), as many as it has.
    fn cursor_args(&mut self, id: usize) -> Result<Vec<Sql>> {
        let want = self.cursors.iter().find(|c| c.var == id).map_or(0, |c| c.args.len());
        let mut out = Vec::new();
        if self.eat_op("(") {
            loop {
                // To the next `,` or the closing `)` outside nested parentheses.
                let mut depth = 0i32;
                let mut end = None;
                for j in self.i..self.t.len() {
                    let t = &self.t[j];
                    if t.is_op("(") || t.is_op("[") {
                        depth += 1;
                    } else if (t.is_op(")") || t.is_op(",")) && depth == 0 {
                        end = Some(j);
                        break;
                    } else if t.is_op(")") || t.is_op("]") {
                        depth -= 1;
                    }
                }
                let end = end.ok_or_else(|| self.near(self.t.len()))?;
                if end == self.i {
                    return Err(self.near(end));
                }
                out.push(self.compile(&[(self.i, end)], "SELECT "));
                self.i = end;
                if !self.eat_op(",") {
                    break;
                }
            }
            self.expect_op(")")?;
        }
        let name = self.vars[id].name.clone();
        if out.len() != want {
            return Err(syntax(if want == 0 {
                format!("cursor \"{name}\" has no arguments")
            } else if out.is_empty() {
                format!("cursor \"{name}\" has arguments")
            } else if out.len() < want {
                format!("not enough arguments for cursor \"{name}\"")
            } else {
                format!("too many arguments for cursor \"{name}\"")
            }));
        }
        Ok(out)
    }

    /// A dynamic statement's `USING expr, ...` (none without USING), up to the word `end`.
    fn using_list(&mut self, end: &str) -> Result<Vec<Sql>> {
        let mut using = Vec::new();
        if self.eat("using") {
            loop {
                using.push(self.expr_until(&[",", end])?);
                if !self.eat_op(",") {
                    break;
                }
            }
        }
        Ok(using)
    }

    /// `OPEN ...;` (OPEN read).
    fn open(&mut self, line: u32) -> Result<Stmt> {
        let var = self.cursor_var()?;
        let scroll = if self.eat("no") {
            self.expect("scroll")?;
            Some(false)
        } else {
            self.eat("scroll").then_some(true)
        };
        let source = if self.is_bound_cursor(var) {
            OpenSource::Bound(self.cursor_args(var)?)
        } else {
            self.expect("for")?;
            if self.eat("execute") {
                let text = self.expr_until(&["using", ";"])?;
                OpenSource::Dynamic(text, self.using_list(";")?)
            } else {
                let end = self.find(&[";"])?;
                let q = self.compile(&[(self.i, end)], "");
                self.i = end;
                OpenSource::Query(q)
            }
        };
        self.expect_op(";")?;
        Ok(Stmt::Open { var, scroll, source, line })
    }

    /// `FETCH [direction { FROM | IN }] cursor INTO target;` or `MOVE ...;` (the first word
    /// read).
    fn fetch(&mut self, is_move: bool, line: u32) -> Result<Stmt> {
        let word = self.peek().and_then(Token::word).map(str::to_string).unwrap_or_default();
        let mut count = None;
        let op = match word.as_str() {
            "next" => Some(FetchDirection::Next),
            "prior" => Some(FetchDirection::Prior),
            "first" => Some(FetchDirection::First),
            "last" => Some(FetchDirection::Last),
            "absolute" => Some(FetchDirection::Absolute),
            "relative" => Some(FetchDirection::Relative),
            "forward" => Some(FetchDirection::Forward),
            "backward" => Some(FetchDirection::Backward),
            "all" if is_move => Some(FetchDirection::ForwardAll),
            _ => None,
        };
        let op = match op {
            Some(mut op) => {
                self.i += 1;
                let takes_count = matches!(op, FetchDirection::Absolute | FetchDirection::Relative)
                    || (matches!(op, FetchDirection::Forward | FetchDirection::Backward)
                        && !self.at("from")
                        && !self.at("in"));
                if takes_count {
                    if self.eat("all") {
                        op = if op == FetchDirection::Backward {
                            FetchDirection::BackwardAll
                        } else {
                            FetchDirection::ForwardAll
                        };
                    } else {
                        count = Some(self.expr_until(&["from", "in"])?);
                    }
                }
                if !self.eat("from") && !self.eat("in") {
                    return Err(self.near(self.i));
                }
                op
            }
            None => {
                let _ = self.eat("from") || self.eat("in");
                FetchDirection::Next
            }
        };
        let var = self.cursor_var()?;
        let into = if is_move {
            None
        } else {
            self.expect("into")?;
            Some(self.read_into()?.targets)
        };
        self.expect_op(";")?;
        Ok(Stmt::Fetch { var, op, count, into, line })
    }

    /// One DECLARE entry (its `;` read): the variable it declares (None for an ALIAS).
    fn declaration(&mut self) -> Result<Option<usize>> {
        let name = self.name()?;
        if self.eat("alias") {
            self.expect("for")?;
            let target = match self.peek().map(|t| t.tok.clone()) {
                Some(Tok::Param(n)) if n >= 1 && n <= self.vars.len() && self.is_param(n - 1) => n - 1,
                Some(Tok::Word { text, .. }) => self.lookup(&text).ok_or_else(|| self.near(self.i))?,
                _ => return Err(self.near(self.i)),
            };
            self.i += 1;
            self.expect_op(";")?;
            if let Some(s) = self.scopes.last_mut() {
                s.names.push((name, target));
            }
            return Ok(None);
        }
        if let Some(id) = self.cursor_declaration(&name)? {
            return Ok(Some(id));
        }
        let constant = self.eat("constant");
        let end = self.find(&["not", "default", "collate", ";"]).or_else(|_| self.find_assign())?;
        let end = end.min(self.find_assign().unwrap_or(end));
        if end == self.i {
            return Err(self.near(end));
        }
        let ty_text = self.text[self.t[self.i].start..self.t[end - 1].end].to_string();
        let ty = if ty_text.eq_ignore_ascii_case("record") {
            VarType::Record
        } else if ty_text.eq_ignore_ascii_case("refcursor") {
            // A cursor variable: its value is the name of the portal it opens.
            VarType::Known(SqlType::Text)
        } else if end - self.i >= 2 && self.t[end - 2].is_op("%") && self.t[end - 1].is("rowtype") {
            VarType::RowType(self.text[self.t[self.i].start..self.t[end - 3].end].to_string())
        } else {
            VarType::Written(ty_text)
        };
        self.i = end;
        if self.eat("collate") {
            self.name()?;
        }
        let not_null = if self.eat("not") {
            self.expect("null")?;
            true
        } else {
            false
        };
        let default = if self.eat("default") || self.eat_op(":=") || self.eat_op("=") {
            Some(self.expr_until(&[";"])?)
        } else {
            None
        };
        self.expect_op(";")?;
        if not_null && default.is_none() {
            return Err(syntax(format!("variable \"{name}\" must have a default value, since it's declared NOT NULL")));
        }
        if constant && default.is_none() {
            return Err(syntax(format!("variable \"{name}\" must have a default value, since it's declared CONSTANT")));
        }
        Ok(Some(self.add_var(Var { name, ty, constant, not_null, default })))
    }

    /// The next `:=` or `=` at depth 0 before `;`.
    fn find_assign(&self) -> Result<usize> {
        let mut depth = 0;
        for j in self.i..self.t.len() {
            let t = &self.t[j];
            if t.is_op("(") {
                depth += 1;
            } else if t.is_op(")") {
                depth -= 1;
            } else if depth == 0 && (t.is_op(":=") || t.is_op("=") || t.is_op(";")) {
                return Ok(j);
            }
        }
        Err(self.near(self.t.len()))
    }

    fn stmts(&mut self) -> Result<Vec<Stmt>> {
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.near(self.i)),
                Some(t) if ENDS.iter().any(|k| t.is(k)) => return Ok(out),
                Some(_) => {}
            }
            out.push(self.stmt()?);
        }
    }

    fn end_loop(&mut self, label: &Option<String>) -> Result<()> {
        self.expect("end")?;
        self.expect("loop")?;
        if let Some(l) = self.peek().and_then(Token::word).map(str::to_string) {
            if label.as_deref() != Some(l.as_str()) {
                return Err(syntax(format!(
                    "end label \"{l}\" differs from block's label \"{}\"",
                    label.as_deref().unwrap_or("")
                )));
            }
            self.i += 1;
        }
        self.expect_op(";")
    }

    fn loop_body(&mut self, label: &Option<String>) -> Result<Vec<Stmt>> {
        self.expect("loop")?;
        self.loops.push(label.clone());
        let body = self.stmts();
        self.loops.pop();
        let body = body?;
        self.end_loop(label)?;
        Ok(body)
    }

    fn stmt(&mut self) -> Result<Stmt> {
        let label = self.label()?;
        let start = self.i;
        let line = self.line_of(start);
        let first = self.peek().and_then(|t| {
            if let Tok::Word { text, quoted: false } = &t.tok {
                Some(text.clone())
            } else {
                None
            }
        });
        let first = first.unwrap_or_default();
        if label.is_some() && !["declare", "begin", "loop", "while", "for", "foreach"].contains(&first.as_str()) {
            return Err(self.near(start));
        }
        match first.as_str() {
            "declare" | "begin" => {
                let b = self.block(label)?;
                self.expect_op(";")?;
                Ok(Stmt::Block(b))
            }
            "if" => {
                self.i += 1;
                let mut arms = Vec::new();
                let cond = self.expr_until(&["then"])?;
                self.expect("then")?;
                arms.push((cond, self.stmts()?));
                let mut otherwise = Vec::new();
                loop {
                    if self.eat("elsif") || self.eat("elseif") {
                        let cond = self.expr_until(&["then"])?;
                        self.expect("then")?;
                        arms.push((cond, self.stmts()?));
                    } else if self.eat("else") {
                        otherwise = self.stmts()?;
                    } else {
                        break;
                    }
                }
                self.expect("end")?;
                self.expect("if")?;
                self.expect_op(";")?;
                Ok(Stmt::If { arms, otherwise, line })
            }
            "case" => {
                self.i += 1;
                let subject = if self.at("when") { None } else { Some(self.expr_until(&["when"])?) };
                let hidden = subject.as_ref().map(|_| {
                    let id = self.vars.len();
                    self.vars.push(Var {
                        name: String::new(),
                        ty: VarType::Known(SqlType::Unknown),
                        constant: false,
                        not_null: false,
                        default: None,
                    });
                    id
                });
                let mut arms = Vec::new();
                while self.eat("when") {
                    let mut cond = self.expr_until(&["then"])?;
                    if let Some(h) = hidden {
                        let body = cond.text.trim_start_matches("SELECT ").to_string();
                        cond.refs.push(Ref::Var(h));
                        cond.text = format!("SELECT ${} IN ({body})", cond.refs.len());
                    }
                    self.expect("then")?;
                    arms.push((cond, self.stmts()?));
                }
                let otherwise = if self.eat("else") { Some(self.stmts()?) } else { None };
                self.expect("end")?;
                self.expect("case")?;
                self.expect_op(";")?;
                Ok(Stmt::Case { subject: subject.zip(hidden), arms, otherwise, line })
            }
            "loop" => {
                let body = self.loop_body(&label)?;
                Ok(Stmt::Loop { label, body, line })
            }
            "while" => {
                self.i += 1;
                let cond = self.expr_until(&["loop"])?;
                let body = self.loop_body(&label)?;
                Ok(Stmt::While { label, cond, body, line })
            }
            "for" => self.for_loop(label, line),
            "foreach" => {
                self.i += 1;
                let target = self.target()?;
                let slice = if self.eat("slice") {
                    let t = self.peek().cloned().ok_or_else(|| self.near(self.i))?;
                    self.i += 1;
                    self.text[t.start..t.end].parse::<usize>().map_err(|_| self.near(self.i - 1))?
                } else {
                    0
                };
                self.expect("in")?;
                self.expect("array")?;
                let array = self.expr_until(&["loop"])?;
                let body = self.loop_body(&label)?;
                Ok(Stmt::Foreach { label, target, slice, array, body, line })
            }
            "exit" | "continue" => {
                self.i += 1;
                let again = first == "continue";
                let mut l = None;
                if let Some(w) = self.peek().and_then(Token::word).filter(|w| *w != "when").map(str::to_string) {
                    if !self.loops.iter().any(|x| x.as_deref() == Some(w.as_str()))
                        && !self.scopes.iter().any(|s| s.label.as_deref() == Some(w.as_str()))
                    {
                        return Err(syntax(format!(
                            "there is no label \"{w}\" attached to any block or loop enclosing this statement"
                        )));
                    }
                    l = Some(w);
                    self.i += 1;
                }
                if l.is_none() && self.loops.is_empty() {
                    return Err(syntax(if again {
                        "CONTINUE cannot be used outside a loop".into()
                    } else {
                        "EXIT cannot be used outside a loop, unless it has a label".into()
                    }));
                }
                let cond = if self.eat("when") { Some(self.expr_until(&[";"])?) } else { None };
                self.expect_op(";")?;
                Ok(Stmt::Exit { again, label: l, cond, line })
            }
            "return" => {
                self.i += 1;
                if self.eat("next") {
                    let value = if self.at_op(";") { None } else { Some(self.expr_until(&[";"])?) };
                    self.expect_op(";")?;
                    return Ok(Stmt::ReturnNext { value, line });
                }
                if self.eat("query") {
                    if self.eat("execute") {
                        let text = self.expr_until(&["using", ";"])?;
                        let using = self.using_list(";")?;
                        self.expect_op(";")?;
                        return Ok(Stmt::ReturnQuery { query: text, dynamic: Some(using), line });
                    }
                    let end = self.find(&[";"])?;
                    let query = self.compile(&[(self.i, end)], "");
                    self.i = end + 1;
                    return Ok(Stmt::ReturnQuery { query, dynamic: None, line });
                }
                let value = if self.at_op(";") { None } else { Some(self.expr_until(&[";"])?) };
                self.expect_op(";")?;
                Ok(Stmt::Return { value, line })
            }
            "raise" => self.raise(line),
            "perform" => {
                self.i += 1;
                let end = self.find(&[";"])?;
                let query = self.compile(&[(self.i, end)], "SELECT ");
                self.i = end + 1;
                Ok(Stmt::Perform { query })
            }
            "null" if self.t.get(self.i + 1).is_some_and(|t| t.is_op(";")) => {
                self.i += 2;
                Ok(Stmt::Null)
            }
            "get" => {
                self.i += 1;
                let stacked = self.eat("stacked");
                if !stacked {
                    self.eat("current");
                }
                self.expect("diagnostics")?;
                let mut items = Vec::new();
                loop {
                    let target = self.target()?;
                    if !(self.eat_op(":=") || self.eat_op("=")) {
                        return Err(self.near(self.i));
                    }
                    let item = self.name()?;
                    items.push((target, item));
                    if !self.eat_op(",") {
                        break;
                    }
                }
                self.expect_op(";")?;
                Ok(Stmt::GetDiagnostics { stacked, items, line })
            }
            "assert" => {
                self.i += 1;
                let cond = self.expr_until(&[",", ";"]).or_else(|_| self.expr_until(&[";"]))?;
                let message = if self.eat_op(",") { Some(self.expr_until(&[";"])?) } else { None };
                self.expect_op(";")?;
                Ok(Stmt::Assert { cond, message, line })
            }
            "execute" => {
                self.i += 1;
                let text = self.expr_until(&["into", "using", ";"])?;
                let mut into = None;
                let mut using = Vec::new();
                loop {
                    if self.eat("into") {
                        into = Some(self.read_into()?);
                    } else if self.eat("using") {
                        loop {
                            using.push(self.expr_until(&[",", "into", ";"]).or_else(|_| self.expr_until(&[";"]))?);
                            if !self.eat_op(",") {
                                break;
                            }
                        }
                    } else {
                        break;
                    }
                }
                self.expect_op(";")?;
                Ok(Stmt::Dynamic { text, into, using, line })
            }
            "open" => {
                self.i += 1;
                self.open(line)
            }
            "fetch" | "move" => {
                self.i += 1;
                self.fetch(first == "move", line)
            }
            "close" => {
                self.i += 1;
                let var = self.cursor_var()?;
                self.expect_op(";")?;
                Ok(Stmt::Close { var, line })
            }
            "commit" | "rollback" => Err(unsupported("transaction control")),
            _ => {
                if let Some(s) = self.assignment()? {
                    return Ok(s);
                }
                self.sql_statement(&first)
            }
        }
    }

    /// A `FOR` loop.
    fn for_loop(&mut self, label: Option<String>, line: u32) -> Result<Stmt> {
        self.i += 1;
        let names_start = self.i;
        let in_at = self.find(&["in"])?;
        self.i = in_at + 1;
        let reverse = self.eat("reverse");
        let loop_at = self.find(&["loop"])?;
        let range = (self.i..loop_at).find(|&j| self.t[j].is_op(".."));
        if let Some(dots) = range {
            if in_at != names_start + 1 {
                return Err(self.near(names_start + 1));
            }
            let name = self.t[names_start].word().ok_or_else(|| self.near(names_start))?.to_string();
            let lo = self.compile(&[(self.i, dots)], "SELECT ");
            self.i = dots + 1;
            let by = (self.i..loop_at).find(|&j| self.t[j].is("by"));
            let hi = self.compile(&[(self.i, by.unwrap_or(loop_at))], "SELECT ");
            let step = by.map(|b| self.compile(&[(b + 1, loop_at)], "SELECT "));
            self.i = loop_at;
            // The loop variable is the loop's own integer.
            self.scopes.push(Scope { label: label.clone(), names: Vec::new() });
            let var = self.add_var(Var {
                name,
                ty: VarType::Known(SqlType::Int4),
                constant: false,
                not_null: false,
                default: None,
            });
            let body = self.loop_body(&label);
            self.scopes.pop();
            return Ok(Stmt::ForInt { label, var, reverse, lo, hi, step, body: body?, line });
        }
        if reverse {
            return Err(self.near(self.i - 1));
        }
        // `FOR rec IN cursor [(args)] LOOP`: the record variable is the loop's own.
        let cursor =
            self.peek().and_then(Token::word).and_then(|w| self.lookup(w)).filter(|&id| self.is_bound_cursor(id));
        if let Some(var) = cursor {
            if in_at != names_start + 1 {
                return Err(self.near(names_start + 1));
            }
            self.i += 1;
            let args = self.cursor_args(var)?;
            if self.i != loop_at {
                return Err(self.near(self.i));
            }
            let name = self.t[names_start].word().ok_or_else(|| self.near(names_start))?.to_string();
            self.scopes.push(Scope { label: label.clone(), names: Vec::new() });
            let rec = self.add_var(Var { name, ty: VarType::Record, constant: false, not_null: false, default: None });
            let body = self.loop_body(&label);
            self.scopes.pop();
            return Ok(Stmt::ForCursor { label, target: Target::Var(rec), var, args, body: body?, line });
        }
        let save = self.i;
        self.i = names_start;
        let mut targets = Vec::new();
        while self.i < in_at {
            let at = self.i;
            let t = self.target().map_err(|_| {
                syntax("loop variable of loop over rows must be a record variable or list of scalar variables".into())
            })?;
            let _ = at;
            targets.push(t);
            if !self.eat_op(",") {
                break;
            }
        }
        self.i = save;
        let dynamic = if self.eat("execute") {
            let text = self.expr_until(&["using", "loop"])?;
            let using = self.using_list("loop")?;
            Some((text, using))
        } else {
            None
        };
        let (query, dynamic) = match dynamic {
            Some((text, using)) => (text, Some(using)),
            None => (self.compile(&[(self.i, loop_at)], ""), None),
        };
        self.i = loop_at;
        let body = self.loop_body(&label)?;
        Ok(Stmt::ForQuery { label, targets, query, dynamic, body, line })
    }

    /// `RAISE ...;`.
    fn raise(&mut self, line: u32) -> Result<Stmt> {
        self.i += 1;
        if self.eat_op(";") {
            return Ok(Stmt::Reraise { line });
        }
        let mut level = Level::Exception;
        for (w, l) in [
            ("debug", Level::Debug),
            ("log", Level::Log),
            ("info", Level::Info),
            ("notice", Level::Notice),
            ("warning", Level::Warning),
            ("exception", Level::Exception),
        ] {
            if self.eat(w) {
                level = l;
                break;
            }
        }
        let mut condition = None;
        let mut message = None;
        let mut args = Vec::new();
        match self.peek().map(|t| t.tok.clone()) {
            Some(Tok::Literal) => {
                let t = self.t[self.i].clone();
                message = Some(literal_text(&self.text[t.start..t.end]).ok_or_else(|| self.near(self.i))?);
                self.i += 1;
                while self.eat_op(",") {
                    args.push(self.expr_until(&[",", "using", ";"])?);
                }
            }
            Some(Tok::Word { text, .. }) if text == "sqlstate" => {
                self.i += 1;
                let t = self.peek().cloned().ok_or_else(|| self.near(self.i))?;
                let s = literal_text(&self.text[t.start..t.end]).ok_or_else(|| self.near(self.i))?;
                self.i += 1;
                condition = Some(s);
            }
            Some(Tok::Word { text, .. }) if text != "using" => {
                if condition_state(&text).is_none() {
                    return Err(SqlError::new(
                        code::UNDEFINED_OBJECT,
                        format!("unrecognized exception condition \"{text}\""),
                    ));
                }
                self.i += 1;
                condition = Some(text);
            }
            _ => {}
        }
        let mut options = Vec::new();
        if self.eat("using") {
            loop {
                let name = self.name()?;
                if !["message", "detail", "hint", "errcode", "column", "constraint", "datatype", "table", "schema"]
                    .contains(&name.as_str())
                {
                    return Err(syntax(format!("unrecognized RAISE statement option \"{name}\"")));
                }
                if !(self.eat_op("=") || self.eat_op(":=")) {
                    return Err(self.near(self.i));
                }
                options.push((name, self.expr_until(&[",", ";"])?));
                if !self.eat_op(",") {
                    break;
                }
            }
        }
        self.expect_op(";")?;
        if let Some(m) = &message {
            let wanted = m.matches('%').count() - 2 * m.matches("%%").count();
            if wanted > args.len() {
                return Err(syntax("too few parameters specified for RAISE".into()));
            }
            if wanted < args.len() {
                return Err(syntax("too many parameters specified for RAISE".into()));
            }
        }
        Ok(Stmt::Raise { level, condition, message, args, options, line })
    }

    /// `target := expr;` (None when the statement is no assignment).
    fn assignment(&mut self) -> Result<Option<Stmt>> {
        let Some(w) = self.peek().and_then(Token::word) else { return Ok(None) };
        let mut j = self.i + 1;
        if self.t.get(j).is_some_and(|t| t.is_op(".")) && self.t.get(j + 1).and_then(Token::word).is_some() {
            j += 2;
        }
        if self.t.get(j).is_some_and(|t| t.is_op("[")) {
            if self.lookup(w).is_some() {
                return Err(unsupported("assignment to an array element"));
            }
            return Ok(None);
        }
        if !self.t.get(j).is_some_and(|t| t.is_op(":=") || t.is_op("=")) {
            return Ok(None);
        }
        let target = self.target()?;
        if let Target::Var(id) = target {
            if self.vars[id].constant {
                return Err(SqlError::new(
                    "22005",
                    format!("variable \"{}\" is declared CONSTANT", self.vars[id].name),
                ));
            }
        }
        self.i += 1;
        let value = self.expr_until(&[";"])?;
        self.expect_op(";")?;
        Ok(Some(Stmt::Assign { target, value }))
    }

    fn read_into(&mut self) -> Result<Into> {
        let strict = self.eat("strict");
        let mut targets = vec![self.target()?];
        while self.at_op(",") && self.t.get(self.i + 1).and_then(Token::word).is_some_and(|w| self.lookup(w).is_some())
        {
            self.i += 1;
            targets.push(self.target()?);
        }
        Ok(Into { strict, targets })
    }

    /// A SQL statement to its `;`, its INTO clause (SELECT's, or after RETURNING) taken out.
    fn sql_statement(&mut self, first: &str) -> Result<Stmt> {
        let end = self.find(&[";"])?;
        let start = self.i;
        let mut into_at = None;
        let mut depth = 0;
        let mut returning = false;
        for j in start..end {
            let t = &self.t[j];
            if t.is_op("(") {
                depth += 1;
            } else if t.is_op(")") {
                depth -= 1;
            } else if depth == 0 && t.is("returning") {
                returning = true;
            } else if depth == 0 && t.is("into") {
                let select_like = matches!(first, "select" | "with") && !(j > start && self.t[j - 1].is("insert"));
                if select_like || returning {
                    into_at = Some(j);
                    break;
                }
            }
        }
        let Some(at) = into_at else {
            let sql = self.compile(&[(start, end)], "");
            self.i = end + 1;
            return Ok(Stmt::Exec { sql, into: None });
        };
        self.i = at + 1;
        let into = self.read_into()?;
        let after = self.i;
        let sql = self.compile(&[(start, at), (after, end)], "");
        self.i = end + 1;
        Ok(Stmt::Exec { sql, into: Some(into) })
    }
}

/// A string literal's value ('' for ', $$...$$ as is); None for another token.
pub(crate) fn literal_text(lit: &str) -> Option<String> {
    if let Some(rest) = lit.strip_prefix('\'') {
        return Some(rest.strip_suffix('\'')?.replace("''", "'"));
    }
    if let Some(rest) = lit.strip_prefix("E'").or_else(|| lit.strip_prefix("e'")) {
        let body = rest.strip_suffix('\'')?.replace("''", "'");
        let mut out = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some(x) => out.push(x),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
        return Some(out);
    }
    if let Some(rest) = lit.strip_prefix('$') {
        let close = rest.find('$')? + 2;
        return Some(lit.get(close..lit.len() - close)?.to_string());
    }
    None
}

/// The SQLSTATE of a condition name (PostgreSQL's plerrcodes.h, the common ones).
pub(super) fn condition_state(name: &str) -> Option<&'static str> {
    Some(match name {
        "successful_completion" => "00000",
        "warning" => "01000",
        "no_data" => "02000",
        "sql_statement_not_yet_complete" => "03000",
        "connection_exception" => "08000",
        "feature_not_supported" => "0A000",
        "invalid_transaction_initiation" => "0B000",
        "case_not_found" => "20000",
        "cardinality_violation" => "21000",
        "data_exception" => "22000",
        "array_subscript_error" => "2202E",
        "character_not_in_repertoire" => "22021",
        "datetime_field_overflow" => "22008",
        "division_by_zero" => "22012",
        "invalid_datetime_format" => "22007",
        "invalid_escape_character" => "22019",
        "invalid_parameter_value" => "22023",
        "invalid_regular_expression" => "2201B",
        "invalid_text_representation" => "22P02",
        "invalid_binary_representation" => "22P03",
        "null_value_not_allowed" => "22004",
        "numeric_value_out_of_range" => "22003",
        "string_data_right_truncation" => "22001",
        "interval_field_overflow" => "22015",
        "floating_point_exception" => "22P01",
        "invalid_json_text" => "22032",
        "integrity_constraint_violation" => "23000",
        "restrict_violation" => "23001",
        "not_null_violation" => "23502",
        "foreign_key_violation" => "23503",
        "unique_violation" => "23505",
        "check_violation" => "23514",
        "exclusion_violation" => "23P01",
        "invalid_cursor_state" => "24000",
        "invalid_transaction_state" => "25000",
        "active_sql_transaction" => "25001",
        "read_only_sql_transaction" => "25006",
        "in_failed_sql_transaction" => "25P02",
        "invalid_authorization_specification" => "28000",
        "invalid_cursor_name" => "34000",
        "transaction_rollback" => "40000",
        "serialization_failure" => "40001",
        "deadlock_detected" => "40P01",
        "syntax_error_or_access_rule_violation" => "42000",
        "syntax_error" => "42601",
        "insufficient_privilege" => "42501",
        "undefined_column" => "42703",
        "undefined_function" => "42883",
        "undefined_table" => "42P01",
        "undefined_parameter" => "42P02",
        "undefined_object" => "42704",
        "duplicate_column" => "42701",
        "duplicate_cursor" => "42P03",
        "duplicate_database" => "42P04",
        "duplicate_function" => "42723",
        "duplicate_schema" => "42P06",
        "duplicate_table" => "42P07",
        "duplicate_object" => "42710",
        "ambiguous_column" => "42702",
        "ambiguous_function" => "42725",
        "datatype_mismatch" => "42804",
        "wrong_object_type" => "42809",
        "invalid_column_reference" => "42P10",
        "invalid_function_definition" => "42P13",
        "invalid_schema_name" => "3F000",
        "insufficient_resources" => "53000",
        "out_of_memory" => "53200",
        "program_limit_exceeded" => "54000",
        "statement_too_complex" => "54001",
        "object_not_in_prerequisite_state" => "55000",
        "object_in_use" => "55006",
        "lock_not_available" => "55P03",
        "operator_intervention" => "57000",
        "query_canceled" => "57014",
        "system_error" => "58000",
        "plpgsql_error" => "P0000",
        "raise_exception" => "P0001",
        "no_data_found" => "P0002",
        "too_many_rows" => "P0003",
        "assert_failure" => "P0004",
        "internal_error" => "XX000",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_become_parameters() {
        let f = parse(
            "DECLARE t int := a + 1; r record; BEGIN\n  SELECT x INTO r FROM tab WHERE x > t;\n  t := r.x * $1;\n  RETURN t; END",
            &[("a".into(), SqlType::Int4)],
            "f",
            false,
        )
        .unwrap();
        let Stmt::Exec { sql, into: Some(into) } = &f.block.body[0] else { panic!("{:?}", f.block.body[0]) };
        assert_eq!(sql.text, "SELECT x FROM tab WHERE x > $1");
        assert_eq!(into.targets, vec![Target::Var(3)]);
        assert_eq!(sql.line, 2);
        let Stmt::Assign { value, .. } = &f.block.body[1] else { panic!() };
        assert_eq!(value.text, "SELECT $1 * $2");
        assert_eq!(value.refs, vec![Ref::Field(3, "x".into()), Ref::Var(0)]);
    }

    #[test]
    fn insert_columns_and_set_targets_stay_names() {
        let f = parse(
            "DECLARE a int := 1; BEGIN INSERT INTO t (a) VALUES (a); UPDATE t SET a = a + 1 WHERE a = 2; END",
            &[],
            "f",
            false,
        )
        .unwrap();
        let texts: Vec<String> = f
            .block
            .body
            .iter()
            .map(|s| match s {
                Stmt::Exec { sql, .. } => sql.text.clone(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(texts, ["INSERT INTO t (a) VALUES ($1)", "UPDATE t SET a = $1 + 1 WHERE $1 = 2"]);
    }

    #[test]
    fn rowtype() {
        let f = parse("DECLARE r u%ROWTYPE; BEGIN END", &[], "f", false).unwrap();
        assert_eq!(f.vars[1].ty, VarType::RowType("u".into()));
    }

    #[test]
    fn syntax_errors_name_the_token() {
        let e = parse("BEGIN IF THEN END IF; END", &[], "f", false).unwrap_err();
        assert_eq!(e.message, "syntax error at or near \"THEN\"");
        let e = parse("BEGIN RETURN 1 END", &[], "f", false).unwrap_err();
        assert_eq!(e.message, "syntax error at end of input");
    }
}
