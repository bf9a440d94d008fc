//! The version table (Alembic's, one row per current head) and the history table (one
//! row per applied step): reading them, and the statements that change them, rendered
//! by the connection's [`Dialect`].

use crate::db::{Backend, Connection, DbError};
use crate::dialect::{Dialect, DialectError, HistoryRow as NewHistoryRow};
use crate::revision::graph::VersionChange;

/// Name of the history table.
pub const HISTORY_TABLE: &str = "sqlalembic_history";

/// One row of the history table as read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HistoryRow {
    pub revision: String,
    /// `upgrade`, `downgrade`, `stamp`, `stamp-down`.
    pub direction: String,
    /// sha256 of the revision file (line endings normalised); none for stamps.
    pub checksum: Option<String>,
    pub applied_at: String,
    pub duration_ms: u64,
    pub tool_version: String,
    /// `started`: the step began and has not finished (a crash, a lost server, a
    /// killed process). `None` for finished steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Of a started step: how many of its ops are known to have finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ops_done: Option<u64>,
    /// sha256 of the step's ops ([`crate::revision::file::ops_checksum`]); none for
    /// stamps and for rows written by versions that did not record it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ops_checksum: Option<String>,
}

/// The `state` of a step that began and has not finished.
pub const STARTED: &str = "started";

impl HistoryRow {
    pub fn is_started(&self) -> bool {
        self.state.as_deref() == Some(STARTED)
    }
}

/// True when `name` is a plain identifier that needs no quoting in any dialect.
pub fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}

/// The statement for one change of the version table.
pub fn version_change_sql(dialect: &dyn Dialect, table: &str, change: &VersionChange) -> String {
    match change {
        VersionChange::Insert(v) => dialect.insert_version(table, v),
        VersionChange::Update { from, to } => dialect.update_version(table, from, to),
        VersionChange::Delete(v) => dialect.delete_version(table, v),
    }
}

/// The statement that records one step in the history table.
pub fn history_insert_sql(
    dialect: &dyn Dialect,
    revision: &str,
    direction: &str,
    checksum: Option<&str>,
    duration_ms: u64,
) -> String {
    dialect.insert_history(
        HISTORY_TABLE,
        &NewHistoryRow {
            revision: revision.to_owned(),
            direction: direction.to_owned(),
            checksum: checksum.map(str::to_owned),
            applied_at: chrono::Utc::now(),
            duration_ms,
            tool_version: crate::VERSION.to_owned(),
        },
    )
}

/// The row recording that a step began: `state = 'started'`, no op finished yet.
pub fn history_start_sql(
    dialect: &dyn Dialect,
    revision: &str,
    direction: &str,
    checksum: Option<&str>,
    ops_checksum: Option<&str>,
) -> String {
    let q = |c: &str| dialect.quote_ident(c);
    let columns = [
        "revision",
        "direction",
        "checksum",
        "applied_at",
        "duration_ms",
        "tool_version",
        "state",
        "ops_done",
        "ops_checksum",
    ];
    let values = [
        dialect.literal(revision),
        dialect.literal(direction),
        checksum.map_or_else(|| "NULL".to_owned(), |c| dialect.literal(c)),
        dialect.literal(
            &chrono::Utc::now()
                .format("%Y-%m-%d %H:%M:%S%.6f")
                .to_string(),
        ),
        "0".to_owned(),
        dialect.literal(crate::VERSION),
        dialect.literal(STARTED),
        "0".to_owned(),
        ops_checksum.map_or_else(|| "NULL".to_owned(), |c| dialect.literal(c)),
    ];
    format!(
        "INSERT INTO {} ({}) VALUES ({})",
        q(HISTORY_TABLE),
        columns.iter().map(|c| q(c)).collect::<Vec<_>>().join(", "),
        values.join(", ")
    )
}

