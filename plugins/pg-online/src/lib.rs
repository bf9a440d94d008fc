//! `pg-online`: a PostgreSQL dialect for zero-downtime deploys.
//!
//! ```toml
//! [database]
//! DB_ENGINE = "wasm:plugins/pg_online.wasm"
//! DATABASE_URL = "postgresql://app@db/app"
//!
//! [[plugins]]                      # optional: limits and settings
//! path = "plugins/pg_online.wasm"
//! settings = { lock_timeout = "2s" }
//! ```
//!
//! It speaks the PostgreSQL wire protocol and renders every operation like the
//! built-in `postgresql` dialect, except where that would hold a lock long enough
//! to stop the application:
//!
//! - every operation starts with `SET lock_timeout` (setting `lock_timeout`,
//!   default `5s`): a statement that cannot get its lock quickly fails instead of
//!   queueing every other query of the table behind it;
//! - indexes (and the unique indexes behind unique constraints) are built with
//!   `CREATE INDEX CONCURRENTLY` and dropped with `DROP INDEX CONCURRENTLY`, outside
//!   the transaction; a unique constraint is then attached with `ADD CONSTRAINT ...
//!   UNIQUE USING INDEX`;
//! - foreign keys and check constraints are added `NOT VALID` (a brief lock, no
//!   scan) and validated in a second step, outside the transaction (`VALIDATE
//!   CONSTRAINT` scans under a lock that lets reads and writes go on);
//! - `NOT NULL` is added through a validated `CHECK (col IS NOT NULL)` constraint
//!   first, so `SET NOT NULL` needs no scan, then the helper constraint is dropped.
//!
//! Every step is safe to run again: a run that stopped at `lock_timeout` (nothing of
//! it is recorded as applied) can simply be retried. Tables created by a migration
//! are new and empty, so their indexes and keys are created in the same
//! transaction. What PostgreSQL cannot do online (a column type change that
//! rewrites the table, dropping enum values) is rendered like the built-in dialect
//! or refused with the way out.
//!
//! The table-level ops (`table-ops` export) are rendered like the built-in dialect,
//! after the same `SET lock_timeout`: `COMMENT ON TABLE ... IS '...'` (`IS NULL`
//! removes it), `ALTER TABLE ... ADD [CONSTRAINT name] PRIMARY KEY (...)` (which
//! builds its index under the table lock), and `ALTER TABLE ... DROP CONSTRAINT`
//! with the key's name (from the op, else the table's definition, else
//! PostgreSQL's default `<table>_pkey`).

use std::collections::BTreeMap;

use sqlalembic_plugin::dialect::{
    AlterColumn, Capabilities, Dialect, Info, Op, Protocol, RawSql, Statement, TableOp,
};
use sqlalembic_plugin::schema::{
    self, CheckConstraint, Column, ColumnType, ForeignKey, Index, ScalarType, Table,
    UniqueConstraint,
};
use sqlalembic_plugin::{log, settings, sql};

/// The dialect's name, in `sql` op variants (`dialects = { pg-online = "..." }`).
const NAME: &str = "pg-online";
const DEFAULT_LOCK_TIMEOUT: &str = "5s";
/// PostgreSQL truncates identifiers to this many bytes.
const MAX_IDENT: usize = 63;

struct PgOnline;

impl Dialect for PgOnline {
    fn info() -> Info {
        Info {
            name: NAME.to_owned(),
            protocol: Protocol::Postgres,
            capabilities: Capabilities::POSTGRES,
        }
    }

    fn type_sql(ty: ColumnType) -> Result<String, String> {
        type_sql(&ty)
    }

