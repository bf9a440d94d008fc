//! Ops -> SQL statements, one [`Dialect`] per database family.
//!
//! Input: a dialect-neutral [`Op`] and the database's current [`Schema`] (introspected,
//! or replayed with [`replay::apply`] when rendering offline). Output: the
//! [`Statement`]s that carry the op out on that database, in order. This is the only
//! place that builds SQL text: column types, identifier quoting, literals,
//! constraint clauses, SQLite table rebuilds and the version/history-table SQL of the
//! runner. It refuses what a database cannot express (an array column on SQLite, a
//! partial index on MySQL, an unnamed PostgreSQL enum) with a [`DialectError`] naming
//! the table and column, instead of emitting SQL that would fail or silently differ.
//!
//! Identifiers are always quoted (`"x"`, `` `x` `` on MySQL), so reserved words and
//! mixed case need no special handling.

pub mod context;
mod ddl;
mod mysql;
mod postgres;
pub mod replay;
mod sqlite;
#[cfg(test)]
mod tests;

use crate::db::Backend;
use crate::ops::Op;
use crate::schema::{Column, ColumnType, Schema, Table};

pub use mysql::MysqlDialect;
pub use postgres::PostgresDialect;
pub(crate) use postgres::default_pkey_name;
pub use sqlite::SqliteDialect;

/// One SQL statement to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    /// `false`: the statement must run outside a transaction block.
    pub transactional: bool,
}

impl Statement {
    /// A statement that may run inside a transaction.
    pub fn new(sql: impl Into<String>) -> Self {
        Statement {
            sql: sql.into(),
            transactional: true,
        }
    }
}

/// What a database can do, for the runner and the differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Capabilities {
    /// DDL takes part in transactions (SQLite, PostgreSQL; not MySQL).
    pub transactional_ddl: bool,
    /// `ALTER COLUMN` exists; when `false` column changes are table rebuilds.
    pub alter_column: bool,
    /// Table and column comments are stored (and introspected).
    pub comments: bool,
    /// Indexes may have a `WHERE` predicate.
    pub partial_indexes: bool,
    /// Enums are named database types (`CREATE TYPE ... AS ENUM`).
    pub named_enums: bool,
    /// Array column types exist.
    pub arrays: bool,
    /// Check constraints are enforced and introspected.
    pub check_constraints: bool,
}

/// Failures to render an op for a dialect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialectError {
    #[error("Type `{ty}` cannot be used on {dialect}: {reason}")]
    UnsupportedType {
        dialect: String,
        ty: String,
        reason: String,
    },
    #[error("Cannot render `{op}` for {dialect}: {reason}")]
    Unsupported {
        dialect: String,
        op: String,
        reason: String,
    },
    #[error("Table `{table}` does not exist")]
    UnknownTable { table: String },
    #[error("Table `{table}` already exists")]
    TableExists { table: String },
    #[error("Column `{column}` does not exist in table `{table}`")]
    UnknownColumn { table: String, column: String },
    #[error("Column `{column}` already exists in table `{table}`")]
    ColumnExists { table: String, column: String },
    #[error("{kind} `{name}` does not exist on table `{table}`")]
    UnknownObject {
        kind: &'static str,
        table: String,
        name: String,
    },
    #[error("{kind} `{name}` already exists on table `{table}`")]
    ObjectExists {
        kind: &'static str,
        table: String,
        name: String,
    },
    #[error(
        "`alter_column` on `{table}.{column}` needs the column's current {what} on {dialect}: \
         give `existing_{what}` in the op"
    )]
    MissingExisting {
        dialect: String,
        table: String,
        column: String,
        what: &'static str,
    },
    /// A dialect plugin failed or returned something unusable; `message` names it.
    #[error("{message}")]
    Plugin { plugin: String, message: String },
    /// The connected server lacks what the op needs (e.g. MariaDB and expression
    /// indexes), found before any statement of the revision ran.
    #[error("{server} cannot run it: {reason}")]
    ServerCannot { server: String, reason: String },
}

/// A SQL dialect: type mapping, quoting and op rendering for one database family.
///
/// The three built-in dialects implement it, and so does a WebAssembly dialect
/// plugin (`crate::plugins::WasmDialect`).
pub trait Dialect: Send + Sync {
    /// The name used in `sql` op variants and messages: `sqlite`, `postgresql`, `mysql`.
    fn name(&self) -> &str;

