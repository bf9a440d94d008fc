//! Declarative classes and Core `Table(...)` calls -> [`Table`]s, as SQLAlchemy builds them.
//!
//! Input: the model candidates of a [`Project`] through the [`Evaluator`]. Output: one
//! [`Table`] per mapped class with its own table and per `Table(...)` call, with
//! single-table-inheritance columns added to the parent's table, mixin and abstract
//! columns copied, constraints named by the metadata's naming convention; plus
//! diagnostics for everything that cannot be determined statically. A table touched by
//! such a diagnostic is still reported (for the listing), but discovery as a whole
//! fails, so no caller ever sees a partial schema.

mod classes;
mod columns;
mod export;
mod tables;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::{Ranged, TextSize};

use super::eval::{
    self, Call, ClassRef, ColumnRef, Evaluator, Locals, Site, Value, find_class_attr, is_classvar,
    is_sa, last, metadata_of, root,
};
use super::naming::Convention;
use super::types::{SqlModelField, TypeProblem, Types};
use super::unit::{
    self, ColumnDraft, Contribution, IndexColumn, NamedDraft, Pos, TableDraft, TargetDraft,
    UnitOutput,
};
use crate::diagnostic::Diagnostic;
use crate::discovery::SourceLocation;
use crate::schema::{Column, ColumnType, Table};

const IMPORT_HINT: &str = "Spell it with literals and SQLAlchemy names, or use the `sqlalchemy-import` backend (`BACKENDS = \"sqlalchemy-import\"`), which imports the models";

/// A table found in the models, with where it was defined.
#[derive(Debug, Clone)]
pub struct Found {
    pub table: Table,
    pub source: SourceLocation,
}

/// The `MetaData` a table belongs to.
#[derive(Debug)]
struct Meta {
    convention: Convention,
    schema: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Declarative,
    Flask,
    SqlModel,
}

/// What a declarative hierarchy shares.
#[derive(Debug, Clone)]
struct Ctx<'p> {
    meta: Rc<Meta>,
    flavor: Flavor,
    annotation_map: Rc<Vec<(Value<'p>, Value<'p>)>>,
}

#[derive(Debug, Clone)]
enum Role<'p> {
    /// Not part of a declarative hierarchy: a mixin, an enum, anything else.
    Plain,
    /// `class Base(DeclarativeBase)`.
    Base(Ctx<'p>),
    /// `__abstract__ = True`, or a SQLModel class without `table=True`.
    Abstract(Ctx<'p>),
    /// Mapped to `table` (its own, or its parent's for single-table inheritance).
    Mapped(Ctx<'p>, usize),
    /// Under a base but not mappable; already diagnosed.
    Failed,
}

impl<'p> Role<'p> {
    fn ctx(&self) -> Option<&Ctx<'p>> {
        match self {
            Role::Base(c) | Role::Abstract(c) | Role::Mapped(c, _) => Some(c),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
enum Target<'p> {
    /// `"users.id"` or `"auth.users.id"`
    Text(String),
    Ref(Rc<ColumnRef<'p>>),
}

#[derive(Debug)]
struct FkDraft<'p> {
    columns: Vec<String>,
    targets: Vec<Target<'p>>,
    name: Option<String>,
    ondelete: Option<String>,
    onupdate: Option<String>,
    deferrable: Option<bool>,
    initially: Option<String>,
    at: (usize, TextSize),
}

#[derive(Debug)]
enum IndexCol {
    Key(String),
    Expr(String),
}

#[derive(Debug)]
struct IndexDraft {
    name: Option<String>,
    columns: Vec<IndexCol>,
    unique: bool,
    where_: Option<String>,
    /// `ddl_if(dialect=...)`: the dialects it exists on (empty: all).
    dialects: Vec<String>,
    at: (usize, TextSize),
}

/// A source position: module and offset.
type Loc = (usize, TextSize);
/// A named constraint over column keys.
type Named = (Option<String>, Vec<String>, Loc);
/// A check constraint: name and SQL.
type CheckDraft = (Option<String>, String, Loc);

#[derive(Debug)]
struct ColDraft {
    key: String,
    column: Column,
    /// The type comes from the referred column (`Column(ForeignKey(...))`).
    type_from_fk: bool,
    explicit_nullable: bool,
    index: bool,
    sort_order: i64,
    at: (usize, TextSize),
}

#[derive(Debug)]
struct Draft<'p> {
    name: String,
    schema: Option<String>,
    comment: Option<String>,
    meta: Rc<Meta>,
    columns: Vec<ColDraft>,
    fks: Vec<FkDraft<'p>>,
    indexes: Vec<IndexDraft>,
    uniques: Vec<Named>,
    checks: Vec<CheckDraft>,
    pk: Option<Named>,
    source: (usize, TextSize),
}

impl Draft<'_> {
    fn column_index(&self, key: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.key == key)
            .or_else(|| self.columns.iter().position(|c| c.column.name == key))
    }
}