    fn render(op: Op, context: Vec<Table>) -> Result<Vec<Statement>, String> {
        let body = match &op {
            Op::Sql(s) => return Ok(raw_sql(s)),
            Op::CreateTable(t) => create_table(t)?,
            Op::DropTable(d) => vec![Statement::new(format!(
                "DROP TABLE {}",
                tref(&d.schema, &d.table)
            ))],
            Op::RenameTable(r) => vec![Statement::new(format!(
                "ALTER TABLE {} RENAME TO {}",
                tref(&r.schema, &r.table),
                q(&r.new_name)
            ))],
            Op::AddColumn(a) => {
                let mut table = schema::find(&context, a.schema.as_deref(), &a.table)
                    .cloned()
                    .unwrap_or_else(|| Table::new(&a.table));
                table.columns.push(a.column.clone());
                let mut def = column_def(&table, &a.column)?;
                if a.column.primary_key {
                    def.push_str(" PRIMARY KEY");
                }
                if a.column.unique {
                    def.push_str(" UNIQUE");
                }
                let mut out = vec![Statement::new(format!(
                    "ALTER TABLE {} ADD COLUMN {def}",
                    tref(&a.schema, &a.table)
                ))];
                if let Some(comment) = &a.column.comment {
                    out.push(column_comment(
                        &a.schema,
                        &a.table,
                        &a.column.name,
                        Some(comment),
                    ));
                }
                out
            }
            Op::DropColumn(d) => vec![Statement::new(format!(
                "ALTER TABLE {} DROP COLUMN {}",
                tref(&d.schema, &d.table),
                q(&d.column)
            ))],
            Op::AlterColumn(a) => alter_column(a, &context)?,
            Op::CreateIndex(c) => create_index_concurrently(&c.schema, &c.index),
            Op::DropIndex(d) => vec![Statement::outside_transaction(format!(
                "DROP INDEX CONCURRENTLY IF EXISTS {}",
                tref(&d.schema, &d.name)
            ))],
            Op::CreateUnique(c) => create_unique(&c.schema, &c.table, &c.unique),
            Op::CreateForeignKey(c) => {
                let name = fk_name(&c.table, &c.foreign_key);
                add_not_valid_then_validate(&c.schema, &c.table, &name, &fk_body(&c.foreign_key))
            }
            Op::CreateCheck(c) => {
                let name = check_name(&c.table, &c.check);
                let body = format!("CHECK ({})", c.check.sql_text);
                add_not_valid_then_validate(&c.schema, &c.table, &name, &body)
            }
            Op::DropUnique(d) => drop_constraint(&d.schema, &d.table, &d.name),
            Op::DropForeignKey(d) => drop_constraint(&d.schema, &d.table, &d.name),
            Op::DropCheck(d) => drop_constraint(&d.schema, &d.table, &d.name),
        };
        let mut out = vec![set_lock_timeout()];
        out.extend(with_enum_types(&op, &context, body)?);
        Ok(out)
    }

    fn render_table_op(op: TableOp, context: Vec<Table>) -> Result<Vec<Statement>, String> {
        let mut out = vec![set_lock_timeout()];
        out.extend(table_op(&op, &context)?);
        Ok(out)
    }
}

/// A table-level op, like the built-in dialect renders it.
fn table_op(op: &TableOp, context: &[Table]) -> Result<Vec<Statement>, String> {
    Ok(match op {
        TableOp::AlterTable(a) => match &a.comment {
            Some(comment) => vec![Statement::new(format!(
                "COMMENT ON TABLE {} IS {}",
                tref(&a.schema, &a.table),
                comment
                    .as_ref()
                    .map_or_else(|| "NULL".to_owned(), |c| sql::string_literal(c))
            ))],
            None => return Err("`alter_table` changes nothing: expected `comment`".into()),
        },
        TableOp::CreatePrimaryKey(c) => vec![Statement::new(format!(
            "ALTER TABLE {} ADD {}PRIMARY KEY ({})",
            tref(&c.schema, &c.table),
            constraint(&c.name),
            columns(&c.columns)
        ))],
        TableOp::DropPrimaryKey(d) => {
            // Without a name: the table's key in `context`, else PostgreSQL's
            // default `<table>_pkey`.
            let name = d
                .name
                .clone()
                .or_else(|| {
                    schema::find(context, d.schema.as_deref(), &d.table)
                        .and_then(|t| t.primary_key.as_ref()?.name.clone())
                })
                .unwrap_or_else(|| default_pkey_name(&d.table));
            drop_constraint(&d.schema, &d.table, &name)
        }
    })
}

sqlalembic_plugin::export_dialect!(PgOnline);

/// The `lock_timeout` setting (`500ms`, `2s`, `1min`), or the default.
fn lock_timeout() -> String {
    let Some(value) = settings::string("lock_timeout") else {
        return DEFAULT_LOCK_TIMEOUT.to_owned();
    };
    let value = value.trim().to_owned();
    let digits = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &value[digits.len()..];
    if !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && matches!(unit, "" | "ms" | "s" | "min")
    {
        value
    } else {
        log::warn(&format!(
            "Setting `lock_timeout = {value:?}` is not a duration like `2s`; using {DEFAULT_LOCK_TIMEOUT}"
        ));
        DEFAULT_LOCK_TIMEOUT.to_owned()
    }
}

fn set_lock_timeout() -> Statement {
    Statement::new(format!(
        "SET lock_timeout = {}",
        sql::string_literal(&lock_timeout())
    ))
}

/// The name PostgreSQL gives an unnamed primary key: `<table>_pkey`, the table
/// part cut so the whole fits an identifier.
fn default_pkey_name(table: &str) -> String {
    const SUFFIX: &str = "_pkey";
    let mut end = table.len().min(MAX_IDENT - SUFFIX.len());
    while !table.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{SUFFIX}", &table[..end])
}

