//! Conversions between the tool's own types and the WIT types, in one place.
//!
//! Input: a [`crate::signals::Signal`], a schema [`Table`], an [`Op`], or what a
//! plugin returned (a verdict, located tables, diagnostics, dialect info,
//! statements). Output: the other side. The IR never sees a WIT type: the host
//! converts at the call and nowhere else.
//!
//! IR -> WIT never fails and drops nothing (an array of arrays becomes
//! `array-dimensions = 2`). WIT -> IR checks what a plugin returned and refuses a
//! malformed value with a [`Malformed`] naming the table, column or statement and
//! what is wrong with it (an empty name, two columns of one name, a key naming a
//! column the table does not have, a foreign key whose column counts differ, an
//! empty statement), so nothing malformed reaches autogenerate or a database.

use std::collections::BTreeMap;

use chrono::SecondsFormat;

use super::bindings::sqlalembic::plugin::types;
use super::bindings::{wit_dialect, wit_discovery, wit_ops, wit_schema};
use crate::db::Backend;
use crate::diagnostic::{Diagnostic, Severity};
use crate::dialect::{Capabilities, Statement};
use crate::ops::{self, Op};
use crate::schema::{
    CheckConstraint, Column, ColumnType, ForeignKey, Index, PrimaryKey, Table, UniqueConstraint,
};
use crate::signals::{Signal, Verdict};

/// What was wrong with a value a plugin returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// Array dimensions beyond this are refused (no database nests deeper).
const MAX_ARRAY_DIMENSIONS: u32 = 8;

impl From<&Signal> for types::Signal {
    fn from(signal: &Signal) -> Self {
        types::Signal {
            name: signal.name.clone(),
            command: signal.command.clone(),
            payload: signal.payload.to_string(),
            timestamp: signal
                .timestamp
                .to_rfc3339_opts(SecondsFormat::Micros, true),
        }
    }
}

impl From<types::Verdict> for Verdict {
    fn from(verdict: types::Verdict) -> Self {
        match verdict {
            types::Verdict::Proceed => Verdict::Proceed,
            types::Verdict::Warn(message) => Verdict::Warn(message),
            types::Verdict::Deny(reason) => Verdict::Deny(reason),
        }
    }
}

impl From<types::LogLevel> for tracing::Level {
    fn from(level: types::LogLevel) -> Self {
        match level {
            types::LogLevel::Trace => tracing::Level::TRACE,
            types::LogLevel::Debug => tracing::Level::DEBUG,
            types::LogLevel::Info => tracing::Level::INFO,
            types::LogLevel::Warn => tracing::Level::WARN,
            types::LogLevel::Error => tracing::Level::ERROR,
        }
    }
}

// ---------------------------------------------------------------------------
// Column types

impl From<&ColumnType> for wit_schema::ColumnType {
    fn from(ty: &ColumnType) -> Self {
        let mut dimensions = 0;
        let mut inner = ty;
        while let ColumnType::Array(element) = inner {
            dimensions += 1;
            inner = element;
        }
        use wit_schema::ScalarType as S;
        let scalar = match inner {
            ColumnType::Integer => S::Integer,
            ColumnType::BigInteger => S::BigInteger,
            ColumnType::SmallInteger => S::SmallInteger,
            ColumnType::Boolean => S::Boolean,
            ColumnType::String(n) => S::String(*n),
            ColumnType::Text => S::Text,
            ColumnType::Unicode(n) => S::Unicode(*n),
            ColumnType::Numeric(p) => {
                S::Numeric(p.map(|(precision, scale)| wit_schema::Precision { precision, scale }))
            }
            ColumnType::Float => S::Float,
            ColumnType::Date => S::Date,
            ColumnType::DateTime { timezone } => S::DateTime(*timezone),
            ColumnType::Time => S::Time,
            ColumnType::Interval => S::Interval,
            ColumnType::LargeBinary => S::LargeBinary,
            ColumnType::Json => S::Json,
            ColumnType::Uuid => S::Uuid,
            ColumnType::Enum { name, values } => S::Enum(wit_schema::EnumType {
                name: name.clone(),
                values: values.clone(),
            }),
            ColumnType::Custom(text) => S::Custom(text.clone()),
            // The interface has no timestamp or variant of its own: their spelling,
            // parsed back.
            ColumnType::Timestamp { .. } | ColumnType::Variant { .. } => {
                S::Custom(inner.to_string())
            }
            ColumnType::Array(_) => unreachable!("arrays were unwrapped above"),
        };
        wit_schema::ColumnType {
            scalar,
            array_dimensions: dimensions,
        }
    }
}

