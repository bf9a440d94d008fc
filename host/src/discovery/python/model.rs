//! Declarative classes and Core `Table(...)` calls -> [`Table`]s, as SQLAlchemy builds them.
//!
//! Input: the model candidates of a [`Project`] through the [`Evaluator`]. Output: one
//! [`Table`] per mapped class with its own table and per `Table(...)` call, with
//! single-table-inheritance columns added to the parent's table, mixin and abstract
//! columns copied, constraints named by the metadata's naming convention; plus
//! diagnostics for everything that cannot be determined statically. A table touched by
//! such a diagnostic is still reported (for the listing), but discovery as a whole
//! fails, so no caller ever sees a partial schema.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::{Ranged, TextSize};

use super::eval::{
    Call, ClassRef, ColumnRef, Evaluator, Locals, Site, Value, find_class_attr, is_classvar, is_sa,
    last, metadata_of, root,
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
            "Index" if locals.is_none() => standalone.push((m, expr)),
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

    // ---- classes --------------------------------------------------------------

    fn role(&mut self, c: ClassRef<'p>) -> Role<'p> {
        if let Some(r) = self.roles.get(&c.key()) {
            return r.clone();
        }
        self.roles.insert(c.key(), Role::Plain);
        let role = self.compute_role(c);
        self.roles.insert(c.key(), role.clone());
        role
    }

    fn class_meta_ctx(&mut self, c: ClassRef<'p>, flavor: Flavor) -> Ctx<'p> {
        // `metadata = MetaData(...)` or `registry = registry(metadata=...)` on the base.
        let at = c.def.range.start();
        let md = match find_class_attr(c.def, "metadata") {
            Some((Some(expr), _)) => Some(self.ev.eval(c.module, expr, None)),
            _ => match find_class_attr(c.def, "registry") {
                Some((Some(expr), _)) => match self.ev.eval(c.module, expr, None) {
                    Value::Call(r) => Some(metadata_of(&r)),
                    other => Some(other),
                },
                _ => None,
            },
        };
        let md = md.unwrap_or_else(|| super::eval::implicit_metadata(c.key()));
        let meta = self.meta(&md, c.module, at);
        let annotation_map = match find_class_attr(c.def, "type_annotation_map") {
            Some((Some(expr), _)) => match self.ev.eval(c.module, expr, None) {
                Value::Dict(items) => items.to_vec(),
                other => {
                    self.unresolved(&other, c.module, expr.start(), "the `type_annotation_map`");
                    Vec::new()
                }
            },
            _ => Vec::new(),
        };
        Ctx {
            meta,
            flavor,
            annotation_map: Rc::new(annotation_map),
        }
    }

    fn compute_role(&mut self, c: ClassRef<'p>) -> Role<'p> {
        let at = c.def.range.start();
        let mut ctx: Option<Ctx<'p>> = None;
        let mut is_root = false;
        let mut parent: Option<(ClassRef<'p>, usize)> = None;
        let mut unknown_base = None;
        for decorator in &c.def.decorator_list {
            let v = self.ev.eval(c.module, &decorator.expression, None);
            match &v {
                Value::Call(call) if call.name() == "as_declarative" => {
                    is_root = true;
                    let md = metadata_of(call);
                    let meta = self.meta(&md, c.module, at);
                    ctx = Some(Ctx {
                        meta,
                        flavor: Flavor::Declarative,
                        annotation_map: Rc::new(Vec::new()),
                    });
                }
                Value::Attr(reg, name)
                    if reg.name() == "registry" && name.starts_with("mapped") =>
                {
                    let md = metadata_of(reg);
                    let meta = self.meta(&md, c.module, at);
                    ctx = Some(Ctx {
                        meta,
                        flavor: Flavor::Declarative,
                        annotation_map: Rc::new(Vec::new()),
                    });
                }
                _ => {}
            }
        }
        // `class Base(metaclass=DeclarativeMeta)` with `registry = ...` / `metadata = ...`.
        let metaclass = c.def.arguments.as_ref().and_then(|a| {
            a.keywords
                .iter()
                .find(|k| k.arg.as_ref().is_some_and(|n| n.as_str() == "metaclass"))
        });
        if let Some(k) = metaclass
            && matches!(self.ev.eval(c.module, &k.value, None), Value::Lib(p) if is_sa(&p) && last(&p) == "DeclarativeMeta")
        {
            is_root = true;
            ctx = Some(self.class_meta_ctx(c, Flavor::Declarative));
        }
        for base in self.ev.bases(c) {
            match &base {
                Value::Lib(p)
                    if is_sa(p)
                        && matches!(last(p), "DeclarativeBase" | "DeclarativeBaseNoMeta") =>
                {
                    is_root = true;
                    ctx = Some(self.class_meta_ctx(c, Flavor::Declarative));
                }
                Value::Lib(p) if root(p) == "sqlmodel" && last(p) == "SQLModel" => {
                    // `SQLModel.metadata` is one global object.
                    let md = super::eval::implicit_metadata((usize::MAX, 0));
                    let meta = self.meta(&md, c.module, at);
                    ctx = Some(Ctx {
                        meta,
                        flavor: Flavor::SqlModel,
                        annotation_map: Rc::new(Vec::new()),
                    });
                }
                Value::Call(call)
                    if matches!(call.name(), "declarative_base" | "generate_base") =>
                {
                    let md = metadata_of(call);
                    let meta = self.meta(&md, c.module, at);
                    ctx = Some(Ctx {
                        meta,
                        flavor: Flavor::Declarative,
                        annotation_map: Rc::new(Vec::new()),
                    });
                }
                Value::Attr(call, attr) if call.name() == "SQLAlchemy" && &**attr == "Model" => {
                    let md = metadata_of(call);
                    let meta = self.meta(&md, c.module, at);
                    ctx = Some(Ctx {
                        meta,
                        flavor: Flavor::Flask,
                        annotation_map: Rc::new(Vec::new()),
                    });
                }
                Value::Class(p) => match self.role(*p) {
                    Role::Base(x) | Role::Abstract(x) => {
                        if ctx.is_none() {
                            ctx = Some(x);
                        }
                    }
                    Role::Mapped(x, table) => {
                        if parent.is_none() {
                            parent = Some((*p, table));
                        }
                        if ctx.is_none() {
                            ctx = Some(x);
                        }
                    }
                    Role::Failed => return Role::Failed,
                    Role::Plain => {}
                },
                Value::Unknown(_) => unknown_base = Some(base.clone()),
                _ => {}
            }
        }
        let Some(ctx) = ctx else {
            if let Some(base) = unknown_base
                && (find_class_attr(c.def, "__tablename__").is_some()
                    || find_class_attr(c.def, "__table__").is_some())
            {
                self.unresolved(
                    &base,
                    c.module,
                    at,
                    &format!("the base class of `{}`", c.name()),
                );
                return Role::Failed;
            }
            return Role::Plain;
        };
        if is_root {
            return Role::Base(ctx);
        }
        if let Some((Some(expr), _)) = find_class_attr(c.def, "__abstract__")
            && matches!(self.ev.eval(c.module, expr, None), Value::Bool(true))
        {
            return Role::Abstract(ctx);
        }
        if ctx.flavor == Flavor::SqlModel {
            let table = c.def.arguments.as_ref().and_then(|a| {
                a.keywords
                    .iter()
                    .find(|k| k.arg.as_ref().is_some_and(|n| n.as_str() == "table"))
            });
            match table.map(|k| self.ev.eval(c.module, &k.value, None)) {
                Some(Value::Bool(true)) => {}
                None | Some(Value::Bool(false)) => return Role::Abstract(ctx),
                Some(other) => {
                    self.unresolved(&other, c.module, at, "`table=`");
                    return Role::Failed;
                }
            }
        }
        // `__table__ = Table(...)`
        if let Some((Some(expr), _)) = find_class_attr(c.def, "__table__") {
            return match self.ev.eval(c.module, expr, None) {
                Value::Call(call) if call.name() == "Table" => match self.core_table(&call) {
                    Some(t) => Role::Mapped(ctx, t),
                    None => Role::Failed,
                },
                other => {
                    self.unresolved(&other, c.module, expr.start(), "`__table__`");
                    Role::Failed
                }
            };
        }
        let tablename = match self.tablename(c) {
            Ok(t) => t,
            Err(()) => return Role::Failed,
        };
        let tablename = match (tablename, ctx.flavor, parent) {
            (Some(t), _, _) => Some(t),
            (None, Flavor::SqlModel, None) => Some(c.name().to_lowercase()),
            (None, Flavor::Flask, None) => Some(camel_to_snake(c.name())),
            (None, Flavor::Flask, Some(_)) if self.declares_primary_key(c) => {
                Some(camel_to_snake(c.name()))
            }
            (None, _, _) => None,
        };
        match (tablename, parent) {
            (Some(name), _) => {
                let t = self.class_table(c, &ctx, name, parent.map(|p| p.0));
                Role::Mapped(ctx, t)
            }
            (None, Some((p, table))) => {
                // Single-table inheritance: the subclass's columns join the parent's table.
                self.add_class_columns(c, &ctx, table, Some(p), true);
                Role::Mapped(ctx, table)
            }
            (None, None) => {
                self.diag(
                    "SA104",
                    c.module,
                    c.def.name.range.start(),
                    format!("Class `{}` is mapped but has no `__tablename__` or `__table__`", c.name()),
                )
                .hints
                .push("Add `__tablename__ = \"...\"`, or `__abstract__ = True` if it is a base for other models".to_owned());
                Role::Failed
            }
        }
    }

    fn declares_primary_key(&self, c: ClassRef<'p>) -> bool {
        c.def.body.iter().any(|s| {
            let value = match s {
                Stmt::Assign(a) => Some(&*a.value),
                Stmt::AnnAssign(a) => a.value.as_deref(),
                _ => None,
            };
            let Some(Expr::Call(call)) = value else {
                return false;
            };
            call.arguments.keywords.iter().any(|k| {
                k.arg.as_ref().is_some_and(|n| n.as_str() == "primary_key")
                    && matches!(k.value, Expr::BooleanLiteral(ref b) if b.value)
            })
        })
    }

    /// The classes whose attributes a mapped class `c` collects: itself, then every
    /// base in MRO order that is not mapped (mixins, abstract classes, the base).
    fn collected(&mut self, c: ClassRef<'p>) -> Vec<ClassRef<'p>> {
        let mut out = Vec::new();
        for k in self.ev.mro(c) {
            if k == c || !matches!(self.role(k), Role::Mapped(..)) {
                out.push(k);
            }
        }
        out
    }

    fn tablename(&mut self, c: ClassRef<'p>) -> Result<Option<String>, ()> {
        for k in self.collected(c) {
            let Some(found) = find_class_attr(k.def, "__tablename__") else {
                continue;
            };
            let value = match found {
                (Some(expr), _) => {
                    let locals = Locals::class(k);
                    self.ev.eval(k.module, expr, Some(&locals))
                }
                (None, _) => self.declared_attr_value(k, c, "__tablename__"),
            };
            return match value {
                Value::Str(s) => Ok(Some(s.to_string())),
                Value::None => Ok(None),
                other => {
                    self.unresolved(
                        &other,
                        k.module,
                        k.def.range.start(),
                        &format!("the `__tablename__` of `{}`", c.name()),
                    );
                    Err(())
                }
            };
        }
        Ok(None)
    }

    /// Evaluates a `@declared_attr` function `name` of class `k` for class `owner`.
    fn declared_attr_value(
        &mut self,
        k: ClassRef<'p>,
        owner: ClassRef<'p>,
        name: &str,
    ) -> Value<'p> {
        let Some(def) = super::eval::find_method(k.def, name) else {
            return self
                .ev
                .unknown(k.module, k.def.range.start(), format!("`{name}` not found"));
        };
        let f = super::eval::FuncRef {
            module: k.module,
            def,
        };
        self.ev.call_function(
            k.module,
            f,
            vec![Value::Class(owner)],
            Vec::new(),
            def.range.start(),
        )
    }

    fn class_table(
        &mut self,
        c: ClassRef<'p>,
        ctx: &Ctx<'p>,
        name: String,
        _parent: Option<ClassRef<'p>>,
    ) -> usize {
        let t = self.drafts.len();
        self.drafts.push(Draft {
            name,
            schema: ctx.meta.schema.clone(),
            comment: None,
            meta: ctx.meta.clone(),
            columns: Vec::new(),
            fks: Vec::new(),
            indexes: Vec::new(),
            uniques: Vec::new(),
            checks: Vec::new(),
            pk: None,
            source: (c.module, c.def.range.start()),
        });
        // Registered before the columns, so a self-reference (`ForeignKey(Node.id)`) resolves.
        self.roles.insert(c.key(), Role::Mapped(ctx.clone(), t));
        self.add_class_columns(c, ctx, t, None, false);
        self.table_args(c, t);
        t
    }

    fn table_args(&mut self, c: ClassRef<'p>, t: usize) {
        for k in self.collected(c) {
            let Some(found) = find_class_attr(k.def, "__table_args__") else {
                continue;
            };
            let value = match found {
                (Some(expr), _) => {
                    let locals = Locals::class(c);
                    self.ev.eval(k.module, expr, Some(&locals))
                }
                (None, _) => self.declared_attr_value(k, c, "__table_args__"),
            };
            let at = k.def.range.start();
            match value {
                Value::Seq(items) => {
                    for item in items.iter() {
                        match item {
                            Value::Dict(d) => self.table_kwargs(t, d, k.module, at),
                            other => self.table_item(t, other, k.module, at),
                        }
                    }
                }
                Value::Dict(d) => self.table_kwargs(t, &d, k.module, at),
                Value::None => {}
                other => self.unresolved(
                    &other,
                    k.module,
                    at,
                    &format!("the `__table_args__` of `{}`", c.name()),
                ),
            }
            return;
        }
    }

    fn table_kwargs(&mut self, t: usize, items: &[(Value<'p>, Value<'p>)], m: usize, at: TextSize) {
        for (k, v) in items {
            match (k.as_str(), v) {
                (Some("schema"), Value::Str(s)) => self.drafts[t].schema = Some(s.to_string()),
                (Some("schema"), Value::None) => self.drafts[t].schema = None,
                (Some("comment"), Value::Str(s)) => self.drafts[t].comment = Some(s.to_string()),
                (Some("schema" | "comment"), other) => {
                    let other = other.clone();
                    self.unresolved(&other, m, at, "a table option");
                }
                _ => {}
            }
        }
    }

    fn add_class_columns(
        &mut self,
        c: ClassRef<'p>,
        ctx: &Ctx<'p>,
        t: usize,
        sti_parent: Option<ClassRef<'p>>,
        own_only: bool,
    ) {
        let classes = if own_only {
            // Single-table inheritance: the subclass's own attributes and its mixins',
            // but not what the parent (already in the table) declared.
            let parent_mro: HashSet<Site> = sti_parent
                .map(|p| self.ev.mro(p).iter().map(|k| k.key()).collect())
                .unwrap_or_default();
            self.collected(c)
                .into_iter()
                .filter(|k| !parent_mro.contains(&k.key()))
                .collect()
        } else {
            self.collected(c)
        };
        // SQLAlchemy collects the class's own attributes first, then its bases' (the first
        // definition of a name wins); pydantic (SQLModel) puts base fields first, and a
        // redefinition keeps the base's position.
        let mut attrs: Vec<(&'p str, ClassRef<'p>, &'p Stmt)> = Vec::new();
        let mut positions: HashMap<&'p str, usize> = HashMap::new();
        let pydantic = ctx.flavor == Flavor::SqlModel;
        let ordered: Vec<ClassRef<'p>> = if pydantic {
            classes.into_iter().rev().collect()
        } else {
            classes
        };
        for k in ordered {
            for stmt in &k.def.body {
                let Some(name) = attr_name(stmt) else {
                    continue;
                };
                if name.starts_with("__") {
                    continue;
                }
                match positions.get(name) {
                    Some(&i) if pydantic => attrs[i] = (name, k, stmt),
                    Some(_) => {}
                    None => {
                        positions.insert(name, attrs.len());
                        attrs.push((name, k, stmt));
                    }
                }
            }
        }
        let mut new_columns = Vec::new();
        for (name, k, stmt) in attrs {
            let sqlmodel_class =
                matches!(self.role(k).ctx(), Some(x) if x.flavor == Flavor::SqlModel) || pydantic;
            if let Some(col) = self.attribute(c, k, ctx, stmt, name, sqlmodel_class) {
                new_columns.push(col);
            }
        }
        // `sort_order` (SQLAlchemy 2.0) reorders; the sort is stable.
        new_columns.sort_by_key(|c| c.0.sort_order);
        let before = self.lens(t);
        for (col, fks, checks) in new_columns {
            let draft = &mut self.drafts[t];
            if draft.column_index(&col.key).is_some() && own_only {
                continue;
            }
            draft.fks.extend(fks);
            draft.checks.extend(checks);
            draft.columns.push(col);
        }
        if own_only {
            self.record(c.module, t, before);
        }
    }

    /// One class attribute: a column (with its foreign keys and checks), or nothing.
    fn attribute(
        &mut self,
        owner: ClassRef<'p>,
        k: ClassRef<'p>,
        ctx: &Ctx<'p>,
        stmt: &'p Stmt,
        name: &str,
        sqlmodel: bool,
    ) -> Option<(ColDraft, Vec<FkDraft<'p>>, Vec<CheckDraft>)> {
        let locals = Locals::class(k);
        let (annotation, value, value_expr): (
            Option<&'p Expr>,
            Option<Value<'p>>,
            Option<&'p Expr>,
        ) = match stmt {
            Stmt::Assign(a) => (
                None,
                Some(self.ev.eval(k.module, &a.value, Some(&locals))),
                Some(&*a.value),
            ),
            Stmt::AnnAssign(a) => {
                if is_classvar(&a.annotation) {
                    return None;
                }
                let v = a
                    .value
                    .as_ref()
                    .map(|v| self.ev.eval(k.module, v, Some(&locals)));
                (Some(&*a.annotation), v, a.value.as_deref())
            }
            Stmt::FunctionDef(f) => {
                let is_declared = f.decorator_list.iter().any(|d| {
                    let e = match &d.expression {
                        Expr::Call(c) => c.func.as_ref(),
                        other => other,
                    };
                    let text = match e {
                        Expr::Name(n) => n.id.as_str(),
                        Expr::Attribute(a) => match a.value.as_ref() {
                            Expr::Name(n) if n.id.as_str() == "declared_attr" => "declared_attr",
                            _ => a.attr.as_str(),
                        },
                        _ => "",
                    };
                    text == "declared_attr"
                });
                if !is_declared {
                    return None;
                }
                (
                    f.returns.as_deref(),
                    Some(self.declared_attr_value(k, owner, name)),
                    None,
                )
            }
            _ => return None,
        };
        let at = stmt.start();
        let m = k.module;
        if sqlmodel {
            let annotation = annotation?;
            return self.sqlmodel_field(k, ctx, name, annotation, value, at);
        }
        match value {
            Some(Value::Call(call)) if is_sa(&call.callee) => match call.name() {
                "Column" => self.sa_column(ctx, &call, name, None, m, false),
                "mapped_column" => self.sa_column(ctx, &call, name, annotation, m, true),
                "deferred" | "column_property" => match call.args.first() {
                    Some(Value::Call(inner)) if inner.name() == "Column" => {
                        let inner = inner.clone();
                        self.sa_column(ctx, &inner, name, None, m, false)
                    }
                    _ => None,
                },
                _ => None,
            },
            Some(v @ Value::Unknown(_)) => {
                let flagged = match value_expr {
                    Some(Expr::Call(call)) => self.may_make_column(k, &call.func),
                    Some(Expr::Name(_) | Expr::Attribute(_)) | None => true,
                    Some(_) => false,
                };
                if flagged {
                    self.unresolved(
                        &v,
                        m,
                        at,
                        &format!("whether `{}.{name}` is a column", owner.name()),
                    );
                }
                None
            }
            Some(_) => None,
            None => {
                // `x: Mapped[int]` without a value.
                let annotation = annotation?;
                let empty = Rc::new(Call {
                    callee: "sqlalchemy.orm.mapped_column".into(),
                    recv: None,
                    args: Vec::new(),
                    kwargs: Vec::new(),
                    site: (m, at.to_u32()),
                });
                if self.is_mapped_annotation(m, annotation, k) {
                    self.sa_column(ctx, &empty, name, Some(annotation), m, true)
                } else {
                    None
                }
            }
        }
    }

    /// Whether a call of `func` in the body of `k`, whose result could not be
    /// evaluated, may make a column: SQLAlchemy's own callables and project functions
    /// that spell a column constructor may; other libraries' calls, builtins and
    /// methods of plain values (`conf.getint(...)`, `"x".join(...)`) do not.
    fn may_make_column(&self, k: ClassRef<'p>, func: &Expr) -> bool {
        let locals = Locals::class(k);
        let source_builds_column = |f: &super::eval::FuncRef<'p>| {
            let text = &self.ev.project.modules[f.module].parsed().text;
            let body = text
                .get(f.def.range().start().to_usize()..f.def.range().end().to_usize())
                .unwrap_or("");
            [
                "Column(",
                "mapped_column(",
                "column_property(",
                "deferred(",
                "Field(",
            ]
            .iter()
            .any(|c| body.contains(c))
        };
        match self.ev.eval(k.module, func, Some(&locals)) {
            Value::Lib(p) => is_sa(&p),
            Value::Attr(call, _) | Value::Call(call) => is_sa(&call.callee),
            Value::Builtin(_) | Value::Method(_) | Value::Opaque => false,
            Value::Function(f) => source_builds_column(&f),
            Value::Bound(b) => source_builds_column(&b.0),
            // `conf.getint(...)` on an object that could not be evaluated: a method
            // named like no column constructor.
            Value::Unknown(_) if matches!(func, Expr::Attribute(a) if !matches!(a.attr.as_str(),
                "Column" | "mapped_column" | "column_property" | "deferred" | "Field" | "composite")) => false,
            Value::Class(c) => self.ev.mro(c).iter().any(|x| {
                self.ev.bases(*x).iter().any(|b| {
                    matches!(b, Value::Lib(p) if is_sa(p) && matches!(last(p), "Column" | "MappedColumn"))
                })
            }),
            _ => true,
        }
    }

    fn is_mapped_annotation(&self, m: usize, annotation: &Expr, k: ClassRef<'p>) -> bool {
        let locals = Locals::class(k);
        match self.annotation_value(m, annotation, &locals) {
            Value::Generic(g) => matches!(&g.0, Value::Lib(p) if last(p) == "Mapped"),
            _ => false,
        }
    }

    fn annotation_value(&self, m: usize, annotation: &Expr, locals: &Locals<'p>) -> Value<'p> {
        match annotation {
            Expr::StringLiteral(s) => {
                self.string_annotation(m, s.value.to_str(), annotation.start(), locals)
            }
            other => self.ev.eval(m, other, Some(locals)),
        }
    }

    fn string_annotation(
        &self,
        m: usize,
        text: &str,
        at: TextSize,
        locals: &Locals<'p>,
    ) -> Value<'p> {
        match ruff_python_parser::parse_expression(text) {
            Ok(parsed) => match self.ev.eval(m, parsed.expr(), Some(locals)) {
                Value::Unknown(u) => self.ev.unknown(m, at, u.message.clone()),
                Value::Generic(g) => {
                    // Forward references inside (`Mapped["Optional[int]"]`, `Mapped[Optional["X"]]`).
                    let args = g.1.iter().map(|a| match a {
                        Value::Str(s) => self.string_annotation(m, s, at, locals),
                        other => other.clone(),
                    });
                    Value::Generic(Rc::new((g.0.clone(), args.collect())))
                }
                other => other,
            },
            Err(e) => self
                .ev
                .unknown(m, at, format!("Cannot parse the annotation: {}", e.error)),
        }
    }

    /// Splits `Mapped[Optional[X]]` into (X, optional); `Annotated[X, mapped_column(...)]`
    /// also yields the `mapped_column` defaults.
    fn unwrap_annotation(
        &self,
        m: usize,
        annotation: &Expr,
        locals: &Locals<'p>,
    ) -> (Value<'p>, bool, Option<Rc<Call<'p>>>) {
        let mut v = self.annotation_value(m, annotation, locals);
        let mut optional = false;
        let mut defaults = None;
        for _ in 0..6 {
            let next = match &v {
                Value::Str(s) => self.string_annotation(m, s, annotation.start(), locals),
                Value::Generic(g) => match (&g.0, g.1.as_slice()) {
                    (Value::Lib(p), [inner]) if matches!(last(p), "Mapped" | "Optional") => {
                        if last(p) == "Optional" {
                            optional = true;
                        }
                        inner.clone()
                    }
                    (Value::Lib(p), items) if last(p) == "Union" => {
                        let (nones, rest): (Vec<_>, Vec<_>) =
                            items.iter().partition(|x| matches!(x, Value::None));
                        if !nones.is_empty() {
                            optional = true;
                        }
                        match rest.as_slice() {
                            [one] => (*one).clone(),
                            _ => return (v, optional, defaults),
                        }
                    }
                    (Value::Lib(p), [inner, extras @ ..]) if last(p) == "Annotated" => {
                        for e in extras {
                            if let Value::Call(c) = e
                                && c.name() == "mapped_column"
                            {
                                defaults = Some(c.clone());
                            }
                        }
                        inner.clone()
                    }
                    _ => return (v, optional, defaults),
                },
                Value::Union(items) => {
                    let (nones, rest): (Vec<_>, Vec<_>) =
                        items.iter().partition(|x| matches!(x, Value::None));
                    if !nones.is_empty() {
                        optional = true;
                    }
                    match rest.as_slice() {
                        [one] => (*one).clone(),
                        _ => return (v, optional, defaults),
                    }
                }
                _ => return (v, optional, defaults),
            };
            v = next;
        }
        (v, optional, defaults)
    }

    /// `Column(...)`, `mapped_column(...)` (with its `Mapped[...]` annotation).
    fn sa_column(
        &mut self,
        ctx: &Ctx<'p>,
        call: &Rc<Call<'p>>,
        attr: &str,
        annotation: Option<&'p Expr>,
        m: usize,
        mapped: bool,
    ) -> Option<(ColDraft, Vec<FkDraft<'p>>, Vec<CheckDraft>)> {
        let at = TextSize::new(call.site.1);
        let cm = call.site.0;
        let mut ann = None;
        let mut merged_args: Vec<Value<'p>> = Vec::new();
        let mut merged_kwargs: Vec<(String, Value<'p>)> = Vec::new();
        if mapped && let Some(a) = annotation {
            let locals = Locals::default();
            let (inner, optional, defaults) = self.unwrap_annotation(m, a, &locals);
            if let Some(d) = defaults {
                merged_args.extend(d.args.iter().cloned());
                merged_kwargs.extend(d.kwargs.iter().cloned());
            }
            ann = Some((inner, optional, a.start()));
        }
        merged_args.extend(call.args.iter().cloned());
        merged_kwargs.extend(call.kwargs.iter().cloned());
        let kw = |n: &str| {
            merged_kwargs
                .iter()
                .rev()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };

        let mut name = attr.to_owned();
        let mut ty: Option<ColumnType> = None;
        let mut fks = Vec::new();
        let mut checks = Vec::new();
        let mut problems = false;
        for (i, arg) in merged_args.iter().enumerate() {
            match arg {
                Value::Str(s) if i == 0 => name = s.to_string(),
                Value::Call(c) if is_sa(&c.callee) && c.name() == "ForeignKey" => {
                    if let Some(fk) = self.foreign_key(c, vec![attr.to_owned()]) {
                        fks.push(fk);
                    }
                }
                Value::Call(c) if is_sa(&c.callee) && c.name() == "CheckConstraint" => {
                    if let Some(ck) = self.check(c) {
                        checks.push(ck);
                    }
                }
                Value::Call(c)
                    if is_sa(&c.callee)
                        && matches!(c.name(), "Sequence" | "FetchedValue" | "DefaultClause") => {}
                Value::Call(c)
                    if is_sa(&c.callee) && matches!(c.name(), "Computed" | "Identity") =>
                {
                    self.diag(
                        "SA102",
                        c.site.0,
                        TextSize::new(c.site.1),
                        format!("`{}` columns are not supported yet", c.name()),
                    )
                    .hints
                    .push(
                        "Create the column in a hand-written migration (`op = \"sql\"`)".to_owned(),
                    );
                    problems = true;
                }
                other if ty.is_none() => {
                    let types = Types {
                        ev: self.ev,
                        module: cm,
                        at,
                    };
                    match types.sa_type(other) {
                        Ok(t) => ty = Some(t),
                        Err(p) => {
                            self.type_problem(p, &format!("column `{attr}`"));
                            problems = true;
                        }
                    }
                }
                other => {
                    self.unresolved(other, cm, at, &format!("an argument of column `{attr}`"));
                    problems = true;
                }
            }
        }
        if let Some(t) = kw("type_") {
            let types = Types {
                ev: self.ev,
                module: cm,
                at,
            };
            match types.sa_type(&t) {
                Ok(t) => ty = Some(t),
                Err(p) => {
                    self.type_problem(p, &format!("column `{attr}`"));
                    problems = true;
                }
            }
        }
        if let Some(v) = kw("name") {
            match v {
                Value::Str(s) => name = s.to_string(),
                other => {
                    self.unresolved(&other, cm, at, &format!("the name of column `{attr}`"));
                    problems = true;
                }
            }
        }
        let mut flag = |this: &mut Self, key: &str| -> Option<bool> {
            match kw(key) {
                None | Some(Value::None) => None,
                Some(Value::Bool(b)) => Some(b),
                Some(other) => {
                    this.unresolved(&other, cm, at, &format!("`{key}=` of column `{attr}`"));
                    problems = true;
                    None
                }
            }
        };
        let primary_key = flag(self, "primary_key").unwrap_or(false);
        let nullable_kw = flag(self, "nullable");
        let unique = flag(self, "unique").unwrap_or(false);
        let index = flag(self, "index").unwrap_or(false);
        let autoincrement = match kw("autoincrement") {
            None => None,
            Some(Value::Bool(b)) => Some(b),
            Some(Value::Str(s)) if &*s == "auto" => None,
            Some(Value::Str(s)) if &*s == "ignore_fk" => Some(true),
            Some(other) => {
                self.unresolved(
                    &other,
                    cm,
                    at,
                    &format!("`autoincrement=` of column `{attr}`"),
                );
                problems = true;
                None
            }
        };
        let server_default = match kw("server_default") {
            None | Some(Value::None) => None,
            Some(v) => match self.sql_text(&v, cm, at) {
                Ok(s) => s,
                Err(()) => {
                    problems = true;
                    None
                }
            },
        };
        let comment = match kw("comment") {
            None | Some(Value::None) => None,
            Some(Value::Str(s)) => Some(s.to_string()),
            Some(other) => {
                self.unresolved(&other, cm, at, &format!("the comment of column `{attr}`"));
                problems = true;
                None
            }
        };
        let sort_order = match kw("sort_order") {
            Some(Value::Int(n)) => n,
            _ => 0,
        };
        if let Some(("**", v)) = merged_kwargs
            .iter()
            .find(|(k, _)| k == "**")
            .map(|(k, v)| (k.as_str(), v))
        {
            let v = v.clone();
            self.unresolved(
                &v,
                cm,
                at,
                &format!("the `**` arguments of column `{attr}`"),
            );
            problems = true;
        }
        let nullable = match (nullable_kw, &ann) {
            (Some(n), _) => n,
            (None, _) if primary_key => false,
            (None, Some((_, optional, _))) => *optional,
            (None, None) => true,
        };
        let mut type_from_fk = false;
        let ty = match ty {
            Some(t) => t,
            None => match &ann {
                Some((inner, _, ann_at)) => {
                    let types = Types {
                        ev: self.ev,
                        module: m,
                        at: *ann_at,
                    };
                    match types.python_type(inner, &ctx.annotation_map, None) {
                        Ok(t) => t,
                        Err(p) => {
                            self.type_problem(p, &format!("column `{attr}`"));
                            ColumnType::Custom("NULL".into())
                        }
                    }
                }
                None if !fks.is_empty() => {
                    type_from_fk = true;
                    ColumnType::Custom("NULL".into())
                }
                None => {
                    if !problems {
                        self.diag("SA103", cm, at, format!("Column `{attr}` has no type"))
                            .hints
                            .push(
                                "Give the type as the first argument: `Column(Integer, ...)`"
                                    .to_owned(),
                            );
                    }
                    ColumnType::Custom("NULL".into())
                }
            },
        };
        for fk in &mut fks {
            fk.columns = vec![attr.to_owned()];
        }
        let column = Column {
            name,
            ty,
            nullable,
            primary_key,
            autoincrement,
            server_default,
            comment,
            unique,
        };
        Some((
            ColDraft {
                key: attr.to_owned(),
                column,
                type_from_fk,
                explicit_nullable: nullable_kw.is_some() || (mapped && ann.is_some()),
                index,
                sort_order,
                at: (cm, at),
            },
            fks,
            checks,
        ))
    }

    /// A SQLModel field: `name: T = Field(...)`, `name: T = default`, or `name: T`.
    fn sqlmodel_field(
        &mut self,
        k: ClassRef<'p>,
        ctx: &Ctx<'p>,
        name: &str,
        annotation: &'p Expr,
        value: Option<Value<'p>>,
        at: TextSize,
    ) -> Option<(ColDraft, Vec<FkDraft<'p>>, Vec<CheckDraft>)> {
        let m = k.module;
        let locals = Locals::class(k);
        let field = match &value {
            Some(Value::Call(c)) if root(&c.callee) == "sqlmodel" && c.name() == "Field" => {
                Some(c.clone())
            }
            Some(Value::Call(c)) if root(&c.callee) == "sqlmodel" && c.name() == "Relationship" => {
                return None;
            }
            Some(Value::Unknown(_)) => {
                let v = value.clone().expect("matched Some");
                self.unresolved(&v, m, at, &format!("the field `{}.{name}`", k.name()));
                return None;
            }
            _ => None,
        };
        let (inner, optional, _) = self.unwrap_annotation(m, annotation, &locals);
        // Relationships: `List["Hero"]`, or another table model.
        match &inner {
            Value::Generic(g) if matches!(&g.0, Value::Lib(p) if matches!(last(p), "List" | "list" | "Set" | "Sequence")) =>
            {
                return None;
            }
            Value::Generic(g) if matches!(&g.0, Value::Builtin(b) if matches!(&**b, "list" | "set")) =>
            {
                return None;
            }
            Value::Class(c) if matches!(self.role(*c), Role::Mapped(..) | Role::Abstract(..)) => {
                return None;
            }
            _ => {}
        }
        let empty: Vec<(String, Value<'p>)> = Vec::new();
        let kwargs = field.as_ref().map_or(&empty[..], |f| &f.kwargs[..]);
        let kw = |n: &str| {
            kwargs
                .iter()
                .rev()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };
        if let Some(Value::Call(col)) = kw("sa_column") {
            return self.sa_column(ctx, &col, name, None, m, false);
        }
        if let Some(v @ Value::Unknown(_)) = kw("sa_column") {
            self.unresolved(&v, m, at, &format!("the `sa_column` of `{name}`"));
            return None;
        }
        let fat = field.as_ref().map_or(at, |f| TextSize::new(f.site.1));
        let ty = match kw("sa_type") {
            Some(t) => Types {
                ev: self.ev,
                module: m,
                at: fat,
            }
            .sa_type(&t),
            None => Types {
                ev: self.ev,
                module: m,
                at: annotation.start(),
            }
            .python_type(&inner, &[], Some(&SqlModelField { kwargs })),
        };
        let ty = match ty {
            Ok(t) => t,
            Err(p) => {
                self.type_problem(p, &format!("field `{}.{name}`", k.name()));
                ColumnType::Custom("NULL".into())
            }
        };
        let flag = |this: &mut Self, key: &str| -> Option<bool> {
            match kw(key) {
                None | Some(Value::None) => None,
                Some(Value::Bool(b)) => Some(b),
                Some(Value::Lib(p))
                    if last(&p) == "Undefined" || last(&p) == "PydanticUndefined" =>
                {
                    None
                }
                Some(other) => {
                    this.unresolved(&other, m, fat, &format!("`{key}=` of field `{name}`"));
                    None
                }
            }
        };
        let primary_key = flag(self, "primary_key").unwrap_or(false);
        let nullable_kw = flag(self, "nullable");
        let unique = flag(self, "unique").unwrap_or(false);
        let index = flag(self, "index").unwrap_or(false);
        // SQLModel: nullable when the field is optional and not a primary key.
        let nullable = nullable_kw.unwrap_or(!primary_key && optional);
        let mut fks = Vec::new();
        match kw("foreign_key") {
            None | Some(Value::None) => {}
            Some(Value::Str(target)) => {
                let ondelete = match kw("ondelete") {
                    Some(Value::Str(s)) => Some(s.to_string()),
                    _ => None,
                };
                fks.push(FkDraft {
                    columns: vec![name.to_owned()],
                    targets: vec![Target::Text(target.to_string())],
                    name: None,
                    ondelete,
                    onupdate: None,
                    deferrable: None,
                    initially: None,
                    at: (m, fat),
                });
            }
            Some(other) => {
                self.unresolved(&other, m, fat, &format!("the `foreign_key` of `{name}`"))
            }
        }
        let server_default = match kw("sa_column_kwargs") {
            Some(Value::Dict(d)) => {
                match d.iter().find(|(k, _)| k.as_str() == Some("server_default")) {
                    Some((_, v)) => self.sql_text(v, m, fat).ok().flatten(),
                    None => None,
                }
            }
            _ => None,
        };
        let column = Column {
            name: name.to_owned(),
            ty,
            nullable,
            primary_key,
            autoincrement: None,
            server_default,
            comment: None,
            unique,
        };
        Some((
            ColDraft {
                key: name.to_owned(),
                column,
                type_from_fk: false,
                explicit_nullable: true,
                index,
                sort_order: 0,
                at: (m, at),
            },
            fks,
            Vec::new(),
        ))
    }

    /// SQL text of a `server_default`, an index expression or a check.
    fn sql_text(&mut self, v: &Value<'p>, m: usize, at: TextSize) -> Result<Option<String>, ()> {
        match v {
            Value::Str(s) => Ok(Some(format!("'{}'", s.replace('\'', "''")))),
            Value::SqlExpr(s) => Ok(Some(s.to_string())),
            // A member of a `str` enum is a string to SQLAlchemy.
            Value::EnumMember(..) => match self.ev.attr(m, v.clone(), "value", at) {
                Value::Str(s) => Ok(Some(format!("'{}'", s.replace('\'', "''")))),
                other => {
                    self.unresolved(&other, m, at, "the value of this enum member");
                    Err(())
                }
            },
            Value::Call(c) if is_sa(&c.callee) => {
                match c.name() {
                    "text" | "literal_column" => match c.args.first() {
                        Some(Value::Str(s)) => Ok(Some(s.to_string())),
                        other => {
                            let other = other.cloned().unwrap_or(Value::None);
                            self.unresolved(&other, m, at, "the SQL text");
                            Err(())
                        }
                    },
                    "true" => Ok(Some("true".into())),
                    "false" => Ok(Some("false".into())),
                    "null" => Ok(Some("NULL".into())),
                    "FetchedValue" => Ok(None),
                    name if c.callee.contains(".func.") => {
                        if !c.args.is_empty() || !c.kwargs.is_empty() {
                            self.diag("SA102", m, at, format!("SQL function `{name}` with arguments is not rendered statically"))
                            .hints
                            .push(IMPORT_HINT.to_owned());
                            return Err(());
                        }
                        const ANSI: &[&str] = &[
                            "current_timestamp",
                            "current_date",
                            "current_time",
                            "localtime",
                            "localtimestamp",
                            "current_user",
                            "session_user",
                            "user",
                        ];
                        if ANSI.contains(&name.to_lowercase().as_str()) {
                            Ok(Some(name.to_uppercase()))
                        } else {
                            Ok(Some(format!("{name}()")))
                        }
                    }
                    _ => {
                        self.diag(
                            "SA102",
                            m,
                            at,
                            format!("`{}(...)` is not rendered as SQL statically", c.name()),
                        )
                        .hints
                        .push(IMPORT_HINT.to_owned());
                        Err(())
                    }
                }
            }
            Value::Unknown(_) => {
                self.unresolved(v, m, at, "the SQL expression");
                Err(())
            }
            _ => {
                self.diag("SA102", m, at, "A server default must be a string, `text(...)` or a SQL function")
                    .hints
                    .push("SQLAlchemy refuses numbers and booleans here too: write `server_default=\"0\"` or `text(\"0\")`".to_owned());
                Err(())
            }
        }
    }

    /// An optional keyword value `take` accepts (`None` when absent or `None`); any other
    /// value is reported as unresolved.
    fn opt<T>(
        &mut self,
        v: Option<&Value<'p>>,
        m: usize,
        at: TextSize,
        what: &str,
        take: impl Fn(&Value<'p>) -> Option<T>,
    ) -> Option<T> {
        match v {
            None | Some(Value::None) => None,
            Some(v) => {
                let got = take(v);
                if got.is_none() {
                    let other = v.clone();
                    self.unresolved(&other, m, at, what);
                }
                got
            }
        }
    }

    fn opt_str(
        &mut self,
        v: Option<&Value<'p>>,
        m: usize,
        at: TextSize,
        what: &str,
    ) -> Option<String> {
        self.opt(v, m, at, what, |v| v.as_str().map(str::to_owned))
    }

    fn opt_bool(
        &mut self,
        v: Option<&Value<'p>>,
        m: usize,
        at: TextSize,
        what: &str,
    ) -> Option<bool> {
        self.opt(v, m, at, what, |v| match v {
            Value::Bool(b) => Some(*b),
            _ => None,
        })
    }

    fn foreign_key(&mut self, c: &Rc<Call<'p>>, columns: Vec<String>) -> Option<FkDraft<'p>> {
        let (m, at) = (c.site.0, TextSize::new(c.site.1));
        let target = match c.args.first().or_else(|| c.kw("column")) {
            Some(Value::Str(s)) => Target::Text(s.to_string()),
            Some(Value::ColumnRef(r)) => Target::Ref(r.clone()),
            other => {
                let other = other.cloned().unwrap_or(Value::None);
                self.unresolved(&other, m, at, "the target of this `ForeignKey`");
                return None;
            }
        };
        Some(FkDraft {
            columns,
            targets: vec![target],
            name: self.opt_str(c.kw("name"), m, at, "the foreign key name"),
            ondelete: self.opt_str(c.kw("ondelete"), m, at, "`ondelete=`"),
            onupdate: self.opt_str(c.kw("onupdate"), m, at, "`onupdate=`"),
            deferrable: self.opt_bool(c.kw("deferrable"), m, at, "`deferrable=`"),
            initially: self.opt_str(c.kw("initially"), m, at, "`initially=`"),
            at: (m, at),
        })
    }

    fn check(&mut self, c: &Rc<Call<'p>>) -> Option<CheckDraft> {
        let (m, at) = (c.site.0, TextSize::new(c.site.1));
        let sql = match c.args.first().or_else(|| c.kw("sqltext")) {
            Some(Value::Str(s)) => s.to_string(),
            Some(v @ (Value::Call(_) | Value::SqlExpr(_))) => {
                let v = v.clone();
                self.sql_text(&v, m, at).ok().flatten()?
            }
            other => {
                let other = other.cloned().unwrap_or(Value::None);
                if matches!(other, Value::Unknown(_)) {
                    self.unresolved(&other, m, at, "the condition of this `CheckConstraint`");
                } else {
                    self.diag(
                        "SA102",
                        m,
                        at,
                        "Only string conditions of `CheckConstraint` are understood statically",
                    )
                    .hints
                    .push(IMPORT_HINT.to_owned());
                }
                return None;
            }
        };
        // CheckConstraint(sqltext, name=None, ...)
        let name = self.opt_str(c.arg(1, "name"), m, at, "the constraint name");
        Some((name, sql, (m, at)))
    }

    /// Column keys named by constraint arguments: strings or column references.
    fn column_keys(
        &mut self,
        t: usize,
        items: &[Value<'p>],
        m: usize,
        at: TextSize,
    ) -> Option<Vec<String>> {
        let mut out = Vec::new();
        for item in items {
            match item {
                Value::Str(s) => out.push(s.to_string()),
                Value::ColumnRef(r) => out.push(self.ref_key(r)),
                Value::Call(c) if is_sa(&c.callee) && c.name() == "Column" => {
                    match c.args.first() {
                        Some(Value::Str(s)) => out.push(s.to_string()),
                        _ => {
                            self.diag(
                                "SA101",
                                m,
                                at,
                                "A `Column` inside a constraint needs a name",
                            )
                            .hints
                            .push(IMPORT_HINT.to_owned());
                            return None;
                        }
                    }
                }
                other => {
                    self.unresolved(other, m, at, "a column of this constraint");
                    return None;
                }
            }
        }
        let _ = t;
        Some(out)
    }

    fn ref_key(&self, r: &ColumnRef<'p>) -> String {
        match r {
            ColumnRef::Attr { attr, .. } => attr.clone(),
            ColumnRef::Table { column, .. } => column.clone(),
        }
    }

    /// A constraint or index from `__table_args__` or `Table(...)`.
    fn table_item(&mut self, t: usize, item: &Value<'p>, m: usize, at: TextSize) {
        let Value::Call(c) = item else {
            if !matches!(item, Value::None) {
                self.unresolved(item, m, at, "an entry of `__table_args__`");
            }
            return;
        };
        let (cm, cat) = (c.site.0, TextSize::new(c.site.1));
        match c.name() {
            "UniqueConstraint" => {
                if let Some(cols) = self.column_keys(t, &c.args, cm, cat) {
                    let name = self.opt_str(c.kw("name"), cm, cat, "the constraint name");
                    self.drafts[t].uniques.push((name, cols, (cm, cat)));
                }
            }
            "PrimaryKeyConstraint" => {
                if let Some(cols) = self.column_keys(t, &c.args, cm, cat) {
                    let name = self.opt_str(c.kw("name"), cm, cat, "the constraint name");
                    self.drafts[t].pk = Some((name, cols, (cm, cat)));
                }
            }
            "CheckConstraint" => {
                if let Some(ck) = self.check(c) {
                    self.drafts[t].checks.push(ck);
                }
            }
            "ForeignKeyConstraint" => {
                let cols = match c.args.first().or_else(|| c.kw("columns")) {
                    Some(Value::Seq(items)) => self.column_keys(t, items, cm, cat),
                    other => {
                        let other = other.cloned().unwrap_or(Value::None);
                        self.unresolved(
                            &other,
                            cm,
                            cat,
                            "the columns of this `ForeignKeyConstraint`",
                        );
                        None
                    }
                };
                let targets = match c.args.get(1).or_else(|| c.kw("refcolumns")) {
                    Some(Value::Seq(items)) => {
                        let mut out = Vec::new();
                        for i in items.iter() {
                            match i {
                                Value::Str(s) => out.push(Target::Text(s.to_string())),
                                Value::ColumnRef(r) => out.push(Target::Ref(r.clone())),
                                other => {
                                    self.unresolved(other, cm, cat, "a referred column");
                                    return;
                                }
                            }
                        }
                        Some(out)
                    }
                    other => {
                        let other = other.cloned().unwrap_or(Value::None);
                        self.unresolved(
                            &other,
                            cm,
                            cat,
                            "the referred columns of this `ForeignKeyConstraint`",
                        );
                        None
                    }
                };
                if let (Some(columns), Some(targets)) = (cols, targets) {
                    let fk = FkDraft {
                        columns,
                        targets,
                        // ForeignKeyConstraint(columns, refcolumns, name=None,
                        // onupdate=None, ondelete=None, deferrable=None, initially=None, ...)
                        name: self.opt_str(c.arg(2, "name"), cm, cat, "the constraint name"),
                        ondelete: self.opt_str(c.arg(4, "ondelete"), cm, cat, "`ondelete=`"),
                        onupdate: self.opt_str(c.arg(3, "onupdate"), cm, cat, "`onupdate=`"),
                        deferrable: self.opt_bool(c.arg(5, "deferrable"), cm, cat, "`deferrable=`"),
                        initially: self.opt_str(c.arg(6, "initially"), cm, cat, "`initially=`"),
                        at: (cm, cat),
                    };
                    self.drafts[t].fks.push(fk);
                }
            }
            "Index" => {
                if let Some(ix) = self.index(c) {
                    self.drafts[t].indexes.push(ix);
                }
            }
            _ if !is_sa(&c.callee) => {
                self.diag(
                    "SA102",
                    cm,
                    cat,
                    format!(
                        "`{}` in table arguments is not understood statically",
                        c.callee
                    ),
                )
                .hints
                .push(IMPORT_HINT.to_owned());
            }
            _ => {}
        }
    }

    fn index(&mut self, c: &Rc<Call<'p>>) -> Option<IndexDraft> {
        let (m, at) = (c.site.0, TextSize::new(c.site.1));
        let name = match c.args.first() {
            Some(Value::Str(s)) => Some(s.to_string()),
            Some(Value::None) => None,
            other => {
                let other = other.cloned().unwrap_or(Value::None);
                self.unresolved(&other, m, at, "the index name");
                return None;
            }
        };
        let mut columns = Vec::new();
        for item in c.args.iter().skip(1) {
            match item {
                Value::Str(s) => columns.push(IndexCol::Key(s.to_string())),
                Value::ColumnRef(r) => columns.push(IndexCol::Key(self.ref_key(r))),
                Value::Call(e) if is_sa(&e.callee) && e.name() == "text" => {
                    let e = item.clone();
                    columns.push(IndexCol::Expr(self.sql_text(&e, m, at).ok().flatten()?));
                }
                Value::Call(e) if is_sa(&e.callee) && matches!(e.name(), "desc" | "asc") => {
                    let Some(Value::ColumnRef(r)) = e.args.first() else {
                        let other = e.args.first().cloned().unwrap_or(Value::None);
                        self.unresolved(&other, m, at, "an index column");
                        return None;
                    };
                    let col = self.column_name_of_ref(r);
                    columns.push(IndexCol::Expr(format!("{col} {}", e.name().to_uppercase())));
                }
                Value::Call(e) if e.callee.contains(".func.") => {
                    let mut parts = Vec::new();
                    for a in &e.args {
                        match a {
                            Value::ColumnRef(r) => parts.push(self.column_name_of_ref(r)),
                            Value::Call(c)
                                if is_sa(&c.callee)
                                    && c.name() == "Column"
                                    && matches!(c.args.first(), Some(Value::Str(_))) =>
                            {
                                if let Some(Value::Str(name)) = c.args.first() {
                                    parts.push(name.to_string());
                                }
                            }
                            Value::Call(t) if is_sa(&t.callee) && t.name() == "text" => {
                                match t.args.first() {
                                    Some(Value::Str(s)) => parts.push(s.to_string()),
                                    other => {
                                        let other = other.cloned().unwrap_or(Value::None);
                                        self.unresolved(
                                            &other,
                                            m,
                                            at,
                                            "an index expression argument",
                                        );
                                        return None;
                                    }
                                }
                            }
                            other => {
                                self.unresolved(other, m, at, "an index expression argument");
                                return None;
                            }
                        }
                    }
                    columns.push(IndexCol::Expr(format!(
                        "{}({})",
                        e.name(),
                        parts.join(", ")
                    )));
                }
                other => {
                    self.unresolved(other, m, at, "an index column");
                    return None;
                }
            }
        }
        let unique = match c.kw("unique") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                let other = other.clone();
                self.unresolved(&other, m, at, "`unique=`");
                false
            }
        };
        let where_ = match c.kw("postgresql_where").or_else(|| c.kw("sqlite_where")) {
            None | Some(Value::None) => None,
            Some(v) => {
                let v = v.clone();
                match v {
                    Value::Str(s) => Some(s.to_string()),
                    other => self.sql_text(&other, m, at).ok().flatten(),
                }
            }
        };
        Some(IndexDraft {
            name,
            columns,
            unique,
            where_,
            at: (m, at),
        })
    }

    /// The column name a reference points at (its key when the table is not known yet).
    fn column_name_of_ref(&mut self, r: &ColumnRef<'p>) -> String {
        if let Some((t, key)) = self.resolve_ref(r)
            && let Some(i) = self.drafts[t].column_index(&key)
        {
            return self.drafts[t].columns[i].column.name.clone();
        }
        self.ref_key(r)
    }

    /// The draft and column key a reference points at.
    fn resolve_ref(&mut self, r: &ColumnRef<'p>) -> Option<(usize, String)> {
        match r {
            ColumnRef::Attr { class, attr } => match self.role(*class) {
                Role::Mapped(_, t) => Some((t, attr.clone())),
                _ => None,
            },
            ColumnRef::Table { table, column } => {
                let t = self.core_table(table)?;
                Some((t, column.clone()))
            }
        }
    }

    fn standalone_index(&mut self, m: usize, expr: &'p Expr) {
        let v = self.ev.eval(m, expr, None);
        let c = match &v {
            Value::Call(c) if is_sa(&c.callee) && c.name() == "Index" => c.clone(),
            Value::Unknown(_) => return self.unresolved(&v, m, expr.start(), "this `Index(...)`"),
            _ => return,
        };
        let table = c.args.iter().skip(1).find_map(|a| match a {
            Value::ColumnRef(r) => Some(r.clone()),
            Value::Call(e) => e.args.iter().find_map(|x| match x {
                Value::ColumnRef(r) => Some(r.clone()),
                _ => None,
            }),
            _ => None,
        });
        let Some(r) = table else {
            self.diag(
                "SA101",
                m,
                expr.start(),
                "Cannot tell which table this `Index` belongs to",
            )
            .hints
            .push("Name the columns as `Model.column` or `table.c.column`".to_owned());
            return;
        };
        let Some((t, _)) = self.resolve_ref(&r) else {
            self.diag(
                "SA101",
                m,
                expr.start(),
                "This `Index` refers to a class or table that is not mapped",
            )
            .hints
            .push(IMPORT_HINT.to_owned());
            return;
        };
        if let Some(ix) = self.index(&c) {
            let before = self.lens(t);
            self.drafts[t].indexes.push(ix);
            self.record(m, t, before);
        }
    }

    /// A Core `Table("name", metadata, Column(...), ...)`; built once per call site.
    fn core_table(&mut self, c: &Rc<Call<'p>>) -> Option<usize> {
        if let Some(&t) = self.core_tables.get(&table_key(c)) {
            return Some(t);
        }
        let (m, at) = (c.site.0, TextSize::new(c.site.1));
        let name = match c.args.first() {
            Some(Value::Str(s)) => s.to_string(),
            other => {
                let other = other.cloned().unwrap_or(Value::None);
                self.unresolved(&other, m, at, "the table name");
                return None;
            }
        };
        if c.kw("autoload_with").is_some() || matches!(c.kw("autoload"), Some(Value::Bool(true))) {
            self.diag("SA102", m, at, format!("Table `{name}` is reflected from the database (`autoload_with`)"))
                .hints
                .push("A reflected table describes the database, not the models: leave it out of discovery".to_owned());
            return None;
        }
        let flask = c.recv.as_ref().filter(|r| r.name() == "SQLAlchemy");
        let (md, first_item) = match (c.args.get(1), flask) {
            (Some(v @ Value::Call(x)), _) if x.name() == "MetaData" => (v.clone(), 2),
            (_, Some(db)) => (metadata_of(db), 1),
            (other, None) => (other.cloned().unwrap_or(Value::None), 2),
        };
        let meta = self.meta(&md, m, at);
        let t = self.drafts.len();
        self.core_tables.insert(table_key(c), t);
        self.drafts.push(Draft {
            name,
            schema: meta.schema.clone(),
            comment: None,
            meta,
            columns: Vec::new(),
            fks: Vec::new(),
            indexes: Vec::new(),
            uniques: Vec::new(),
            checks: Vec::new(),
            pk: None,
            source: (m, at),
        });
        let ctx = Ctx {
            meta: self.drafts[t].meta.clone(),
            flavor: Flavor::Declarative,
            annotation_map: Rc::new(Vec::new()),
        };
        for item in c.args.iter().skip(first_item) {
            match item {
                Value::Call(col) if is_sa(&col.callee) && col.name() == "Column" => {
                    let key = match col.args.first().or_else(|| col.kw("name")) {
                        Some(Value::Str(s)) => s.to_string(),
                        other => {
                            let other = other.cloned().unwrap_or(Value::None);
                            self.unresolved(
                                &other,
                                col.site.0,
                                TextSize::new(col.site.1),
                                "the column name",
                            );
                            continue;
                        }
                    };
                    if let Some((col, fks, checks)) =
                        self.sa_column(&ctx, col, &key, None, m, false)
                    {
                        self.drafts[t].fks.extend(fks);
                        self.drafts[t].checks.extend(checks);
                        self.drafts[t].columns.push(col);
                    }
                }
                other => self.table_item(t, other, m, at),
            }
        }
        let schema = self.opt_str(c.kw("schema"), m, at, "the table schema");
        if schema.is_some() {
            self.drafts[t].schema = schema;
        }
        self.drafts[t].comment = self.opt_str(c.kw("comment"), m, at, "the table comment");
        Some(t)
    }

    // ---- exporting ------------------------------------------------------------

    /// A position as file:line:col.
    fn pos(&self, (m, at): Loc) -> Pos {
        let module = &self.ev.project.modules[m];
        let (line, col) = module.parsed().line_col(at);
        Pos {
            file: module.rel.clone(),
            line,
            col,
        }
    }

    fn is_candidate(&self, m: usize) -> bool {
        self.ev.project.modules.get(m).is_some_and(|x| x.candidate)
    }

    /// Builds what foreign keys refer to in other model candidates: a pass over the
    /// whole project builds every candidate's classes and tables, so a unit must too.
    fn build_fk_targets(&mut self) {
        let mut t = 0;
        while t < self.drafts.len() {
            let mut f = 0;
            while f < self.drafts[t].fks.len() {
                let refs: Vec<Rc<ColumnRef<'p>>> = self.drafts[t].fks[f]
                    .targets
                    .iter()
                    .filter_map(|x| match x {
                        Target::Ref(r) => Some(r.clone()),
                        Target::Text(_) => None,
                    })
                    .collect();
                for r in refs {
                    match r.as_ref() {
                        ColumnRef::Attr { class, .. } if self.is_candidate(class.module) => {
                            self.role(*class);
                        }
                        ColumnRef::Table { table, .. } if self.is_candidate(table.site.0) => {
                            self.core_table(table);
                        }
                        _ => {}
                    }
                }
                f += 1;
            }
            t += 1;
        }
    }

    fn export_target(
        &mut self,
        drafts: &[Draft<'p>],
        target: &Target<'p>,
        at: Loc,
    ) -> Option<TargetDraft> {
        let r = match target {
            Target::Text(s) => return Some(TargetDraft::Text(s.clone())),
            Target::Ref(r) => r.clone(),
        };
        let (t, key) = match r.as_ref() {
            ColumnRef::Attr { class, attr } => match self.roles.get(&class.key()) {
                Some(Role::Mapped(_, t)) => (*t, attr.clone()),
                _ => {
                    self.diag(
                        "SA101",
                        at.0,
                        at.1,
                        format!(
                            "Foreign key refers to `{}.{attr}`, which is not a mapped class",
                            class.name()
                        ),
                    )
                    .hints
                    .push(IMPORT_HINT.to_owned());
                    return None;
                }
            },
            ColumnRef::Table { table, column } => match self.core_tables.get(&table_key(table)) {
                Some(&t) => (t, column.clone()),
                None => {
                    self.diag(
                        "SA101",
                        at.0,
                        at.1,
                        "Foreign key refers to a table that was not discovered",
                    );
                    return None;
                }
            },
        };
        Some(TargetDraft::Table {
            source: self.pos(drafts[t].source),
            table: drafts[t].name.clone(),
            key,
        })
    }

    fn export_fk(&mut self, drafts: &[Draft<'p>], fk: &FkDraft<'p>) -> Option<unit::FkDraft> {
        let mut targets = Vec::new();
        for target in &fk.targets {
            targets.push(self.export_target(drafts, target, fk.at)?);
        }
        Some(unit::FkDraft {
            columns: fk.columns.clone(),
            targets,
            name: fk.name.clone(),
            ondelete: fk.ondelete.clone(),
            onupdate: fk.onupdate.clone(),
            deferrable: fk.deferrable,
            initially: fk.initially.clone(),
            at: self.pos(fk.at),
        })
    }

    fn export_column(&self, c: &ColDraft) -> ColumnDraft {
        ColumnDraft {
            key: c.key.clone(),
            column: c.column.clone(),
            type_from_fk: c.type_from_fk,
            explicit_nullable: c.explicit_nullable,
            index: c.index,
            at: self.pos(c.at),
        }
    }

    fn export_index(&self, ix: &IndexDraft) -> unit::IndexDraft {
        unit::IndexDraft {
            name: ix.name.clone(),
            columns: ix
                .columns
                .iter()
                .map(|c| match c {
                    IndexCol::Key(k) => IndexColumn::Key(k.clone()),
                    IndexCol::Expr(e) => IndexColumn::Expr(e.clone()),
                })
                .collect(),
            unique: ix.unique,
            where_: ix.where_.clone(),
            at: self.pos(ix.at),
        }
    }

    fn export_named(&self, (name, columns, at): &Named) -> NamedDraft {
        NamedDraft {
            name: name.clone(),
            columns: columns.clone(),
            at: self.pos(*at),
        }
    }

    fn export_check(&self, (name, sqltext, at): &CheckDraft) -> unit::CheckDraft {
        unit::CheckDraft {
            name: name.clone(),
            sqltext: sqltext.clone(),
            at: self.pos(*at),
        }
    }

    /// What module `unit` defines: its own tables (and those of modules that are not
    /// model candidates, which no other unit reports), minus what other candidates add
    /// to them, plus what `unit` adds to tables defined elsewhere.
    fn export(mut self, unit: usize) -> UnitOutput {
        self.build_fk_targets();
        let drafts = std::mem::take(&mut self.drafts);
        let contributions = std::mem::take(&mut self.contributions);
        // Per draft, the element indices (columns, fks, checks, indexes) another
        // candidate module adds: that module's unit reports them.
        let mut foreign: Vec<[HashSet<usize>; 4]> =
            drafts.iter().map(|_| Default::default()).collect();
        let mut out = UnitOutput::default();
        for c in &contributions {
            let owner = drafts[c.table].source.0;
            if c.origin == owner || !self.is_candidate(c.origin) {
                continue;
            }
            for (kind, range) in c.ranges.iter().enumerate() {
                foreign[c.table][kind].extend(range.clone());
            }
            if c.origin == unit {
                let d = &drafts[c.table];
                let mut fks = Vec::new();
                for fk in &d.fks[c.ranges[1].clone()] {
                    if let Some(fk) = self.export_fk(&drafts, fk) {
                        fks.push(fk);
                    }
                }
                out.contributions.push(Contribution {
                    target: self.pos(d.source),
                    target_table: d.name.clone(),
                    columns: d.columns[c.ranges[0].clone()]
                        .iter()
                        .map(|x| self.export_column(x))
                        .collect(),
                    fks,
                    checks: d.checks[c.ranges[2].clone()]
                        .iter()
                        .map(|x| self.export_check(x))
                        .collect(),
                    indexes: d.indexes[c.ranges[3].clone()]
                        .iter()
                        .map(|x| self.export_index(x))
                        .collect(),
                });
            }
        }
        for (t, d) in drafts.iter().enumerate() {
            let owner = d.source.0;
            if owner != unit && self.is_candidate(owner) {
                continue;
            }
            let [fc, ff, fch, fi] = &foreign[t];
            let mut fks = Vec::new();
            for (i, fk) in d.fks.iter().enumerate() {
                if !ff.contains(&i)
                    && let Some(fk) = self.export_fk(&drafts, fk)
                {
                    fks.push(fk);
                }
            }
            out.tables.push(TableDraft {
                name: d.name.clone(),
                schema: d.schema.clone(),
                comment: d.comment.clone(),
                convention: d.meta.convention.entries.clone(),
                columns: d
                    .columns
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !fc.contains(i))
                    .map(|(_, x)| self.export_column(x))
                    .collect(),
                fks,
                indexes: d
                    .indexes
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !fi.contains(i))
                    .map(|(_, x)| self.export_index(x))
                    .collect(),
                uniques: d.uniques.iter().map(|x| self.export_named(x)).collect(),
                checks: d
                    .checks
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !fch.contains(i))
                    .map(|(_, x)| self.export_check(x))
                    .collect(),
                pk: d.pk.as_ref().map(|x| self.export_named(x)),
                source: self.pos(d.source),
            });
        }
        out.diagnostics = self.diagnostics;
        out
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
