//! The SQLite dialect, with table rebuilds for what `ALTER TABLE` cannot do.
//!
//! Input: an [`Op`] and the database's current [`Schema`]. Output: plain SQLite DDL where
//! SQLite has it (`CREATE TABLE`, `ADD COLUMN`, `RENAME COLUMN`, `RENAME TO`, `DROP
//! COLUMN`, indexes), and otherwise a rebuild in Alembic's batch style: `CREATE TABLE
//! "_sqlalembic_tmp_<t>"` with the new definition, `INSERT ... SELECT` of the kept
//! columns (with `CAST` where the type changes), `DROP TABLE`, `ALTER TABLE ... RENAME
//! TO`, then the table's indexes again. The rebuild keeps the table's foreign keys and
//! those of other tables pointing at it, provided the connection runs with
//! `foreign_keys = OFF` (the runner's does) and checks `PRAGMA foreign_key_check`
//! afterwards.
//!
//! Types follow SQLAlchemy's SQLite compiler: `DATETIME` for datetimes and intervals,
//! `VARCHAR(n)` plus a `CHECK (col IN (...))` for enums, `CHAR(36)` for UUIDs.
//! `autoincrement = true` on a single `integer` primary key adds `AUTOINCREMENT`
//! (no id reuse); the default (`None`) relies on SQLite's rowid alias like SQLAlchemy.
//! Comments are not stored: comment-only changes render no statement. Refuses array
//! types. Assumes SQLite 3.35 or later (`DROP COLUMN`, `RENAME COLUMN`).

use super::ddl::{self, table_of};
use super::{Capabilities, Dialect, DialectError, Statement, replay};
use crate::db::Backend;
use crate::ops::{AlterColumn, Op};
use crate::schema::{Column, ColumnType, Schema, Table};

/// The prefix of the temporary table of a rebuild.
pub const REBUILD_PREFIX: &str = "_sqlalembic_tmp_";

