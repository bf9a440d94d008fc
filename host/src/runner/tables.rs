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

/// Creates the version and history tables when missing.
pub async fn ensure(
    conn: &mut Connection,
    dialect: &dyn Dialect,
    version_table: &str,
) -> Result<(), TableError> {
    conn.execute(&dialect.create_version_table(version_table))
        .await?;
    conn.execute(&dialect.create_history_table(HISTORY_TABLE)?)
        .await?;
    Ok(())
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
    let rows = conn
        .query_text(&dialect.select_history(HISTORY_TABLE))
        .await?;
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
            }
        })
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