/// Builds tables from the models of a project.
pub struct Builder<'e, 'p> {
    ev: &'e Evaluator<'p>,
    roles: HashMap<Site, Role<'p>>,
    metas: HashMap<Site, Rc<Meta>>,
    drafts: Vec<Draft<'p>>,
    /// `Table(...)` call site -> draft.
    core_tables: HashMap<(Site, Option<Rc<str>>), usize>,
    /// Elements added to a table by a module other than the one defining it.
    contributions: Vec<Added>,
    /// A standalone `Index(...)` call site -> (draft, index), for a later `.ddl_if()`.
    standalone_indexes: HashMap<Site, (usize, usize)>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Elements module `origin` appended to draft `table`: ranges of its columns, foreign
/// keys, checks and indexes (single-table inheritance, a standalone `Index`).
#[derive(Debug)]
struct Added {
    origin: usize,
    table: usize,
    ranges: [std::ops::Range<usize>; 4],
}

impl<'e, 'p> Builder<'e, 'p> {
    pub fn new(ev: &'e Evaluator<'p>) -> Self {
        Builder {
            ev,
            roles: HashMap::new(),
            metas: HashMap::new(),
            drafts: Vec::new(),
            core_tables: HashMap::new(),
            contributions: Vec::new(),
            standalone_indexes: HashMap::new(),
            diagnostics: Vec::new(),
        }
    }

    fn diag(
        &mut self,
        code: &str,
        module: usize,
        at: TextSize,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let m = &self.ev.project.modules[module];
        let (line, col) = m.parsed().line_col(at);
        self.diagnostics.push(Diagnostic::error(code, message).at(
            m.rel.clone(),
            Some(line),
            Some(col),
        ));
        self.diagnostics.last_mut().expect("just pushed")
    }

    fn unresolved(&mut self, v: &Value<'p>, module: usize, at: TextSize, what: &str) {
        let (module, at, reason, via) = match v {
            Value::Unknown(u) => (u.module, u.offset, u.message.clone(), u.via.clone()),
            _ => (module, at, "unexpected value".to_owned(), Vec::new()),
        };
        let hints = &mut self
            .diag(
                "SA101",
                module,
                at,
                format!("Cannot determine {what} statically: {reason}"),
            )
            .hints;
        if let Some(last) = via.last() {
            let names = via
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ");
            hints.push(format!(
                "It comes through {names}: if one of them is only known at run time (a setting, an environment variable), give discovery its value, e.g. `[discovery] STATIC_VALUES = [\"{last}=<Python literal>\"]`"
            ));
        }
        hints.push(IMPORT_HINT.to_owned());
    }

    fn type_problem(&mut self, p: TypeProblem, what: &str) {
        self.diag(
            "SA103",
            p.module,
            p.offset,
            format!("Cannot determine the type of {what}: {}", p.message),
        )
        .hints
        .push(IMPORT_HINT.to_owned());
    }

    /// Scans model candidate `m`: what it defines, with positions resolved.
    pub fn run_unit(mut self, m: usize) -> UnitOutput {
        let mut standalone = Vec::new();
        let parsed = self.ev.project.modules[m].parsed();
        self.diagnostics.extend(parsed.diagnostics.iter().cloned());
        for stmt in self.ev.body(m) {
            self.statement(m, stmt, &mut standalone);
        }
        for (m, expr) in standalone {
            self.standalone_index(m, expr);
        }
        self.export(m)
    }

    fn lens(&self, t: usize) -> [usize; 4] {
        let d = &self.drafts[t];
        [
            d.columns.len(),
            d.fks.len(),
            d.checks.len(),
            d.indexes.len(),
        ]
    }

    fn record(&mut self, origin: usize, table: usize, before: [usize; 4]) {
        let after = self.lens(table);
        self.contributions.push(Added {
            origin,
            table,
            ranges: [0, 1, 2, 3].map(|k| before[k]..after[k]),
        });
    }