fn q(name: &str) -> String {
    sql::quote_ident(name, '"')
}

fn tref(schema: &Option<String>, name: &str) -> String {
    match schema {
        Some(s) => format!("{}.{}", q(s), q(name)),
        None => q(name),
    }
}

fn columns(names: &[String]) -> String {
    names.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ")
}

/// `name`, cut to PostgreSQL's identifier length.
fn ident(name: String) -> String {
    if name.len() <= MAX_IDENT {
        return name;
    }
    let mut end = MAX_IDENT;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

fn type_sql(ty: &ColumnType) -> Result<String, String> {
    let base = match &ty.scalar {
        ScalarType::Integer => "INTEGER".to_owned(),
        ScalarType::BigInteger => "BIGINT".to_owned(),
        ScalarType::SmallInteger => "SMALLINT".to_owned(),
        ScalarType::Boolean => "BOOLEAN".to_owned(),
        ScalarType::String(n) | ScalarType::Unicode(n) => match n {
            Some(n) => format!("VARCHAR({n})"),
            None => "VARCHAR".to_owned(),
        },
        ScalarType::Text => "TEXT".to_owned(),
        ScalarType::Numeric(Some(p)) => format!("NUMERIC({}, {})", p.precision, p.scale),
        ScalarType::Numeric(None) => "NUMERIC".to_owned(),
        ScalarType::Float => "FLOAT".to_owned(),
        ScalarType::Date => "DATE".to_owned(),
        ScalarType::DateTime(false) => "TIMESTAMP WITHOUT TIME ZONE".to_owned(),
        ScalarType::DateTime(true) => "TIMESTAMP WITH TIME ZONE".to_owned(),
        ScalarType::Time => "TIME WITHOUT TIME ZONE".to_owned(),
        ScalarType::Interval => "INTERVAL".to_owned(),
        ScalarType::LargeBinary => "BYTEA".to_owned(),
        ScalarType::Json => "JSON".to_owned(),
        ScalarType::Uuid => "UUID".to_owned(),
        ScalarType::Enum(e) => match &e.name {
            Some(name) => type_name(name),
            None => {
                return Err(
                    "PostgreSQL enums are named types; give the enum a name: `enum(name, 'a', 'b')`"
                        .to_owned(),
                );
            }
        },
        ScalarType::Custom(text) => text.clone(),
    };
    Ok(format!(
        "{base}{}",
        "[]".repeat(ty.array_dimensions as usize)
    ))
}

/// `"name"` or `"schema"."name"`.
fn type_name(name: &str) -> String {
    name.split('.').map(q).collect::<Vec<_>>().join(".")
}

/// SQLAlchemy's `"auto"` rule: the only primary-key column, an integer, no
/// server default, no foreign key.
fn autoincrements(table: &Table, column: &Column) -> bool {
    if !column.type_.is_integer() {
        return false;
    }
    match column.autoincrement {
        Some(explicit) => explicit,
        None => {
            let pk = table.primary_key_columns();
            pk == [column.name.as_str()]
                && column.server_default.is_none()
                && !table
                    .foreign_keys
                    .iter()
                    .any(|fk| fk.columns.contains(&column.name))
        }
    }
}

fn column_def(table: &Table, column: &Column) -> Result<String, String> {
    let serial = autoincrements(table, column);
    let ty = match (&column.type_.scalar, serial) {
        (ScalarType::Integer, true) => "SERIAL".to_owned(),
        (ScalarType::BigInteger, true) => "BIGSERIAL".to_owned(),
        (ScalarType::SmallInteger, true) => "SMALLSERIAL".to_owned(),
        _ => type_sql(&column.type_).map_err(|e| format!("column `{}`: {e}", column.name))?,
    };
    let mut def = format!("{} {ty}", q(&column.name));
    if let Some(default) = column.server_default.as_ref().filter(|_| !serial) {
        def.push_str(&format!(" DEFAULT {default}"));
    }
    if !column.nullable || table.primary_key_columns().contains(&column.name.as_str()) {
        def.push_str(" NOT NULL");
    }
    Ok(def)
}

fn constraint(name: &Option<String>) -> String {
    name.as_deref()
        .map(|n| format!("CONSTRAINT {} ", q(n)))
        .unwrap_or_default()
}

fn fk_body(fk: &ForeignKey) -> String {
    let mut sql = format!(
        "FOREIGN KEY ({}) REFERENCES {} ({})",
        columns(&fk.columns),
        tref(&fk.ref_schema, &fk.ref_table),
        columns(&fk.ref_columns)
    );
    let action = |a: &str| {
        a.split_whitespace()
            .map(str::to_ascii_uppercase)
            .collect::<Vec<_>>()
            .join(" ")
    };
    if let Some(a) = &fk.on_delete {
        sql.push_str(&format!(" ON DELETE {}", action(a)));
    }
    if let Some(a) = &fk.on_update {
        sql.push_str(&format!(" ON UPDATE {}", action(a)));
    }
    sql
}

/// PostgreSQL's own default names, so a key added here is named as one declared
/// inline would be.
fn fk_name(table: &str, fk: &ForeignKey) -> String {
    fk.name
        .clone()
        .unwrap_or_else(|| ident(format!("{table}_{}_fkey", fk.columns.join("_"))))
}

fn unique_name(table: &str, u: &UniqueConstraint) -> String {
    u.name
        .clone()
        .unwrap_or_else(|| ident(format!("{table}_{}_key", u.columns.join("_"))))
}

fn check_name(table: &str, c: &CheckConstraint) -> String {
    c.name.clone().unwrap_or_else(|| {
        // FNV-1a of the condition: stable across runs, distinct per condition.
        let hash = c.sql_text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        ident(format!("{table}_{:08x}_check", hash as u32))
    })
}

fn create_table(t: &Table) -> Result<Vec<Statement>, String> {
    let mut items = Vec::new();
    for c in &t.columns {
        items.push(column_def(t, c)?);
    }
    let pk = t.primary_key_columns();
    if !pk.is_empty() {
        let name = t.primary_key.as_ref().and_then(|p| p.name.clone());
        let pk: Vec<String> = pk.into_iter().map(str::to_owned).collect();
        items.push(format!(
            "{}PRIMARY KEY ({})",
            constraint(&name),
            columns(&pk)
        ));
    }
    for c in t.columns.iter().filter(|c| c.unique) {
        items.push(format!("UNIQUE ({})", q(&c.name)));
    }
    for u in &t.uniques {
        items.push(format!(
            "{}UNIQUE ({})",
            constraint(&u.name),
            columns(&u.columns)
        ));
    }
    // A new table is empty and invisible until the transaction commits: its keys
    // and checks are validated instantly, inline.
    for fk in &t.foreign_keys {
        items.push(format!("{}{}", constraint(&fk.name), fk_body(fk)));
    }
    for c in &t.checks {
        items.push(format!("{}CHECK ({})", constraint(&c.name), c.sql_text));
    }
    let mut out = vec![Statement::new(format!(
        "CREATE TABLE {} (\n\t{}\n)",
        tref(&t.schema, &t.name),
        items.join(",\n\t")
    ))];
    if let Some(comment) = &t.comment {
        out.push(Statement::new(format!(
            "COMMENT ON TABLE {} IS {}",
            tref(&t.schema, &t.name),
            sql::string_literal(comment)
        )));
    }
    for c in &t.columns {
        if let Some(comment) = &c.comment {
            out.push(column_comment(&t.schema, &t.name, &c.name, Some(comment)));
        }
    }
    for ix in &t.indexes {
        out.push(Statement::new(index_sql(&t.schema, &t.name, ix, false)));
    }
    Ok(out)
}

fn column_comment(
    schema: &Option<String>,
    table: &str,
    column: &str,
    comment: Option<&String>,
) -> Statement {
    Statement::new(format!(
        "COMMENT ON COLUMN {}.{} IS {}",
        tref(schema, table),
        q(column),
        comment.map_or_else(|| "NULL".to_owned(), |c| sql::string_literal(c))
    ))
}

fn index_sql(schema: &Option<String>, table: &str, ix: &Index, concurrently: bool) -> String {
    let entries: Vec<String> = ix
        .columns
        .iter()
        .map(|c| {
            if Index::is_expression(c) {
                c.clone()
            } else {
                q(c)
            }
        })
        .collect();
    let mut out = format!(
        "CREATE {}INDEX {}{} ON {} ({})",
        if ix.unique { "UNIQUE " } else { "" },
        if concurrently { "CONCURRENTLY " } else { "" },
        q(&ix.name),
        tref(
            schema,
            if ix.table.is_empty() {
                table
            } else {
                &ix.table
            }
        ),
        entries.join(", ")
    );
    if let Some(predicate) = &ix.predicate {
        out.push_str(&format!(" WHERE {predicate}"));
    }
    out
}

/// A failed `CREATE INDEX CONCURRENTLY` leaves an invalid index behind: drop any
/// leftover first, so a retried migration builds it again.
fn create_index_concurrently(schema: &Option<String>, ix: &Index) -> Vec<Statement> {
    vec![
        Statement::outside_transaction(format!(
            "DROP INDEX CONCURRENTLY IF EXISTS {}",
            tref(schema, &ix.name)
        )),
        Statement::outside_transaction(index_sql(schema, &ix.table, ix, true)),
    ]
}

fn create_unique(schema: &Option<String>, table: &str, u: &UniqueConstraint) -> Vec<Statement> {
    let name = unique_name(table, u);
    let index = Index {
        name: name.clone(),
        table: table.to_owned(),
        columns: u.columns.clone(),
        unique: true,
        predicate: None,
    };
    let mut out = create_index_concurrently(schema, &index);
    out.push(Statement::new(format!(
        "ALTER TABLE {} ADD CONSTRAINT {} UNIQUE USING INDEX {}",
        tref(schema, table),
        q(&name),
        q(&name)
    )));
    out
}

/// `ADD CONSTRAINT ... NOT VALID` (only when the constraint is not there yet, so a
/// retried run goes on), then `VALIDATE CONSTRAINT` in its own transaction.
fn add_not_valid_then_validate(
    schema: &Option<String>,
    table: &str,
    name: &str,
    body: &str,
) -> Vec<Statement> {
    let t = tref(schema, table);
    vec![
        Statement::new(format!(
            "DO $pg_online$ BEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = {} AND conrelid = {}::regclass) THEN\n    ALTER TABLE {t} ADD CONSTRAINT {} {body} NOT VALID;\n  END IF;\nEND $pg_online$",
            sql::string_literal(name),
            sql::string_literal(&t),
            q(name)
        )),
        Statement::outside_transaction(format!("ALTER TABLE {t} VALIDATE CONSTRAINT {}", q(name))),
    ]
}

fn drop_constraint(schema: &Option<String>, table: &str, name: &str) -> Vec<Statement> {
    vec![Statement::new(format!(
        "ALTER TABLE {} DROP CONSTRAINT {}",
        tref(schema, table),
        q(name)
    ))]
}

fn alter_column(a: &AlterColumn, context: &[Table]) -> Result<Vec<Statement>, String> {
    let t = tref(&a.schema, &a.table);
    let current = schema::find(context, a.schema.as_deref(), &a.table)
        .and_then(|table| table.column(&a.column));
    let col = q(&a.column);
    let alter = |what: String| Statement::new(format!("ALTER TABLE {t} ALTER COLUMN {col} {what}"));
    let mut out = Vec::new();
    let old_type = a.existing_type.as_ref().or(current.map(|c| &c.type_));
    let same_enum = match (
        old_type.map(|t| &t.scalar),
        a.type_.as_ref().map(|t| &t.scalar),
    ) {
        (Some(ScalarType::Enum(x)), Some(ScalarType::Enum(y))) => x.name == y.name,
        _ => false,
    };
    let mut restore_default = None;
    if let Some(ty) = a.type_.as_ref().filter(|_| !same_enum) {
        // Changing a type rewrites the table under an exclusive lock: PostgreSQL has
        // no online way. The default may not cast: drop it, set it again after.
        log::warn(&format!(
            "Changing the type of `{}.{}` rewrites the table under an exclusive lock",
            a.table, a.column
        ));
        let old_default = match &a.existing_server_default {
            Some(d) => d.clone(),
            None => current.and_then(|c| c.server_default.clone()),
        };
        if let Some(old_default) = old_default {
            out.push(alter("DROP DEFAULT".into()));
            if a.server_default.is_none() {
                restore_default = Some(old_default);
            }
        }
        let ty_sql = type_sql(ty)?;
        let via_text = if matches!(ty.scalar, ScalarType::Enum(_)) {
            "::text"
        } else {
            ""
        };
        out.push(alter(format!(
            "TYPE {ty_sql} USING {col}{via_text}::{ty_sql}"
        )));
    }
    match a.nullable {
        Some(true) => out.push(alter("DROP NOT NULL".into())),
        Some(false) => {
            // A validated `IS NOT NULL` check lets `SET NOT NULL` skip its scan.
            let name = ident(format!("{}_{}_not_null", a.table, a.column));
            out.extend(add_not_valid_then_validate(
                &a.schema,
                &a.table,
                &name,
                &format!("CHECK ({col} IS NOT NULL)"),
            ));
            out.push(alter("SET NOT NULL".into()));
            out.push(Statement::new(format!(
                "ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {}",
                q(&name)
            )));
        }
        None => {}
    }
    match a.server_default.clone().or(restore_default.map(Some)) {
        Some(Some(default)) => out.push(alter(format!("SET DEFAULT {default}"))),
        Some(None) => out.push(alter("DROP DEFAULT".into())),
        None => {}
    }
    if let Some(comment) = &a.comment {
        out.push(column_comment(
            &a.schema,
            &a.table,
            &a.column,
            comment.as_ref(),
        ));
    }
    if let Some(new_name) = a.new_name.as_ref().filter(|n| **n != a.column) {
        out.push(Statement::new(format!(
            "ALTER TABLE {t} RENAME COLUMN {col} TO {}",
            q(new_name)
        )));
    }
    if out.is_empty() {
        return Err(format!(
            "`alter_column` on `{}.{}` changes nothing",
            a.table, a.column
        ));
    }
    Ok(out)
}

fn raw_sql(s: &RawSql) -> Vec<Statement> {
    let Some(text) = s.for_dialect(&[NAME, "postgresql"]) else {
        return Vec::new();
    };
    let mut out = vec![Statement::new(format!(
        "SET lock_timeout = {}",
        sql::string_literal(&lock_timeout())
    ))];
    out.extend(sql::split_statements(text).into_iter().map(Statement::new));
    out
}

/// Named enum types used by `tables`, with their values.
fn enums_of<'a>(tables: impl IntoIterator<Item = &'a Table>) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for c in tables.into_iter().flat_map(|t| &t.columns) {
        if let ScalarType::Enum(e) = &c.type_.scalar
            && let Some(name) = &e.name
        {
            out.entry(name.clone()).or_insert_with(|| e.values.clone());
        }
    }
    out
}