/// The built-in SQLite dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn name(&self) -> &str {
        "sqlite"
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transactional_ddl: true,
            alter_column: false,
            comments: false,
            partial_indexes: true,
            named_enums: false,
            arrays: false,
            check_constraints: true,
        }
    }

    fn quote_ident(&self, name: &str) -> String {
        ddl::quote_with(name, '"')
    }

    fn type_sql(&self, ty: &ColumnType) -> Result<String, DialectError> {
        Ok(match ty {
            ColumnType::Integer => "INTEGER".into(),
            ColumnType::BigInteger => "BIGINT".into(),
            ColumnType::SmallInteger => "SMALLINT".into(),
            ColumnType::Boolean => "BOOLEAN".into(),
            ColumnType::String(n) | ColumnType::Unicode(n) => match n {
                Some(n) => format!("VARCHAR({n})"),
                None => "VARCHAR".into(),
            },
            ColumnType::Text => "TEXT".into(),
            ColumnType::Numeric(Some((p, s))) => format!("NUMERIC({p}, {s})"),
            ColumnType::Numeric(None) => "NUMERIC".into(),
            ColumnType::Float => "FLOAT".into(),
            ColumnType::Date => "DATE".into(),
            // SQLAlchemy stores intervals as a datetime offset from the epoch on SQLite.
            ColumnType::DateTime { .. } | ColumnType::Interval => "DATETIME".into(),
            ColumnType::Timestamp { .. } => "TIMESTAMP".into(),
            ColumnType::Time => "TIME".into(),
            ColumnType::LargeBinary => "BLOB".into(),
            ColumnType::Json => "JSON".into(),
            // SQLAlchemy's `Uuid` without a native type: 32 hex digits.
            ColumnType::Uuid => "CHAR(32)".into(),
            ColumnType::Enum { values, .. } => {
                let len = values.iter().map(|v| v.chars().count()).max().unwrap_or(0);
                format!("VARCHAR({len})")
            }
            ColumnType::Array(_) => {
                return Err(DialectError::UnsupportedType {
                    dialect: self.name().into(),
                    ty: ty.to_string(),
                    reason: "SQLite has no array types; use `json`".into(),
                });
            }
            ColumnType::Custom(text) => text.clone(),
            ColumnType::Variant { .. } => self.type_sql(ty.for_dialect(self.name()))?,
        })
    }

    fn literal(&self, text: &str) -> String {
        ddl::string_literal(text, false)
    }

    fn needs_rebuild(&self, op: &Op, schema: &Schema) -> bool {
        match op {
            Op::AddColumn(a) => !simple_add(&a.column),
            Op::DropColumn(d) => schema
                .table(d.schema.as_deref(), &d.table)
                .is_some_and(|t| column_is_used(t, &d.column)),
            Op::AlterColumn(a) => {
                a.ty.is_some() || a.nullable.is_some() || a.server_default.is_some()
            }
            Op::CreateUnique(_)
            | Op::DropUnique(_)
            | Op::CreateForeignKey(_)
            | Op::DropForeignKey(_)
            | Op::CreateCheck(_)
            | Op::DropCheck(_)
            | Op::CreatePrimaryKey(_)
            | Op::DropPrimaryKey(_) => true,
            _ => false,
        }
    }

    fn render(&self, op: &Op, schema: &Schema) -> Result<Vec<Statement>, DialectError> {
        let op = &*op.for_dialect(self.name());
        if !op.applies_to(self.name()) {
            return Ok(Vec::new());
        }
        let schema = &*schema.for_dialect(self.name());
        let t = |s: &Option<String>, name: &str| ddl::table_ref(self, s.as_deref(), name);
        Ok(match op {
            Op::CreateTable(c) => {
                let mut out = vec![Statement::new(self.create_table(&c.table, None)?)];
                for index in &c.table.indexes {
                    let mut index = index.clone();
                    if index.table.is_empty() {
                        index.table.clone_from(&c.table.name);
                    }
                    out.push(Statement::new(ddl::create_index(
                        self,
                        c.table.schema.as_deref(),
                        &index,
                    )));
                }
                out
            }
            Op::DropTable(d) => vec![Statement::new(format!(
                "DROP TABLE {}",
                t(&d.schema, &d.table)
            ))],
            Op::RenameTable(r) => vec![Statement::new(format!(
                "ALTER TABLE {} RENAME TO {}",
                t(&r.schema, &r.table),
                self.quote_ident(&r.new_name)
            ))],
            Op::AddColumn(a) if simple_add(&a.column) => {
                let table = schema
                    .table(a.schema.as_deref(), &a.table)
                    .cloned()
                    .unwrap_or_else(|| Table::new(a.table.clone()));
                vec![Statement::new(format!(
                    "ALTER TABLE {} ADD COLUMN {}",
                    t(&a.schema, &a.table),
                    self.column_def(&table, &a.column, false, true)?
                ))]
            }
            Op::DropColumn(d) if !self.needs_rebuild(op, schema) => vec![Statement::new(format!(
                "ALTER TABLE {} DROP COLUMN {}",
                t(&d.schema, &d.table),
                self.quote_ident(&d.column)
            ))],
            Op::AlterColumn(a) => self.alter_column(a, schema)?,
            Op::CreateIndex(c) => vec![Statement::new(ddl::create_index(
                self,
                c.schema.as_deref(),
                &c.index,
            ))],
            Op::DropIndex(d) => vec![Statement::new(format!(
                "DROP INDEX {}",
                t(&d.schema, &d.name)
            ))],
            Op::Sql(s) => ddl::sql_op(self, s, false),
            // SQLite keeps no table comments.
            Op::AlterTable(_) => Vec::new(),
            _ => self.rebuild(op, schema)?,
        })
    }
}

impl SqliteDialect {
    /// `CREATE TABLE` for `table`, called `name` when given (a rebuild's temporary table).
    fn create_table(&self, table: &Table, name: Option<&str>) -> Result<String, DialectError> {
        let auto = autoincrement_keyword_column(table);
        let defs = table
            .columns
            .iter()
            .map(|c| self.column_def(table, c, auto == Some(c.name.as_str()), false))
            .collect::<Result<Vec<_>, _>>()?;
        let renamed;
        let table = match name {
            Some(name) => {
                renamed = Table {
                    name: name.to_owned(),
                    ..table.clone()
                };
                &renamed
            }
            None => table,
        };
        Ok(ddl::create_table(self, table, defs, auto.is_some(), ""))
    }