fn started_row_filter(dialect: &dyn Dialect, revision: &str) -> String {
    format!(
        "{} = {} AND {} = {}",
        dialect.quote_ident("revision"),
        dialect.literal(revision),
        dialect.quote_ident("state"),
        dialect.literal(STARTED)
    )
}

/// Records that the first `ops_done` ops of the started step of `revision` finished.
pub fn history_progress_sql(dialect: &dyn Dialect, revision: &str, ops_done: usize) -> String {
    format!(
        "UPDATE {} SET {} = {ops_done} WHERE {}",
        dialect.quote_ident(HISTORY_TABLE),
        dialect.quote_ident("ops_done"),
        started_row_filter(dialect, revision)
    )
}

/// Marks the started step of `revision` finished (run with its version-table change).
pub fn history_finish_sql(dialect: &dyn Dialect, revision: &str, duration_ms: u64) -> String {
    format!(
        "UPDATE {} SET {} = NULL, {} = NULL, {} = {duration_ms} WHERE {}",
        dialect.quote_ident(HISTORY_TABLE),
        dialect.quote_ident("state"),
        dialect.quote_ident("ops_done"),
        dialect.quote_ident("duration_ms"),
        started_row_filter(dialect, revision)
    )
}

/// Records `checksum` (and `ops_checksum`) as the file checksum of the upgrades of
/// `revision` recorded with checksum `old` (`validate --repair`).
pub fn history_checksum_update_sql(
    dialect: &dyn Dialect,
    revision: &str,
    old: &str,
    checksum: &str,
    ops_checksum: &str,
) -> String {
    let q = |c: &str| dialect.quote_ident(c);
    format!(
        "UPDATE {} SET {} = {}, {} = {} WHERE {} = {} AND {} = {} AND {} = {}",
        q(HISTORY_TABLE),
        q("checksum"),
        dialect.literal(checksum),
        q("ops_checksum"),
        dialect.literal(ops_checksum),
        q("revision"),
        dialect.literal(revision),
        q("direction"),
        dialect.literal("upgrade"),
        q("checksum"),
        dialect.literal(old)
    )
}

/// Removes the started row of `revision` (its step failed and was rolled back, or the
/// user chose to run it again).
pub fn history_forget_started_sql(dialect: &dyn Dialect, revision: &str) -> String {
    format!(
        "DELETE FROM {} WHERE {}",
        dialect.quote_ident(HISTORY_TABLE),
        started_row_filter(dialect, revision)
    )
}

/// Creates the version and history tables when missing, and adds the history columns
/// a table made by an older version lacks.
pub async fn ensure(
    conn: &mut Connection,
    dialect: &dyn Dialect,
    version_table: &str,
) -> Result<(), TableError> {
    conn.execute(&dialect.create_version_table(version_table))
        .await?;
    conn.execute(&dialect.create_history_table(HISTORY_TABLE)?)
        .await?;
    let present = columns(conn, HISTORY_TABLE).await?;
    let wanted = crate::dialect::history_table(HISTORY_TABLE);
    for column in wanted.columns {
        if present.iter().any(|c| c.eq_ignore_ascii_case(&column.name)) {
            continue;
        }
        tracing::info!(column = %column.name, "Adding a column to the history table");
        let op = crate::ops::Op::AddColumn(crate::ops::AddColumn {
            table: HISTORY_TABLE.to_owned(),
            schema: None,
            column,
        });
        for stmt in dialect.render(&op, &crate::schema::Schema::default())? {
            conn.execute(&stmt.sql).await?;
        }
    }
    Ok(())
}

/// The column names of `table` in the connection's current database/schema.
pub async fn columns(conn: &mut Connection, table: &str) -> Result<Vec<String>, DbError> {
    let sql = match conn.backend() {
        Backend::Sqlite => format!(
            "SELECT name FROM pragma_table_info({})",
            quote_literal(table)
        ),
        Backend::Postgres => format!(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = {}",
            quote_literal(table)
        ),
        Backend::Mysql => format!(
            "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = {}",
            quote_literal(table)
        ),
    };
    conn.query_column(&sql).await
}