/// The tables of `context` as they are after `op` (for the enum bookkeeping).
fn after(op: &Op, context: &[Table]) -> Vec<Table> {
    let mut tables = context.to_vec();
    let find = |tables: &mut Vec<Table>, s: &Option<String>, n: &str| {
        tables.iter().position(|t| t.name == n && t.schema == *s)
    };
    match op {
        Op::CreateTable(t) => tables.push(t.clone()),
        Op::DropTable(d) => {
            if let Some(i) = find(&mut tables, &d.schema, &d.table) {
                tables.remove(i);
            }
        }
        Op::AddColumn(a) => match find(&mut tables, &a.schema, &a.table) {
            Some(i) => tables[i].columns.push(a.column.clone()),
            None => {
                let mut t = Table::new(&a.table);
                t.columns.push(a.column.clone());
                tables.push(t);
            }
        },
        Op::DropColumn(d) => {
            if let Some(i) = find(&mut tables, &d.schema, &d.table) {
                tables[i].columns.retain(|c| c.name != d.column);
            }
        }
        Op::AlterColumn(a) => {
            if let Some(ty) = &a.type_ {
                match find(&mut tables, &a.schema, &a.table) {
                    Some(i) => {
                        for c in &mut tables[i].columns {
                            if c.name == a.column {
                                c.type_ = ty.clone();
                            }
                        }
                    }
                    None => {
                        let mut t = Table::new(&a.table);
                        t.columns.push(Column::new(&a.column, ty.clone()));
                        tables.push(t);
                    }
                }
            }
        }
        _ => {}
    }
    tables
}