    /// `"name" TYPE [DEFAULT x] [NOT NULL] [PRIMARY KEY AUTOINCREMENT] [CHECK (enum)]`.
    /// `for_add`: the default is written bare (`ADD COLUMN` refuses parenthesised ones).
    fn column_def(
        &self,
        table: &Table,
        column: &Column,
        autoincrement_pk: bool,
        for_add: bool,
    ) -> Result<String, DialectError> {
        let name = self.quote_ident(&column.name);
        let mut def = format!("{name} {}", self.type_sql(&column.ty)?);
        if let Some(default) = &column.server_default {
            let default = if for_add {
                default.clone()
            } else {
                wrap_default(default)
            };
            def.push_str(&format!(" DEFAULT {default}"));
        }
        let in_pk = table.primary_key_columns().contains(&column.name.as_str());
        if !column.nullable || in_pk || (for_add && column.primary_key) {
            def.push_str(" NOT NULL");
        }
        if autoincrement_pk {
            def.push_str(" PRIMARY KEY AUTOINCREMENT");
        }
        if let ColumnType::Enum { values, .. } = &column.ty {
            let values: Vec<String> = values.iter().map(|v| self.literal(v)).collect();
            def.push_str(&format!(" CHECK ({name} IN ({}))", values.join(", ")));
        }
        Ok(def)
    }

    fn alter_column(
        &self,
        a: &AlterColumn,
        schema: &Schema,
    ) -> Result<Vec<Statement>, DialectError> {
        let mut out = Vec::new();
        let mut rest = a.clone();
        let mut current = schema;
        let renamed_schema;
        if let Some(new_name) = a.new_name.as_ref().filter(|n| **n != a.column) {
            out.push(Statement::new(format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                ddl::table_ref(self, a.schema.as_deref(), &a.table),
                self.quote_ident(&a.column),
                self.quote_ident(new_name)
            )));
            // The other changes apply to the renamed column: `RENAME COLUMN` also fixes
            // the foreign keys of other tables, which a rebuild would not.
            let mut s = schema.clone();
            if s.table(a.schema.as_deref(), &a.table).is_some() {
                let rename_only = AlterColumn {
                    table: a.table.clone(),
                    schema: a.schema.clone(),
                    column: a.column.clone(),
                    new_name: Some(new_name.clone()),
                    ..AlterColumn::default()
                };
                replay::apply(&mut s, &Op::AlterColumn(rename_only))?;
            }
            renamed_schema = s;
            current = &renamed_schema;
            rest.column.clone_from(new_name);
            rest.new_name = None;
        }
        if rest.ty.is_some() || rest.nullable.is_some() || rest.server_default.is_some() {
            out.extend(self.rebuild(&Op::AlterColumn(rest), current)?);
        }
        Ok(out)
    }

    /// Create new, copy, drop old, rename, re-create indexes.
    fn rebuild(&self, op: &Op, schema: &Schema) -> Result<Vec<Statement>, DialectError> {
        let (table_schema, table_name) = target(op);
        let old = table_of(schema, table_schema, table_name)?;
        let mut scratch = Schema {
            tables: vec![old.clone()],
        };
        replay::apply(&mut scratch, op)?;
        let new = &scratch.tables[0];
        let tmp_name = format!("{REBUILD_PREFIX}{}", old.name);
        let tmp = ddl::table_ref(self, table_schema, &tmp_name);
        let real = ddl::table_ref(self, table_schema, &old.name);
        let mut out = vec![Statement::new(self.create_table(new, Some(&tmp_name))?)];
        let mut targets = Vec::new();
        let mut sources = Vec::new();
        for column in &new.columns {
            let Some(source) = old.column(&column.name) else {
                continue;
            };
            let name = self.quote_ident(&column.name);
            targets.push(name.clone());
            if source.ty == column.ty {
                sources.push(name);
            } else {
                sources.push(format!("CAST({name} AS {})", self.type_sql(&column.ty)?));
            }
        }
        if !targets.is_empty() {
            out.push(Statement::new(format!(
                "INSERT INTO {tmp} ({}) SELECT {} FROM {real}",
                targets.join(", "),
                sources.join(", ")
            )));
        }
        out.push(Statement::new(format!("DROP TABLE {real}")));
        out.push(Statement::new(format!(
            "ALTER TABLE {tmp} RENAME TO {}",
            self.quote_ident(&old.name)
        )));
        for index in &new.indexes {
            let index = crate::schema::Index {
                table: new.name.clone(),
                ..index.clone()
            };
            out.push(Statement::new(ddl::create_index(
                self,
                table_schema,
                &index,
            )));
        }
        Ok(out)
    }
}