/// Failures creating the bookkeeping tables.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Dialect(#[from] DialectError),
}

fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Whether `table` exists in the connection's current database/schema.
pub async fn table_exists(conn: &mut Connection, table: &str) -> Result<bool, DbError> {
    let sql = match conn.backend() {
        Backend::Sqlite => format!(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = {}",
            quote_literal(table)
        ),
        Backend::Postgres => format!(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = {}",
            quote_literal(table)
        ),
        Backend::Mysql => format!(
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = {}",
            quote_literal(table)
        ),
    };
    Ok(!conn.query_column(&sql).await?.is_empty())
}

/// The rows of the version table, sorted (empty when the table does not exist).
pub async fn read_heads(
    conn: &mut Connection,
    version_table: &str,
) -> Result<Vec<String>, DbError> {
    if !table_exists(conn, version_table).await? {
        return Ok(Vec::new());
    }
    let dialect = crate::dialect::for_backend(conn.backend());
    let mut rows = conn
        .query_column(&dialect.select_versions(version_table))
        .await?;
    rows.sort();
    Ok(rows)
}

/// Every row of the history table, oldest first (empty when it does not exist).
pub async fn read_history(conn: &mut Connection) -> Result<Vec<HistoryRow>, DbError> {
    if !table_exists(conn, HISTORY_TABLE).await? {
        return Ok(Vec::new());
    }
    let dialect = crate::dialect::for_backend(conn.backend());
    // A table made by an older version lacks the later columns until a run adds them.
    let present = columns(conn, HISTORY_TABLE).await?;
    let extras: Vec<&str> = ["state", "ops_done", "ops_checksum"]
        .into_iter()
        .filter(|c| present.iter().any(|p| p.eq_ignore_ascii_case(c)))
        .collect();
    let mut sql = dialect.select_history(HISTORY_TABLE);
    if !extras.is_empty() {
        let extra = extras
            .iter()
            .map(|c| format!(", {}", dialect.quote_ident(c)))
            .collect::<String>();
        sql = sql.replacen(" FROM ", &format!("{extra} FROM "), 1);
    }
    let extra_at = |name: &str| extras.iter().position(|c| *c == name).map(|i| 6 + i);
    let (state_at, done_at, ops_at) = (
        extra_at("state"),
        extra_at("ops_done"),
        extra_at("ops_checksum"),
    );
    let rows = conn.query_text(&sql).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let text = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
            HistoryRow {
                revision: text(0),
                direction: text(1),
                checksum: r.get(2).cloned().flatten(),
                applied_at: text(3),
                duration_ms: text(4).parse().unwrap_or(0),
                tool_version: text(5),
                state: state_at.and_then(|i| r.get(i).cloned().flatten()),
                ops_done: done_at
                    .and_then(|i| r.get(i).cloned().flatten())
                    .and_then(|n| n.parse().ok()),
                ops_checksum: ops_at.and_then(|i| r.get(i).cloned().flatten()),
            }
        })
        .collect())
}

/// The history rows of steps that began and did not finish, oldest first.
pub async fn read_started(conn: &mut Connection) -> Result<Vec<HistoryRow>, DbError> {
    Ok(read_history(conn)
        .await?
        .into_iter()
        .filter(HistoryRow::is_started)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_statements_use_the_dialect() {
        let d = crate::dialect::for_backend(Backend::Sqlite);
        let sql = version_change_sql(
            d.as_ref(),
            "alembic_version",
            &VersionChange::Insert("a1".into()),
        );
        assert!(sql.starts_with("INSERT INTO"), "{sql}");
        assert!(sql.contains("'a1'"), "{sql}");
    }

    #[test]
    fn identifiers() {
        assert!(is_plain_identifier("alembic_version"));
        assert!(!is_plain_identifier("x; DROP TABLE y"));
        assert!(!is_plain_identifier("1abc"));
    }
}