    /// The wire protocol the dialect's database speaks.
    fn backend(&self) -> Backend;

    /// What the database can do.
    fn capabilities(&self) -> Capabilities;

    /// The longest constraint or index name the database keeps, in characters; longer
    /// names are shortened the way SQLAlchemy does ([`crate::schema::db_identifier`]).
    /// `None`: no limit that matters.
    fn max_identifier_length(&self) -> Option<usize> {
        None
    }

    /// `name` as a quoted identifier.
    fn quote_ident(&self, name: &str) -> String;

    /// The native spelling of a column type.
    fn type_sql(&self, ty: &ColumnType) -> Result<String, DialectError>;

    /// `text` as a string literal.
    fn literal(&self, text: &str) -> String;

    /// The statements that carry out `op` on a database whose current schema is `schema`.
    fn render(&self, op: &Op, schema: &Schema) -> Result<Vec<Statement>, DialectError>;

    /// True when `op` is rendered as a table rebuild (create new, copy, drop, rename).
    fn needs_rebuild(&self, _op: &Op, _schema: &Schema) -> bool {
        false
    }

    /// True when the two types are the same column type on this database (they render to
    /// the same native spelling), e.g. `uuid` and `char(36)` on MySQL.
    fn types_equivalent(&self, a: &ColumnType, b: &ColumnType) -> bool {
        match (self.type_sql(a), self.type_sql(b)) {
            (Ok(x), Ok(y)) => normalize_type_text(&x) == normalize_type_text(&y),
            _ => a == b,
        }
    }

    /// `CREATE TABLE IF NOT EXISTS` for the version table (Alembic's layout: one
    /// `version_num VARCHAR(32)` primary-key column, one row per current head).
    fn create_version_table(&self, table: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (\n\t{c} VARCHAR(32) NOT NULL, \n\tCONSTRAINT {pk} \
             PRIMARY KEY ({c})\n)",
            t = self.quote_ident(table),
            c = self.quote_ident(VERSION_COLUMN),
            pk = self.quote_ident(&format!("{table}_pkc")),
        )
    }

    /// The current heads: one column, one row per head.
    fn select_versions(&self, table: &str) -> String {
        format!(
            "SELECT {} FROM {}",
            self.quote_ident(VERSION_COLUMN),
            self.quote_ident(table)
        )
    }

    /// Adds a head row.
    fn insert_version(&self, table: &str, revision: &str) -> String {
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            self.quote_ident(table),
            self.quote_ident(VERSION_COLUMN),
            self.literal(revision)
        )
    }

    /// Moves a head row from `from` to `to`.
    fn update_version(&self, table: &str, from: &str, to: &str) -> String {
        format!(
            "UPDATE {t} SET {c} = {to} WHERE {c} = {from}",
            t = self.quote_ident(table),
            c = self.quote_ident(VERSION_COLUMN),
            to = self.literal(to),
            from = self.literal(from)
        )
    }

    /// Removes a head row.
    fn delete_version(&self, table: &str, revision: &str) -> String {
        format!(
            "DELETE FROM {t} WHERE {c} = {r}",
            t = self.quote_ident(table),
            c = self.quote_ident(VERSION_COLUMN),
            r = self.literal(revision)
        )
    }

    /// `CREATE TABLE IF NOT EXISTS` for the history table; its columns are
    /// [`HISTORY_COLUMNS`] plus an auto-incrementing `id`.
    fn create_history_table(&self, table: &str) -> Result<String, DialectError> {
        let create = self.render(
            &Op::CreateTable(crate::ops::CreateTable {
                table: history_table(table),
            }),
            &Schema::default(),
        )?;
        let first = create.into_iter().next().map(|s| s.sql).unwrap_or_default();
        Ok(first.replacen("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))
    }

    /// Records one applied step in the history table.
    fn insert_history(&self, table: &str, row: &HistoryRow) -> String {
        let columns: Vec<String> = HISTORY_COLUMNS
            .iter()
            .map(|c| self.quote_ident(c))
            .collect();
        let values = [
            self.literal(&row.revision),
            self.literal(&row.direction),
            row.checksum
                .as_deref()
                .map_or_else(|| "NULL".to_owned(), |c| self.literal(c)),
            self.literal(&row.applied_at.format("%Y-%m-%d %H:%M:%S%.6f").to_string()),
            row.duration_ms.to_string(),
            self.literal(&row.tool_version),
        ];
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            self.quote_ident(table),
            columns.join(", "),
            values.join(", ")
        )
    }

    /// `expr` converted to text, for reading values the drivers return as types
    /// other than strings (timestamps).
    fn text_expr(&self, expr: &str) -> String {
        format!("CAST({expr} AS TEXT)")
    }

    /// Every history row, oldest first, with the columns of [`HISTORY_COLUMNS`]
    /// (`applied_at` as text, so every backend reads it the same way).
    fn select_history(&self, table: &str) -> String {
        let columns: Vec<String> = HISTORY_COLUMNS
            .iter()
            .map(|c| {
                let quoted = self.quote_ident(c);
                if *c == "applied_at" {
                    self.text_expr(&quoted)
                } else {
                    quoted
                }
            })
            .collect();
        format!(
            "SELECT {} FROM {} ORDER BY {}",
            columns.join(", "),
            self.quote_ident(table),
            self.quote_ident("id")
        )
    }

    /// A statement taking the migration lock named `key` (blocking), or `None` when the
    /// database has no named locks (SQLite: use an immediate write transaction).
    fn lock_sql(&self, _key: &str) -> Option<String> {
        None
    }

    /// The statement releasing the lock of [`Dialect::lock_sql`].
    fn unlock_sql(&self, _key: &str) -> Option<String> {
        None
    }
}