/// The (schema, table) an op works on.
fn target(op: &Op) -> (Option<&str>, &str) {
    match op {
        Op::CreateTable(c) => (c.table.schema.as_deref(), &c.table.name),
        Op::DropTable(d) => (d.schema.as_deref(), &d.table),
        Op::RenameTable(r) => (r.schema.as_deref(), &r.table),
        Op::AlterTable(a) => (a.schema.as_deref(), &a.table),
        Op::CreatePrimaryKey(c) => (c.schema.as_deref(), &c.table),
        Op::DropPrimaryKey(d) => (d.schema.as_deref(), &d.table),
        Op::AddColumn(a) => (a.schema.as_deref(), &a.table),
        Op::DropColumn(d) => (d.schema.as_deref(), &d.table),
        Op::AlterColumn(a) => (a.schema.as_deref(), &a.table),
        Op::CreateIndex(c) => (c.schema.as_deref(), &c.index.table),
        Op::DropIndex(d) => (d.schema.as_deref(), &d.table),
        Op::CreateUnique(c) => (c.schema.as_deref(), &c.table),
        Op::DropUnique(d) => (d.schema.as_deref(), &d.table),
        Op::CreateForeignKey(c) => (c.schema.as_deref(), &c.table),
        Op::DropForeignKey(d) => (d.schema.as_deref(), &d.table),
        Op::CreateCheck(c) => (c.schema.as_deref(), &c.table),
        Op::DropCheck(d) => (d.schema.as_deref(), &d.table),
        Op::Sql(_) => (None, ""),
    }
}

/// The column that gets `PRIMARY KEY AUTOINCREMENT`: the only primary-key column, of
/// type `integer`, with `autoincrement = true`.
fn autoincrement_keyword_column(table: &Table) -> Option<&str> {
    let pk = table.primary_key_columns();
    let [only] = pk.as_slice() else { return None };
    let column = table.column(only)?;
    (column.autoincrement == Some(true) && column.ty == ColumnType::Integer).then_some(only)
}

/// SQLAlchemy's rule: a default that is not quoted or parenthesised and holds a
/// non-word character (`datetime('now')`, `-1`) is wrapped in parentheses.
fn wrap_default(text: &str) -> String {
    let t = text.trim();
    // SQLAlchemy's `func.now()` is `now()` elsewhere; SQLite has no such function and
    // spells it `CURRENT_TIMESTAMP` (as SQLAlchemy renders it for SQLite).
    let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.eq_ignore_ascii_case("now()") {
        return "CURRENT_TIMESTAMP".to_owned();
    }
    let bare =
        t.starts_with(['\'', '"', '(']) || t.chars().all(|c| c.is_alphanumeric() || c == '_');
    if bare { t.to_owned() } else { format!("({t})") }
}

/// True when `ADD COLUMN` can add `column`: no primary key or unique, no
/// auto-increment, and a default that is a constant literal (required when NOT NULL).
fn simple_add(column: &Column) -> bool {
    if column.primary_key || column.unique || column.autoincrement == Some(true) {
        return false;
    }
    match &column.server_default {
        Some(default) => {
            is_constant_literal(default)
                && (column.nullable || !default.trim().eq_ignore_ascii_case("null"))
        }
        None => column.nullable,
    }
}

/// A string, blob, (signed) number, `NULL`, `TRUE` or `FALSE`.
fn is_constant_literal(text: &str) -> bool {
    let t = text.trim();
    let quoted = |t: &str| t.len() >= 2 && t.starts_with('\'') && t.ends_with('\'');
    if quoted(t) || (t.len() > 2 && t[..1].eq_ignore_ascii_case("x") && quoted(&t[1..])) {
        return true;
    }
    if ["null", "true", "false"]
        .iter()
        .any(|k| t.eq_ignore_ascii_case(k))
    {
        return true;
    }
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    !digits.is_empty()
        && digits.parse::<f64>().is_ok()
        && !digits.contains(|c: char| c.is_alphabetic())
}