/// `body` with `CREATE TYPE` before it for enums it starts using, `ALTER TYPE ...
/// ADD VALUE` (outside the transaction) for values an enum gains, and `DROP TYPE`
/// after it for enums nothing uses any more. Removing or reordering values needs a
/// type swap that rewrites every table using it: refused, with the way out.
fn with_enum_types(
    op: &Op,
    context: &[Table],
    body: Vec<Statement>,
) -> Result<Vec<Statement>, String> {
    let before = enums_of(context);
    let after_tables = after(op, context);
    let after = enums_of(&after_tables);
    let mut head = Vec::new();
    for (name, values) in &after {
        match before.get(name) {
            None => head.push(Statement::new(format!(
                "CREATE TYPE {} AS ENUM ({})",
                type_name(name),
                values
                    .iter()
                    .map(|v| sql::string_literal(v))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
            Some(old) if old == values => {}
            Some(old) => {
                let kept: Vec<&String> = values.iter().filter(|v| old.contains(v)).collect();
                if kept.len() != old.len() || kept.iter().zip(old).any(|(a, b)| *a != b) {
                    return Err(format!(
                        "enum `{name}` loses or reorders values, which rewrites every table using it; \
                         write that step as an `sql` op (rename the type, create the new one, convert the columns)"
                    ));
                }
                for (i, value) in values.iter().enumerate().filter(|(_, v)| !old.contains(v)) {
                    let position = match i.checked_sub(1) {
                        Some(prev) => format!(" AFTER {}", sql::string_literal(&values[prev])),
                        None => format!(" BEFORE {}", sql::string_literal(&old[0])),
                    };
                    head.push(Statement::outside_transaction(format!(
                        "ALTER TYPE {} ADD VALUE IF NOT EXISTS {}{position}",
                        type_name(name),
                        sql::string_literal(value)
                    )));
                }
            }
        }
    }
    head.extend(body);
    for name in before.keys().filter(|n| !after.contains_key(*n)) {
        head.push(Statement::new(format!("DROP TYPE {}", type_name(name))));
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlalembic_plugin::dialect::{CreateForeignKey, CreateIndex};
    use sqlalembic_plugin::schema::PrimaryKey;

    fn int() -> ColumnType {
        ColumnType::of(ScalarType::Integer)
    }

    fn orders() -> Table {
        let mut t = Table::new("orders");
        t.columns.push(Column::primary("id", int()));
        t.columns.push(Column::new("customer_id", int()));
        t.primary_key = Some(PrimaryKey {
            name: None,
            columns: vec!["id".into()],
        });
        t
    }

    fn sqls(out: &[Statement]) -> Vec<(&str, bool)> {
        out.iter()
            .map(|s| (s.sql.as_str(), s.transactional))
            .collect()
    }

    #[test]
    fn indexes_are_built_concurrently_outside_the_transaction() {
        let op = Op::CreateIndex(CreateIndex {
            schema: None,
            index: Index {
                name: "ix_c".into(),
                table: "orders".into(),
                columns: vec!["customer_id".into()],
                unique: false,
                predicate: None,
            },
        });
        let body = match &op {
            Op::CreateIndex(c) => create_index_concurrently(&c.schema, &c.index),
            _ => unreachable!(),
        };
        assert_eq!(
            sqls(&body),
            [
                ("DROP INDEX CONCURRENTLY IF EXISTS \"ix_c\"", false),
                (
                    "CREATE INDEX CONCURRENTLY \"ix_c\" ON \"orders\" (\"customer_id\")",
                    false
                ),
            ]
        );
    }

    #[test]
    fn foreign_keys_are_added_not_valid_then_validated() {
        let fk = ForeignKey {
            name: None,
            columns: vec!["customer_id".into()],
            ref_schema: None,
            ref_table: "customers".into(),
            ref_columns: vec!["id".into()],
            on_delete: Some("cascade".into()),
            on_update: None,
        };
        let op = CreateForeignKey {
            table: "orders".into(),
            schema: None,
            foreign_key: fk.clone(),
        };
        let out = add_not_valid_then_validate(
            &op.schema,
            &op.table,
            &fk_name(&op.table, &fk),
            &fk_body(&fk),
        );
        assert!(out[0].transactional);
        assert!(out[0].sql.contains("ALTER TABLE \"orders\" ADD CONSTRAINT \"orders_customer_id_fkey\" FOREIGN KEY (\"customer_id\") REFERENCES \"customers\" (\"id\") ON DELETE CASCADE NOT VALID"), "{}", out[0].sql);
        assert!(out[0].sql.contains("conname = 'orders_customer_id_fkey'"));
        assert_eq!(
            sqls(&out[1..]),
            [(
                "ALTER TABLE \"orders\" VALIDATE CONSTRAINT \"orders_customer_id_fkey\"",
                false
            )]
        );
    }

    #[test]
    fn not_null_goes_through_a_validated_check() {
        let a = AlterColumn {
            table: "orders".into(),
            schema: None,
            column: "customer_id".into(),
            new_name: None,
            type_: None,
            nullable: Some(false),
            server_default: None,
            comment: None,
            existing_type: None,
            existing_nullable: Some(true),
            existing_server_default: None,
            existing_comment: None,
        };
        let out = alter_column(&a, &[orders()]).expect("renders");
        assert!(
            out[0]
                .sql
                .contains("CHECK (\"customer_id\" IS NOT NULL) NOT VALID")
        );
        assert_eq!(
            sqls(&out[1..]),
            [
                (
                    "ALTER TABLE \"orders\" VALIDATE CONSTRAINT \"orders_customer_id_not_null\"",
                    false
                ),
                (
                    "ALTER TABLE \"orders\" ALTER COLUMN \"customer_id\" SET NOT NULL",
                    true
                ),
                (
                    "ALTER TABLE \"orders\" DROP CONSTRAINT IF EXISTS \"orders_customer_id_not_null\"",
                    true
                ),
            ]
        );
    }

    #[test]
    fn enums_are_created_extended_and_dropped() {
        let mood = |values: &[&str]| {
            ColumnType::of(ScalarType::Enum(schema::EnumType {
                name: Some("mood".into()),
                values: values.iter().map(|v| (*v).to_owned()).collect(),
            }))
        };
        let mut t = orders();
        t.columns.push(Column::new("m", mood(&["a"])));
        let out = with_enum_types(&Op::CreateTable(t.clone()), &[], Vec::new()).expect("ok");
        assert_eq!(sqls(&out), [("CREATE TYPE \"mood\" AS ENUM ('a')", true)]);
        let widen = AlterColumn {
            table: "orders".into(),
            schema: None,
            column: "m".into(),
            new_name: None,
            type_: Some(mood(&["a", "b"])),
            nullable: None,
            server_default: None,
            comment: None,
            existing_type: None,
            existing_nullable: None,
            existing_server_default: None,
            existing_comment: None,
        };
        let out = with_enum_types(
            &Op::AlterColumn(widen.clone()),
            std::slice::from_ref(&t),
            Vec::new(),
        )
        .expect("ok");
        assert_eq!(
            sqls(&out),
            [(
                "ALTER TYPE \"mood\" ADD VALUE IF NOT EXISTS 'b' AFTER 'a'",
                false
            )]
        );
        let narrow = AlterColumn {
            type_: Some(mood(&["b"])),
            ..widen
        };
        assert!(with_enum_types(&Op::AlterColumn(narrow), &[t.clone()], Vec::new()).is_err());
        let drop = Op::DropTable(sqlalembic_plugin::dialect::DropTable {
            table: "orders".into(),
            schema: None,
            definition: None,
        });
        let out = with_enum_types(&drop, &[t], Vec::new()).expect("ok");
        assert_eq!(sqls(&out), [("DROP TYPE \"mood\"", true)]);
    }

    #[test]
    fn table_comments_and_primary_keys_render_like_the_built_in_dialect() {
        use sqlalembic_plugin::dialect::{AlterTable, CreatePrimaryKey, DropPrimaryKey};
        let render = |op: TableOp, context: Vec<Table>| {
            table_op(&op, &context)
                .expect("renders")
                .iter()
                .map(|s| {
                    assert!(s.transactional);
                    s.sql.clone()
                })
                .collect::<Vec<_>>()
        };
        let comment = |comment| {
            TableOp::AlterTable(AlterTable {
                table: "orders".into(),
                schema: Some("shop".into()),
                comment,
                existing_comment: None,
            })
        };
        assert_eq!(
            render(comment(Some(Some("Paid orders, it's".into()))), vec![]),
            ["COMMENT ON TABLE \"shop\".\"orders\" IS 'Paid orders, it''s'"]
        );
        assert_eq!(
            render(comment(Some(None)), vec![]),
            ["COMMENT ON TABLE \"shop\".\"orders\" IS NULL"]
        );
        assert!(table_op(&comment(None), &[]).is_err());
        let create = |name: Option<&str>| {
            TableOp::CreatePrimaryKey(CreatePrimaryKey {
                table: "orders".into(),
                schema: None,
                name: name.map(str::to_owned),
                columns: vec!["id".into(), "region".into()],
            })
        };
        assert_eq!(
            render(create(Some("pk_orders")), vec![]),
            [
                "ALTER TABLE \"orders\" ADD CONSTRAINT \"pk_orders\" PRIMARY KEY (\"id\", \"region\")"
            ]
        );
        assert_eq!(
            render(create(None), vec![]),
            ["ALTER TABLE \"orders\" ADD PRIMARY KEY (\"id\", \"region\")"]
        );
        let drop = |table: &str, name: Option<&str>| {
            TableOp::DropPrimaryKey(DropPrimaryKey {
                table: table.into(),
                schema: None,
                name: name.map(str::to_owned),
                columns: Vec::new(),
            })
        };
        assert_eq!(
            render(drop("orders", Some("pk_orders")), vec![]),
            ["ALTER TABLE \"orders\" DROP CONSTRAINT \"pk_orders\""]
        );
        // No name: the table's own key, else PostgreSQL's default.
        let mut named = orders();
        named.primary_key.as_mut().expect("pk").name = Some("orders_id_key".into());
        assert_eq!(
            render(drop("orders", None), vec![named]),
            ["ALTER TABLE \"orders\" DROP CONSTRAINT \"orders_id_key\""]
        );
        assert_eq!(
            render(drop("orders", None), vec![orders()]),
            ["ALTER TABLE \"orders\" DROP CONSTRAINT \"orders_pkey\""]
        );
        let long = "t".repeat(70);
        assert_eq!(
            render(drop(&long, None), vec![]),
            [format!(
                "ALTER TABLE \"{long}\" DROP CONSTRAINT \"{}_pkey\"",
                "t".repeat(58)
            )]
        );
        assert_eq!(drop("orders", None).name(), "drop_primary_key");
    }

    #[test]
    fn types_and_identifiers() {
        assert_eq!(
            type_sql(&ColumnType::array(ScalarType::String(Some(5)), 2)).as_deref(),
            Ok("VARCHAR(5)[][]")
        );
        assert!(
            type_sql(&ColumnType::of(ScalarType::Enum(schema::EnumType {
                name: None,
                values: vec![]
            })))
            .is_err()
        );
        assert_eq!(ident("x".repeat(70)).len(), 63);
        assert_eq!(
            column_def(&orders(), &orders().columns[0]).as_deref(),
            Ok("\"id\" SERIAL NOT NULL")
        );
    }
}