    fn statement(&mut self, m: usize, stmt: &'p Stmt, standalone: &mut Vec<(usize, &'p Expr)>) {
        self.statement_in(m, stmt, standalone, None);
    }

    /// A module-level statement; `locals` holds the variables of an enclosing `for`.
    fn statement_in(
        &mut self,
        m: usize,
        stmt: &'p Stmt,
        standalone: &mut Vec<(usize, &'p Expr)>,
        locals: Option<&Locals<'p>>,
    ) {
        match stmt {
            Stmt::ClassDef(def) => {
                self.role(ClassRef { module: m, def });
            }
            Stmt::Assign(a) => self.top_level_call(m, &a.value, standalone, locals),
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    self.top_level_call(m, v, standalone, locals);
                }
            }
            Stmt::Expr(e) => self.top_level_call(m, &e.value, standalone, locals),
            // `for kind in ("user", "group"): Table(f"{kind}_role_map", ...)`.
            Stmt::For(f) if mentions_table(&f.body) => {
                let iterable = self.ev.eval(m, &f.iter, locals);
                let items = match self.ev.iterate(m, &iterable, f.iter.start()) {
                    Ok(items) => items,
                    Err(u) => {
                        return self.unresolved(
                            &u,
                            m,
                            f.iter.start(),
                            "what this loop iterates over",
                        );
                    }
                };
                for item in items {
                    let scope = locals.map_or_else(Locals::default, Locals::child);
                    if let Err(u) = self.ev.assign(m, &f.target, item, &scope) {
                        return self.unresolved(&u, m, f.target.start(), "the loop variable");
                    }
                    for stmt in &f.body {
                        self.statement_in(m, stmt, standalone, Some(&scope));
                        // Later statements see what earlier ones assigned.
                        if let Stmt::Assign(a) = stmt {
                            let v = self.ev.eval(m, &a.value, Some(&scope));
                            for t in &a.targets {
                                if matches!(t, Expr::Name(_)) {
                                    let _ = self.ev.assign(m, t, v.clone(), &scope);
                                }
                            }
                        }
                    }
                }
            }
            Stmt::If(s) => {
                // The branch Python takes when the condition is known (`if TYPE_CHECKING:`,
                // `if oauth_support:`); every branch when it is not.
                let mut branches: Vec<(Option<&'p Expr>, &'p [Stmt])> =
                    vec![(Some(&*s.test), &s.body[..])];
                branches.extend(
                    s.elif_else_clauses
                        .iter()
                        .map(|c| (c.test.as_ref(), &c.body[..])),
                );
                let mut taken = None;
                for (test, body) in &branches {
                    match test.map(|t| super::builtins::truthy(&self.ev.eval(m, t, locals))) {
                        None | Some(Some(true)) => {
                            taken = Some(*body);
                            break;
                        }
                        Some(Some(false)) => {}
                        Some(None) => {
                            for (_, body) in &branches {
                                for stmt in *body {
                                    self.statement_in(m, stmt, standalone, locals);
                                }
                            }
                            return;
                        }
                    }
                }
                for stmt in taken.unwrap_or(&[]) {
                    self.statement_in(m, stmt, standalone, locals);
                }
            }
            _ => {}
        }
    }

    /// `x = Table(...)` or `Index(...)` at the top level of a module.
    fn top_level_call(
        &mut self,
        m: usize,
        expr: &'p Expr,
        standalone: &mut Vec<(usize, &'p Expr)>,
        locals: Option<&Locals<'p>>,
    ) {
        let Expr::Call(call) = expr else { return };
        let name = match call.func.as_ref() {
            Expr::Name(n) => n.id.as_str(),
            Expr::Attribute(a) => a.attr.as_str(),
            _ => return,
        };
        match name {
            "Table" => {
                let v = self.ev.eval(m, expr, locals);
                match &v {
                    Value::Call(c) if is_sa(&c.callee) && c.name() == "Table" => {
                        self.core_table(c);
                    }
                    Value::Unknown(_) => self.unresolved(&v, m, expr.start(), "this `Table(...)`"),
                    _ => {}
                }
            }
            "Index" | "ddl_if" if locals.is_none() => standalone.push((m, expr)),
            _ => {}
        }
    }

    // ---- metadata -------------------------------------------------------------

    fn meta(&mut self, v: &Value<'p>, m: usize, at: TextSize) -> Rc<Meta> {
        let call = match v {
            Value::Call(c) if c.name() == "MetaData" => c.clone(),
            other => {
                if !matches!(other, Value::Unknown(_)) {
                    self.diag("SA101", m, at, "Expected a `MetaData` object here")
                        .hints
                        .push(IMPORT_HINT.to_owned());
                } else {
                    self.unresolved(other, m, at, "the `MetaData`");
                }
                return Rc::new(Meta {
                    convention: Convention::default(),
                    schema: None,
                });
            }
        };
        if let Some(meta) = self.metas.get(&call.site) {
            return meta.clone();
        }
        let (cm, cat) = (call.site.0, TextSize::new(call.site.1));
        let convention = match call.kw("naming_convention") {
            None | Some(Value::None) => Convention::default(),
            Some(Value::Dict(items)) => {
                let mut entries = Vec::new();
                for (k, v) in items.iter() {
                    let key = match k {
                        Value::Str(s) => Some(s.to_string()),
                        Value::Lib(p) => match last(p) {
                            "Index" => Some("ix".into()),
                            "UniqueConstraint" => Some("uq".into()),
                            "CheckConstraint" => Some("ck".into()),
                            "ForeignKeyConstraint" => Some("fk".into()),
                            "PrimaryKeyConstraint" => Some("pk".into()),
                            _ => None,
                        },
                        _ => None,
                    };
                    match (key, v) {
                        (Some(key), Value::Str(t)) => entries.push((key, t.to_string())),
                        (_, Value::Str(_)) => {}
                        (_, other) => {
                            self.unresolved(other, cm, cat, "a naming-convention template");
                        }
                    }
                }
                Convention { entries }
            }
            Some(other) => {
                let other = other.clone();
                self.unresolved(&other, cm, cat, "the naming convention");
                Convention::default()
            }
        };
        let schema = match call.kw("schema") {
            None | Some(Value::None) => None,
            Some(Value::Str(s)) => Some(s.to_string()),
            Some(other) => {
                let other = other.clone();
                self.unresolved(&other, cm, cat, "the `MetaData` schema");
                None
            }
        };
        let meta = Rc::new(Meta { convention, schema });
        self.metas.insert(call.site, meta.clone());
        meta
    }
}