/// True when dropping `column` needs a rebuild: it is in the primary key, a unique, an
/// index, a foreign key or a check, or carries its own (enum) check.
fn column_is_used(table: &Table, column: &str) -> bool {
    use crate::introspect::sqltext::mentions_identifier;
    let Some(c) = table.column(column) else {
        return false;
    };
    let uses = |entries: &[String]| {
        entries.iter().any(|e| {
            e == column
                || (crate::schema::Index::is_expression(e) && mentions_identifier(e, column))
        })
    };
    c.unique
        || c.primary_key
        || matches!(c.ty, ColumnType::Enum { .. })
        || table.primary_key_columns().contains(&column)
        || table.uniques.iter().any(|u| uses(&u.columns))
        || table.indexes.iter().any(|i| {
            uses(&i.columns)
                || i.where_
                    .as_deref()
                    .is_some_and(|w| mentions_identifier(w, column))
        })
        || table.foreign_keys.iter().any(|f| uses(&f.columns))
        || table
            .checks
            .iter()
            .any(|k| mentions_identifier(&k.sqltext, column))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{AddColumn, CreateTable, DropColumn};
    use crate::schema::{ForeignKey, Index};

    fn posts() -> Table {
        Table {
            columns: vec![
                Column::primary("id", ColumnType::Integer),
                Column::new("title", ColumnType::String(Some(200))).not_null(),
                Column {
                    server_default: Some("'draft'".into()),
                    ..Column::new(
                        "status",
                        ColumnType::Enum {
                            name: Some("post_status".into()),
                            values: vec!["draft".into(), "published".into()],
                        },
                    )
                },
                Column {
                    server_default: Some("CURRENT_TIMESTAMP".into()),
                    ..Column::new("created", ColumnType::DateTime { timezone: true })
                },
                Column::new("user_id", ColumnType::Integer),
            ],
            foreign_keys: vec![ForeignKey {
                columns: vec!["user_id".into()],
                ref_table: "users".into(),
                ref_columns: vec!["id".into()],
                ondelete: Some("set null".into()),
                ..ForeignKey::default()
            }],
            indexes: vec![Index {
                name: "ix_posts_title".into(),
                columns: vec!["title".into()],
                ..Index::default()
            }],
            ..Table::new("posts")
        }
    }

    #[test]
    fn create_table_follows_sqlalchemy_layout() {
        let op = Op::CreateTable(CreateTable { table: posts() });
        let out = SqliteDialect
            .render(&op, &Schema::default())
            .expect("renders");
        assert_eq!(
            out[0].sql,
            "CREATE TABLE \"posts\" (\n\t\"id\" INTEGER NOT NULL,\n\t\"title\" VARCHAR(200) NOT NULL,\n\t\
             \"status\" VARCHAR(9) DEFAULT 'draft' CHECK (\"status\" IN ('draft', 'published')),\n\t\
             \"created\" DATETIME DEFAULT CURRENT_TIMESTAMP,\n\t\"user_id\" INTEGER,\n\t\
             PRIMARY KEY (\"id\"),\n\tFOREIGN KEY (\"user_id\") REFERENCES \"users\" (\"id\") ON DELETE SET NULL\n)"
        );
        assert_eq!(
            out[1].sql,
            "CREATE INDEX \"ix_posts_title\" ON \"posts\" (\"title\")"
        );
    }

    #[test]
    fn add_column_uses_alter_table_only_when_sqlite_can() {
        let schema = Schema {
            tables: vec![posts()],
        };
        let add = |column: Column| {
            Op::AddColumn(AddColumn {
                table: "posts".into(),
                schema: None,
                column,
            })
        };
        let simple = add(Column {
            server_default: Some("0".into()),
            ..Column::new("views", ColumnType::Integer).not_null()
        });
        let out = SqliteDialect.render(&simple, &schema).expect("renders");
        assert_eq!(
            out[0].sql,
            "ALTER TABLE \"posts\" ADD COLUMN \"views\" INTEGER DEFAULT 0 NOT NULL"
        );
        let not_null_without_default = add(Column::new("slug", ColumnType::Text).not_null());
        assert!(SqliteDialect.needs_rebuild(&not_null_without_default, &schema));
        let out = SqliteDialect
            .render(&not_null_without_default, &schema)
            .expect("renders");
        assert!(
            out[0]
                .sql
                .starts_with("CREATE TABLE \"_sqlalembic_tmp_posts\"")
        );
        assert_eq!(
            out[1].sql,
            "INSERT INTO \"_sqlalembic_tmp_posts\" (\"id\", \"title\", \"status\", \"created\", \"user_id\") \
             SELECT \"id\", \"title\", \"status\", \"created\", \"user_id\" FROM \"posts\""
        );
        assert_eq!(out[2].sql, "DROP TABLE \"posts\"");
        assert_eq!(
            out[3].sql,
            "ALTER TABLE \"_sqlalembic_tmp_posts\" RENAME TO \"posts\""
        );
        assert_eq!(
            out[4].sql,
            "CREATE INDEX \"ix_posts_title\" ON \"posts\" (\"title\")"
        );
    }

    #[test]
    fn drop_column_rebuilds_only_for_used_columns() {
        let schema = Schema {
            tables: vec![posts()],
        };
        let drop = |column: &str| {
            Op::DropColumn(DropColumn {
                table: "posts".into(),
                schema: None,
                column: column.into(),
                definition: None,
            })
        };
        let out = SqliteDialect
            .render(&drop("created"), &schema)
            .expect("renders");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].sql, "ALTER TABLE \"posts\" DROP COLUMN \"created\"");
        for used in ["title", "user_id", "status"] {
            assert!(SqliteDialect.needs_rebuild(&drop(used), &schema), "{used}");
        }
    }

    #[test]
    fn alter_column_renames_then_rebuilds_with_cast() {
        let schema = Schema {
            tables: vec![posts()],
        };
        let op = Op::AlterColumn(AlterColumn {
            table: "posts".into(),
            column: "title".into(),
            new_name: Some("headline".into()),
            ty: Some(ColumnType::Text),
            ..AlterColumn::default()
        });
        let out = SqliteDialect.render(&op, &schema).expect("renders");
        assert_eq!(
            out[0].sql,
            "ALTER TABLE \"posts\" RENAME COLUMN \"title\" TO \"headline\""
        );
        assert!(
            out[2].sql.contains("CAST(\"headline\" AS TEXT)"),
            "{}",
            out[2].sql
        );
        assert_eq!(
            out.last().map(|s| s.sql.as_str()),
            Some("CREATE INDEX \"ix_posts_title\" ON \"posts\" (\"headline\")")
        );
        let comment_only = Op::AlterColumn(AlterColumn {
            table: "posts".into(),
            column: "title".into(),
            comment: Some(Some("x".into())),
            ..AlterColumn::default()
        });
        assert!(
            SqliteDialect
                .render(&comment_only, &schema)
                .expect("renders")
                .is_empty()
        );
    }

    #[test]
    fn defaults_and_literals() {
        assert_eq!(wrap_default("datetime('now')"), "(datetime('now'))");
        assert_eq!(wrap_default("CURRENT_TIMESTAMP"), "CURRENT_TIMESTAMP");
        assert_eq!(wrap_default("now()"), "CURRENT_TIMESTAMP");
        assert_eq!(wrap_default("NOW( )"), "CURRENT_TIMESTAMP");
        assert_eq!(wrap_default("'a b'"), "'a b'");
        assert_eq!(wrap_default("-1"), "(-1)");
        assert!(is_constant_literal("-1.5"));
        assert!(is_constant_literal("X'00ff'"));
        assert!(!is_constant_literal("CURRENT_TIMESTAMP"));
        assert!(!is_constant_literal("inf"));
        assert_eq!(SqliteDialect.literal("it's"), "'it''s'");
        assert_eq!(SqliteDialect.quote_ident("a\"b"), "\"a\"\"b\"");
        let err = SqliteDialect
            .type_sql(&ColumnType::Array(Box::new(ColumnType::Integer)))
            .expect_err("no arrays");
        assert!(
            err.to_string().contains("SQLite has no array types"),
            "{err}"
        );
    }
}