impl TryFrom<wit_schema::ColumnType> for ColumnType {
    type Error = Malformed;

    fn try_from(ty: wit_schema::ColumnType) -> Result<Self, Malformed> {
        use wit_schema::ScalarType as S;
        let scalar = match ty.scalar {
            S::Integer => ColumnType::Integer,
            S::BigInteger => ColumnType::BigInteger,
            S::SmallInteger => ColumnType::SmallInteger,
            S::Boolean => ColumnType::Boolean,
            S::String(n) => ColumnType::String(n),
            S::Text => ColumnType::Text,
            S::Unicode(n) => ColumnType::Unicode(n),
            S::Numeric(p) => ColumnType::Numeric(p.map(|p| (p.precision, p.scale))),
            S::Float => ColumnType::Float,
            S::Date => ColumnType::Date,
            S::DateTime(timezone) => ColumnType::DateTime { timezone },
            S::Time => ColumnType::Time,
            S::Interval => ColumnType::Interval,
            S::LargeBinary => ColumnType::LargeBinary,
            S::Json => ColumnType::Json,
            S::Uuid => ColumnType::Uuid,
            S::Enum(e) => ColumnType::Enum {
                name: e.name,
                values: e.values,
            },
            S::Custom(text) => {
                let text = text.trim();
                if text.is_empty() {
                    return Err(Malformed("a custom type with an empty name".into()));
                }
                match ColumnType::parse(text) {
                    t @ (ColumnType::Timestamp { .. } | ColumnType::Variant { .. }) => t,
                    _ => ColumnType::Custom(text.to_owned()),
                }
            }
        };
        if ty.array_dimensions > MAX_ARRAY_DIMENSIONS {
            return Err(Malformed(format!(
                "an array of {} dimensions (at most {MAX_ARRAY_DIMENSIONS})",
                ty.array_dimensions
            )));
        }
        let mut out = scalar;
        for _ in 0..ty.array_dimensions {
            out = ColumnType::Array(Box::new(out));
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------
// Tables, IR -> WIT

impl From<&Column> for wit_schema::Column {
    fn from(c: &Column) -> Self {
        wit_schema::Column {
            name: c.name.clone(),
            type_: (&c.ty).into(),
            nullable: c.nullable,
            primary_key: c.primary_key,
            autoincrement: c.autoincrement,
            server_default: c.server_default.clone(),
            comment: c.comment.clone(),
            unique: c.unique,
        }
    }
}

impl From<&ForeignKey> for wit_schema::ForeignKey {
    fn from(fk: &ForeignKey) -> Self {
        wit_schema::ForeignKey {
            name: fk.name.clone(),
            columns: fk.columns.clone(),
            ref_schema: fk.ref_schema.clone(),
            ref_table: fk.ref_table.clone(),
            ref_columns: fk.ref_columns.clone(),
            on_delete: fk.ondelete.clone(),
            on_update: fk.onupdate.clone(),
        }
    }
}

impl From<&Index> for wit_schema::Index {
    fn from(ix: &Index) -> Self {
        wit_schema::Index {
            name: ix.name.clone(),
            table: ix.table.clone(),
            columns: ix.columns.clone(),
            unique: ix.unique,
            predicate: ix.where_.clone(),
        }
    }
}

impl From<&UniqueConstraint> for wit_schema::UniqueConstraint {
    fn from(u: &UniqueConstraint) -> Self {
        wit_schema::UniqueConstraint {
            name: u.name.clone(),
            columns: u.columns.clone(),
        }
    }
}

impl From<&CheckConstraint> for wit_schema::CheckConstraint {
    fn from(c: &CheckConstraint) -> Self {
        wit_schema::CheckConstraint {
            name: c.name.clone(),
            sql_text: c.sqltext.clone(),
        }
    }
}

impl From<&Table> for wit_schema::Table {
    fn from(t: &Table) -> Self {
        wit_schema::Table {
            name: t.name.clone(),
            schema: t.schema.clone(),
            columns: t.columns.iter().map(Into::into).collect(),
            primary_key: t.primary_key.as_ref().map(|pk| wit_schema::PrimaryKey {
                name: pk.name.clone(),
                columns: pk.columns.clone(),
            }),
            foreign_keys: t.foreign_keys.iter().map(Into::into).collect(),
            indexes: t.indexes.iter().map(Into::into).collect(),
            uniques: t.uniques.iter().map(Into::into).collect(),
            checks: t.checks.iter().map(Into::into).collect(),
            comment: t.comment.clone(),
        }
    }
}

// ---------------------------------------------------------------------------
// Tables, WIT -> IR (checked)

fn nonempty(what: &str, text: String) -> Result<String, Malformed> {
    if text.trim().is_empty() || text.contains('\0') {
        Err(Malformed(format!("{what} is empty")))
    } else {
        Ok(text)
    }
}

fn column(c: wit_schema::Column, table: &str) -> Result<Column, Malformed> {
    let name = nonempty(&format!("a column name of table `{table}`"), c.name)?;
    let ty = ColumnType::try_from(c.type_)
        .map_err(|Malformed(m)| Malformed(format!("column `{table}.{name}` has {m}")))?;
    if let Some(default) = &c.server_default
        && default.trim().is_empty()
    {
        return Err(Malformed(format!(
            "column `{table}.{name}` has an empty server default"
        )));
    }
    Ok(Column {
        name,
        ty,
        nullable: c.nullable,
        primary_key: c.primary_key,
        autoincrement: c.autoincrement,
        server_default: c.server_default,
        comment: c.comment,
        unique: c.unique,
    })
}

/// Checks that every plain column named by `what` exists in `columns`.
fn known_columns(
    table: &str,
    what: &str,
    named: &[String],
    columns: &[Column],
    expressions: bool,
) -> Result<(), Malformed> {
    if named.is_empty() {
        return Err(Malformed(format!(
            "{what} of table `{table}` has no columns"
        )));
    }
    for name in named {
        if expressions && Index::is_expression(name) {
            continue;
        }
        if !columns.iter().any(|c| &c.name == name) {
            return Err(Malformed(format!(
                "{what} of table `{table}` names column `{name}`, which the table does not have"
            )));
        }
    }
    Ok(())
}

impl TryFrom<wit_schema::Table> for Table {
    type Error = Malformed;

    /// A table as a plugin returned it, checked: names present, columns unique,
    /// keys and indexes naming existing columns, foreign keys with matching column
    /// counts.
    fn try_from(t: wit_schema::Table) -> Result<Self, Malformed> {
        let name = nonempty("a table name", t.name)?;
        let shown = crate::schema::qualified(t.schema.as_deref(), &name);
        if let Some(schema) = &t.schema {
            nonempty(&format!("the schema of table `{name}`"), schema.clone())?;
        }
        if t.columns.is_empty() {
            return Err(Malformed(format!("table `{shown}` has no columns")));
        }
        let mut columns: Vec<Column> = Vec::with_capacity(t.columns.len());
        for c in t.columns {
            let c = column(c, &shown)?;
            if columns.iter().any(|o| o.name == c.name) {
                return Err(Malformed(format!(
                    "table `{shown}` has two columns called `{}`",
                    c.name
                )));
            }
            columns.push(c);
        }
        let primary_key = match t.primary_key {
            Some(pk) => {
                known_columns(&shown, "the primary key", &pk.columns, &columns, false)?;
                Some(PrimaryKey {
                    name: pk.name,
                    columns: pk.columns,
                })
            }
            None => None,
        };
        let mut foreign_keys = Vec::with_capacity(t.foreign_keys.len());
        for (i, fk) in t.foreign_keys.into_iter().enumerate() {
            let what = match &fk.name {
                Some(n) => format!("foreign key `{n}`"),
                None => format!("foreign key {}", i + 1),
            };
            known_columns(&shown, &what, &fk.columns, &columns, false)?;
            let ref_table = nonempty(
                &format!("the referenced table of {what} of table `{shown}`"),
                fk.ref_table,
            )?;
            if fk.ref_columns.len() != fk.columns.len() {
                return Err(Malformed(format!(
                    "{what} of table `{shown}` has {} column(s) but references {}",
                    fk.columns.len(),
                    fk.ref_columns.len()
                )));
            }
            foreign_keys.push(ForeignKey {
                name: fk.name,
                columns: fk.columns,
                ref_schema: fk.ref_schema,
                ref_table,
                ref_columns: fk.ref_columns,
                ondelete: fk.on_delete,
                onupdate: fk.on_update,
                // The interface carries no deferrability.
                deferrable: None,
                initially: None,
            });
        }
        let mut indexes = Vec::with_capacity(t.indexes.len());
        for ix in t.indexes {
            let ix_name = nonempty(&format!("an index name of table `{shown}`"), ix.name)?;
            if !ix.table.is_empty() && ix.table != name {
                return Err(Malformed(format!(
                    "index `{ix_name}` listed under table `{shown}` belongs to table `{}`",
                    ix.table
                )));
            }
            known_columns(
                &shown,
                &format!("index `{ix_name}`"),
                &ix.columns,
                &columns,
                true,
            )?;
            indexes.push(Index {
                name: ix_name,
                table: name.clone(),
                columns: ix.columns,
                unique: ix.unique,
                where_: ix.predicate,
                dialects: Vec::new(),
            });
        }
        let mut uniques = Vec::with_capacity(t.uniques.len());
        for u in t.uniques {
            let what = match &u.name {
                Some(n) => format!("unique constraint `{n}`"),
                None => "a unique constraint".to_owned(),
            };
            known_columns(&shown, &what, &u.columns, &columns, false)?;
            uniques.push(UniqueConstraint {
                name: u.name,
                columns: u.columns,
            });
        }
        let mut checks = Vec::with_capacity(t.checks.len());
        for c in t.checks {
            let sqltext = nonempty(
                &format!("the condition of a check constraint of table `{shown}`"),
                c.sql_text,
            )?;
            checks.push(CheckConstraint {
                name: c.name,
                sqltext,
            });
        }
        Ok(Table {
            name,
            schema: t.schema,
            columns,
            primary_key,
            foreign_keys,
            indexes,
            uniques,
            checks,
            comment: t.comment,
        })
    }
}

/// A table a discovery plugin returned, checked, with its file (relative to the
/// project root) and 1-based line.
pub fn located_table(
    located: wit_discovery::LocatedTable,
) -> Result<(Table, String, usize), Malformed> {
    let path = located.path.clone();
    let table = Table::try_from(located.table)
        .map_err(|Malformed(m)| Malformed(format!("{m} (defined at {path}:{})", located.line)))?;
    if path.trim().is_empty() {
        return Err(Malformed(format!(
            "table `{}` has no source file",
            table.qualified_name()
        )));
    }
    let line = usize::try_from(located.line).unwrap_or(usize::MAX).max(1);
    Ok((table, path, line))
}

impl From<wit_discovery::Diagnostic> for Diagnostic {
    fn from(d: wit_discovery::Diagnostic) -> Self {
        let severity = match d.severity {
            wit_discovery::Severity::Info => Severity::Info,
            wit_discovery::Severity::Warning => Severity::Warning,
            wit_discovery::Severity::Error => Severity::Error,
        };
        let code = if d.code.trim().is_empty() {
            "PLUGIN".to_owned()
        } else {
            d.code
        };
        let mut out = Diagnostic::new(&code, severity, d.message);
        if let Some(path) = d.path {
            let at = |n: Option<u32>| n.and_then(|n| usize::try_from(n).ok());
            out = out.at(path, at(d.line), at(d.column));
        }
        out.hints = d.hints;
        out
    }
}

// ---------------------------------------------------------------------------
// Ops, IR -> WIT (a dialect receives them; nothing comes back)

fn opt<T, U: for<'a> From<&'a T>>(value: &Option<T>) -> Option<U> {
    value.as_ref().map(Into::into)
}

/// An op as a dialect plugin receives it: one of the `op` variant (the world's
/// `render`), or one of the table-level ops of `0.1.2`, a `table-op` (the optional
/// `table-ops` export; kept apart so `op` keeps the shape `0.1.1` dialects were
/// built with).
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "one short-lived value per render call, moved straight into the call"
)]
pub enum WitOp {
    Op(wit_ops::Op),
    Table(wit_ops::TableOp),
}

impl From<&Op> for WitOp {
    fn from(op: &Op) -> Self {
        use wit_ops as w;
        // The table-level ops return early; everything else is an `op` case.
        let core = match op {
            Op::AlterTable(a) => {
                return WitOp::Table(w::TableOp::AlterTable(w::AlterTable {
                    table: a.table.clone(),
                    schema: a.schema.clone(),
                    comment: a.comment.clone(),
                    existing_comment: a.existing_comment.clone(),
                }));
            }
            Op::CreatePrimaryKey(c) => {
                return WitOp::Table(w::TableOp::CreatePrimaryKey(w::CreatePrimaryKey {
                    table: c.table.clone(),
                    schema: c.schema.clone(),
                    name: c.name.clone(),
                    columns: c.columns.clone(),
                }));
            }
            Op::DropPrimaryKey(d) => {
                return WitOp::Table(w::TableOp::DropPrimaryKey(w::DropPrimaryKey {
                    table: d.table.clone(),
                    schema: d.schema.clone(),
                    name: d.name.clone(),
                    columns: d.columns.clone(),
                }));
            }
            Op::CreateTable(c) => w::Op::CreateTable((&c.table).into()),
            Op::DropTable(d) => w::Op::DropTable(w::DropTable {
                table: d.table.clone(),
                schema: d.schema.clone(),
                definition: opt(&d.definition),
            }),
            Op::RenameTable(r) => w::Op::RenameTable(w::RenameTable {
                table: r.table.clone(),
                new_name: r.new_name.clone(),
                schema: r.schema.clone(),
            }),
            Op::AddColumn(a) => w::Op::AddColumn(w::AddColumn {
                table: a.table.clone(),
                schema: a.schema.clone(),
                column: (&a.column).into(),
            }),
            Op::DropColumn(d) => w::Op::DropColumn(w::DropColumn {
                table: d.table.clone(),
                schema: d.schema.clone(),
                column: d.column.clone(),
                definition: opt(&d.definition),
            }),
            Op::AlterColumn(a) => w::Op::AlterColumn(alter_column(a)),
            Op::CreateIndex(c) => w::Op::CreateIndex(w::CreateIndex {
                schema: c.schema.clone(),
                index: (&c.index).into(),
            }),
            Op::DropIndex(d) => w::Op::DropIndex(w::DropIndex {
                name: d.name.clone(),
                table: d.table.clone(),
                schema: d.schema.clone(),
                definition: opt(&d.definition),
            }),
            Op::CreateUnique(c) => w::Op::CreateUnique(w::CreateUnique {
                table: c.table.clone(),
                schema: c.schema.clone(),
                unique: (&c.unique).into(),
            }),
            Op::DropUnique(d) => w::Op::DropUnique(w::DropUnique {
                table: d.table.clone(),
                schema: d.schema.clone(),
                name: d.name.clone(),
                definition: opt(&d.definition),
            }),
            Op::CreateForeignKey(c) => w::Op::CreateForeignKey(w::CreateForeignKey {
                table: c.table.clone(),
                schema: c.schema.clone(),
                foreign_key: (&c.foreign_key).into(),
            }),
            Op::DropForeignKey(d) => w::Op::DropForeignKey(w::DropForeignKey {
                table: d.table.clone(),
                schema: d.schema.clone(),
                name: d.name.clone(),
                definition: opt(&d.definition),
            }),
            Op::CreateCheck(c) => w::Op::CreateCheck(w::CreateCheck {
                table: c.table.clone(),
                schema: c.schema.clone(),
                check: (&c.check).into(),
            }),
            Op::DropCheck(d) => w::Op::DropCheck(w::DropCheck {
                table: d.table.clone(),
                schema: d.schema.clone(),
                name: d.name.clone(),
                definition: opt(&d.definition),
            }),
            Op::Sql(s) => w::Op::Sql(raw_sql(s)),
        };
        WitOp::Op(core)
    }
}

fn alter_column(a: &ops::AlterColumn) -> wit_ops::AlterColumn {
    wit_ops::AlterColumn {
        table: a.table.clone(),
        schema: a.schema.clone(),
        column: a.column.clone(),
        new_name: a.new_name.clone(),
        type_: opt(&a.ty),
        nullable: a.nullable,
        server_default: a.server_default.clone(),
        comment: a.comment.clone(),
        existing_type: opt(&a.existing_type),
        existing_nullable: a.existing_nullable,
        existing_server_default: a.existing_server_default.clone(),
        existing_comment: a.existing_comment.clone(),
    }
}

fn raw_sql(s: &ops::Sql) -> wit_ops::RawSql {
    let dialects: &BTreeMap<String, String> = &s.dialects;
    wit_ops::RawSql {
        sql: s.sql.clone(),
        dialects: dialects
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        down: s.down.clone(),
    }
}

// ---------------------------------------------------------------------------
// Dialect answers

impl From<wit_dialect::Protocol> for Backend {
    fn from(p: wit_dialect::Protocol) -> Self {
        match p {
            wit_dialect::Protocol::Postgres => Backend::Postgres,
            wit_dialect::Protocol::Mysql => Backend::Mysql,
            wit_dialect::Protocol::Sqlite => Backend::Sqlite,
        }
    }
}

impl From<wit_dialect::Capabilities> for Capabilities {
    fn from(c: wit_dialect::Capabilities) -> Self {
        Capabilities {
            transactional_ddl: c.transactional_ddl,
            alter_column: c.alter_column,
            comments: c.comments,
            partial_indexes: c.partial_indexes,
            named_enums: c.named_enums,
            arrays: c.arrays,
            check_constraints: c.check_constraints,
        }
    }
}

/// The statements a dialect rendered for `op`, checked: none may be empty. An op
/// other than `sql` must render to at least one statement.
pub fn statements(
    op: &Op,
    rendered: Vec<wit_dialect::Statement>,
) -> Result<Vec<Statement>, Malformed> {
    if rendered.is_empty() && !matches!(op, Op::Sql(_)) {
        return Err(Malformed(format!(
            "no statement for `{}` ({})",
            op.name(),
            op.describe()
        )));
    }
    rendered
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            if s.sql.trim().is_empty() || s.sql.contains('\0') {
                Err(Malformed(format!(
                    "statement {} for `{}` is empty",
                    i + 1,
                    op.name()
                )))
            } else {
                Ok(Statement {
                    sql: s.sql,
                    transactional: s.transactional,
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn signal_crosses_as_json_text_and_rfc3339() {
        let mut signal = Signal::new("revision_applied", "migrate", json!({"revision": "ae1f"}));
        signal.timestamp = chrono::Utc
            .with_ymd_and_hms(2026, 11, 25, 18, 0, 0)
            .single()
            .expect("valid time");
        let wit = types::Signal::from(&signal);
        assert_eq!(wit.name, "revision_applied");
        assert_eq!(wit.command, "migrate");
        assert_eq!(wit.payload, r#"{"revision":"ae1f"}"#);
        assert_eq!(wit.timestamp, "2026-11-25T18:00:00.000000Z");
    }

    #[test]
    fn verdicts_map_one_to_one() {
        assert_eq!(Verdict::from(types::Verdict::Proceed), Verdict::Proceed);
        assert_eq!(
            Verdict::from(types::Verdict::Warn("w".into())),
            Verdict::Warn("w".into())
        );
        assert_eq!(
            Verdict::from(types::Verdict::Deny("d".into())),
            Verdict::Deny("d".into())
        );
        assert_eq!(
            tracing::Level::from(types::LogLevel::Warn),
            tracing::Level::WARN
        );
    }

    fn posts() -> Table {
        let mut t: Table = toml::from_str::<ops::CreateTable>(
            r#"
            table = "posts"
            schema = "blog"
            comment = "Posts"
            columns = [
              { name = "id", type = "integer", primary_key = true, autoincrement = true },
              { name = "title", type = "varchar(200)", nullable = false, server_default = "'x'" },
              { name = "tags", type = "varchar(20)[][]" },
              { name = "mood", type = "enum(mood, 'ok', 'it''s')", comment = "c" },
              { name = "price", type = "numeric(10,2)", unique = true },
              { name = "at", type = "datetime(timezone=true)" },
              { name = "user_id", type = "integer" },
            ]
            primary_key = { name = "pk_posts", columns = ["id"] }
            foreign_keys = [{ name = "fk_u", columns = ["user_id"], references = "auth.users(id)", ondelete = "cascade", onupdate = "restrict" }]
            indexes = [{ name = "ix_t", columns = ["title", "lower(title)"], unique = true, where = "id > 0" }]
            uniques = [{ name = "uq", columns = ["title", "user_id"] }]
            checks = [{ name = "ck", sqltext = "price > 0" }]
            "#,
        )
        .expect("valid op")
        .table;
        t.indexes[0].table = "posts".into();
        t
    }

    #[test]
    fn a_table_round_trips_through_wit_unchanged() {
        let table = posts();
        let wit = wit_schema::Table::from(&table);
        assert_eq!(wit.columns[2].type_.array_dimensions, 2);
        assert!(matches!(
            wit.columns[2].type_.scalar,
            wit_schema::ScalarType::String(Some(20))
        ));
        assert_eq!(Table::try_from(wit).expect("well formed"), table);
    }

    #[test]
    fn malformed_tables_are_refused_naming_what_is_wrong() {
        type Breaker = Box<dyn Fn(&mut wit_schema::Table)>;
        let cases: Vec<(Breaker, &str)> = vec![
            (Box::new(|t| t.name = " ".into()), "a table name is empty"),
            (
                Box::new(|t| t.columns.clear()),
                "table `blog.posts` has no columns",
            ),
            (
                Box::new(|t| t.columns[1].name = "id".into()),
                "table `blog.posts` has two columns called `id`",
            ),
            (
                Box::new(|t| t.columns[1].type_.scalar = wit_schema::ScalarType::Custom("".into())),
                "column `blog.posts.title` has a custom type with an empty name",
            ),
            (
                Box::new(|t| t.foreign_keys[0].ref_columns.push("org".into())),
                "foreign key `fk_u` of table `blog.posts` has 1 column(s) but references 2",
            ),
            (
                Box::new(|t| t.foreign_keys[0].columns = vec!["nope".into()]),
                "foreign key `fk_u` of table `blog.posts` names column `nope`, which the table does not have",
            ),
            (
                Box::new(|t| t.indexes[0].columns = vec!["ghost".into()]),
                "index `ix_t` of table `blog.posts` names column `ghost`",
            ),
            (
                Box::new(|t| t.indexes[0].table = "other".into()),
                "belongs to table `other`",
            ),
            (
                Box::new(|t| t.checks[0].sql_text = String::new()),
                "the condition of a check constraint of table `blog.posts` is empty",
            ),
            (
                Box::new(|t| t.primary_key.as_mut().expect("pk").columns = vec![]),
                "the primary key of table `blog.posts` has no columns",
            ),
            (
                Box::new(|t| t.columns[0].type_.array_dimensions = 99),
                "an array of 99 dimensions",
            ),
        ];
        for (break_it, expected) in cases {
            let mut wit = wit_schema::Table::from(&posts());
            break_it(&mut wit);
            let err = Table::try_from(wit).expect_err(expected);
            assert!(err.0.contains(expected), "{err} / {expected}");
        }
    }

    #[test]
    fn located_tables_keep_their_places() {
        let (table, path, line) = located_table(wit_discovery::LocatedTable {
            table: (&posts()).into(),
            path: "db/schema.prisma".into(),
            line: 12,
        })
        .expect("well formed");
        assert_eq!(
            (table.name.as_str(), path.as_str(), line),
            ("posts", "db/schema.prisma", 12)
        );
        let mut broken = wit_schema::Table::from(&posts());
        broken.columns.clear();
        let err = located_table(wit_discovery::LocatedTable {
            table: broken,
            path: "db/schema.prisma".into(),
            line: 3,
        })
        .expect_err("no columns");
        assert_eq!(
            err.0,
            "table `blog.posts` has no columns (defined at db/schema.prisma:3)"
        );
    }

    #[test]
    fn plugin_diagnostics_keep_their_places() {
        let d = Diagnostic::from(wit_discovery::Diagnostic {
            code: "PRISMA002".into(),
            severity: wit_discovery::Severity::Warning,
            path: Some("schema.prisma".into()),
            line: Some(4),
            column: Some(7),
            message: "Unknown attribute `@foo`".into(),
            hints: vec!["Remove it".into()],
        });
        assert_eq!(d.severity, Severity::Warning);
        assert_eq!(d.location().as_deref(), Some("schema.prisma:4:7"));
        assert_eq!(d.hints, ["Remove it"]);
    }

    #[test]
    fn every_op_crosses_with_its_fields() {
        let table = posts();
        let alter = ops::AlterColumn {
            table: "posts".into(),
            column: "title".into(),
            ty: Some(ColumnType::Text),
            server_default: Some(None),
            existing_type: Some(ColumnType::String(Some(200))),
            existing_server_default: Some(Some("'x'".into())),
            ..Default::default()
        };
        match WitOp::from(&Op::AlterColumn(alter)) {
            WitOp::Op(wit_ops::Op::AlterColumn(a)) => {
                assert!(matches!(
                    a.type_.map(|t| t.scalar),
                    Some(wit_schema::ScalarType::Text)
                ));
                assert_eq!(a.server_default, Some(None));
                assert_eq!(a.existing_server_default, Some(Some("'x'".into())));
                assert_eq!(a.nullable, None);
            }
            other => panic!("{other:?}"),
        }
        let mut sql = ops::Sql::new("SELECT 1");
        sql.dialects.insert("pg-online".into(), "SELECT 2".into());
        match WitOp::from(&Op::Sql(sql)) {
            WitOp::Op(wit_ops::Op::Sql(s)) => {
                assert_eq!(
                    s.dialects,
                    [("pg-online".to_owned(), "SELECT 2".to_owned())]
                );
            }
            other => panic!("{other:?}"),
        }
        let create = Op::CreateTable(ops::CreateTable {
            table: table.clone(),
        });
        let Some(Op::DropTable(drop)) = create.inverse() else {
            panic!("inverse of create_table")
        };
        match WitOp::from(&Op::DropTable(drop)) {
            WitOp::Op(wit_ops::Op::DropTable(d)) => {
                assert_eq!(d.table, "posts");
                assert_eq!(d.definition.map(Table::try_from), Some(Ok(table)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn table_level_ops_cross_as_table_ops_with_their_fields() {
        let ops = [
            Op::AlterTable(ops::AlterTable {
                table: "posts".into(),
                schema: Some("blog".into()),
                comment: Some(Some("Posts".into())),
                existing_comment: Some(None),
            }),
            Op::AlterTable(ops::AlterTable {
                table: "posts".into(),
                comment: Some(None),
                existing_comment: Some(Some("Old".into())),
                ..Default::default()
            }),
            Op::CreatePrimaryKey(ops::CreatePrimaryKey {
                table: "posts".into(),
                schema: None,
                name: Some("pk_posts".into()),
                columns: vec!["id".into(), "lang".into()],
            }),
            Op::DropPrimaryKey(ops::DropPrimaryKey {
                table: "posts".into(),
                schema: Some("blog".into()),
                name: None,
                columns: Vec::new(),
            }),
        ];
        let crossed: Vec<WitOp> = ops.iter().map(WitOp::from).collect();
        match &crossed[..] {
            [
                WitOp::Table(wit_ops::TableOp::AlterTable(set)),
                WitOp::Table(wit_ops::TableOp::AlterTable(clear)),
                WitOp::Table(wit_ops::TableOp::CreatePrimaryKey(create)),
                WitOp::Table(wit_ops::TableOp::DropPrimaryKey(drop)),
            ] => {
                assert_eq!(
                    (set.table.as_str(), set.schema.as_deref()),
                    ("posts", Some("blog"))
                );
                assert_eq!(set.comment, Some(Some("Posts".into())));
                assert_eq!(set.existing_comment, Some(None));
                // `some(none)` removes the comment; `none` would change nothing.
                assert_eq!(clear.comment, Some(None));
                assert_eq!(clear.existing_comment, Some(Some("Old".into())));
                assert_eq!(clear.schema, None);
                assert_eq!(create.name.as_deref(), Some("pk_posts"));
                assert_eq!(create.columns, ["id", "lang"]);
                assert_eq!(create.schema, None);
                assert_eq!(drop.name, None);
                assert!(drop.columns.is_empty());
                assert_eq!(drop.schema.as_deref(), Some("blog"));
            }
            other => panic!("{other:?}"),
        }
        // The inverse of a named `create_primary_key` crosses as its drop, with
        // the columns it needs to be inverted again.
        let Some(inverse) = ops[2].inverse() else {
            panic!("create_primary_key has an inverse")
        };
        match WitOp::from(&inverse) {
            WitOp::Table(wit_ops::TableOp::DropPrimaryKey(d)) => {
                assert_eq!(d.name.as_deref(), Some("pk_posts"));
                assert_eq!(d.columns, ["id", "lang"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn statements_must_not_be_empty() {
        let op = Op::Sql(ops::Sql::new("SELECT 1"));
        assert_eq!(statements(&op, Vec::new()), Ok(Vec::new()));
        let drop = Op::DropTable(ops::DropTable {
            table: "t".into(),
            schema: None,
            definition: None,
        });
        let err = statements(&drop, Vec::new()).expect_err("nothing rendered");
        assert_eq!(err.0, "no statement for `drop_table` (Drop table t)");
        let err = statements(
            &drop,
            vec![wit_dialect::Statement {
                sql: "  ".into(),
                transactional: true,
            }],
        )
        .expect_err("blank");
        assert_eq!(err.0, "statement 1 for `drop_table` is empty");
        let ok = statements(
            &drop,
            vec![wit_dialect::Statement {
                sql: "DROP TABLE t".into(),
                transactional: false,
            }],
        )
        .expect("fine");
        assert_eq!(
            ok,
            [Statement {
                sql: "DROP TABLE t".into(),
                transactional: false
            }]
        );
    }

    proptest! {
        #[test]
        fn column_types_round_trip(text in prop::sample::select(vec![
            "integer", "bigint", "smallint", "boolean", "varchar", "varchar(3)", "text",
            "unicode", "unicode(9)", "numeric", "numeric(12,4)", "float", "date",
            "datetime", "datetime(timezone=true)", "time", "interval", "largebinary",
            "json", "uuid", "enum('a', 'b')", "enum(m, 'x')", "jsonb", "char(3)",
        ]), dims in 0u32..4) {
            let mut ty = ColumnType::parse(text);
            for _ in 0..dims {
                ty = ColumnType::Array(Box::new(ty));
            }
            let wit = wit_schema::ColumnType::from(&ty);
            prop_assert_eq!(wit.array_dimensions, dims);
            prop_assert_eq!(ColumnType::try_from(wit), Ok(ty));
        }
    }
}