/// True when a statement of `body` calls something named `Table`.
fn mentions_table(body: &[Stmt]) -> bool {
    body.iter().any(|s| {
        let value = match s {
            Stmt::Assign(a) => Some(&*a.value),
            Stmt::AnnAssign(a) => a.value.as_deref(),
            Stmt::Expr(e) => Some(&*e.value),
            _ => None,
        };
        matches!(value, Some(Expr::Call(c)) if matches!(c.func.as_ref(),
            Expr::Name(n) if n.id.as_str() == "Table") || matches!(c.func.as_ref(), Expr::Attribute(a) if a.attr.as_str() == "Table"))
    })
}

/// What identifies a `Table(...)`: its call site and its name, so a loop that builds
/// one table per item (`Table(f"{kind}_role_map", ...)`) yields each.
fn table_key(c: &Call<'_>) -> (Site, Option<Rc<str>>) {
    let name = match c.args.first() {
        Some(Value::Str(s)) => Some(s.clone()),
        _ => None,
    };
    (c.site, name)
}

/// The attribute a class-body statement binds.
fn attr_name(stmt: &Stmt) -> Option<&str> {
    match stmt {
        Stmt::Assign(a) if a.targets.len() == 1 => match &a.targets[0] {
            Expr::Name(n) => Some(n.id.as_str()),
            _ => None,
        },
        Stmt::AnnAssign(a) => match a.target.as_ref() {
            Expr::Name(n) => Some(n.id.as_str()),
            _ => None,
        },
        Stmt::FunctionDef(f) => Some(f.name.as_str()),
        _ => None,
    }
}

/// Flask-SQLAlchemy's table name for a class: `UserProfile` -> `user_profile`.
pub fn camel_to_snake(name: &str) -> String {
    // Flask-SQLAlchemy 3: `re.sub(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))", r"_\1", name)`,
    // lower-cased, with leading underscores stripped.
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase() || prev.is_ascii_digit() || next_lower {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out.trim_start_matches('_').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flask_table_names() {
        assert_eq!(camel_to_snake("User"), "user");
        assert_eq!(camel_to_snake("UserProfile"), "user_profile");
        assert_eq!(camel_to_snake("HTTPRequest"), "http_request");
        assert_eq!(camel_to_snake("Table2Name"), "table2_name");
    }
}