/// The column of the version table.
pub const VERSION_COLUMN: &str = "version_num";

/// The columns of the history table written by [`Dialect::insert_history`], in order.
pub const HISTORY_COLUMNS: &[&str] = &[
    "revision",
    "direction",
    "checksum",
    "applied_at",
    "duration_ms",
    "tool_version",
];

/// One applied step, as stored in the history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub revision: String,
    /// `upgrade` or `downgrade`.
    pub direction: String,
    /// sha256 of the revision file.
    pub checksum: Option<String>,
    pub applied_at: chrono::DateTime<chrono::Utc>,
    pub duration_ms: u64,
    pub tool_version: String,
}

/// The definition of the history table called `name`.
pub fn history_table(name: &str) -> Table {
    let col = |name: &str, ty: ColumnType, nullable: bool| Column {
        nullable,
        ..Column::new(name, ty)
    };
    Table {
        columns: vec![
            Column::primary("id", ColumnType::Integer),
            col("revision", ColumnType::String(Some(32)), false),
            col("direction", ColumnType::String(Some(16)), false),
            col("checksum", ColumnType::String(Some(64)), true),
            col(
                "applied_at",
                ColumnType::DateTime { timezone: false },
                false,
            ),
            col("duration_ms", ColumnType::BigInteger, false),
            col("tool_version", ColumnType::String(Some(32)), false),
            // `started` while the step runs (committed before its DDL where the
            // database commits DDL at once); NULL once it finished.
            col("state", ColumnType::String(Some(16)), true),
            // How many ops of a started step are known to have finished.
            col("ops_done", ColumnType::Integer, true),
            col("ops_checksum", ColumnType::String(Some(64)), true),
        ],
        ..Table::new(name)
    }
}

/// The built-in dialect of `backend`.
pub fn for_backend(backend: Backend) -> Box<dyn Dialect> {
    match backend {
        Backend::Sqlite => Box::new(SqliteDialect),
        Backend::Postgres => Box::new(PostgresDialect),
        Backend::Mysql => Box::new(MysqlDialect),
    }
}

/// Upper-case, without spaces: `numeric(10, 2)` and `NUMERIC(10,2)` compare equal.
fn normalize_type_text(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// True for the integer types that may auto-increment.
pub fn is_integer(ty: &ColumnType) -> bool {
    matches!(
        ty,
        ColumnType::Integer | ColumnType::BigInteger | ColumnType::SmallInteger
    )
}

/// True when `column` of `table` gets its values from the database (SERIAL,
/// AUTO_INCREMENT, SQLite's rowid): `autoincrement = true` on an integer column, or
/// SQLAlchemy's `"auto"` (`None`): the only primary-key column, an integer, with no
/// server default and no foreign key.
pub fn autoincrements(table: &Table, column: &Column) -> bool {
    if !is_integer(&column.ty) {
        return false;
    }
    match column.autoincrement {
        Some(explicit) => explicit,
        None => crate::introspect::auto_increment_by_default(table, column),
    }
}
