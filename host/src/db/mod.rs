//! Connections to the three databases, behind one enum.
//!
//! Input: a [`RedactedUrl`] and the engine. Output: a [`Connection`] that runs SQL text
//! and reads rows as strings. Errors name what was reached (`host:port` or the SQLite
//! path) and never the password. Nothing here knows about revisions or ops.

use std::str::FromStr;
use std::time::Duration;

#[doc(hidden)]
pub mod testing;

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection as _, Row};

use crate::config::{Engine, RedactedUrl, redact_text};

/// Which wire protocol / SQL family a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
            Backend::Mysql => "mysql",
        }
    }

    /// The backend of a configured engine (`None` for a dialect plugin).
    pub fn of_engine(engine: &Engine) -> Option<Backend> {
        match engine {
            Engine::Sqlite => Some(Backend::Sqlite),
            Engine::Postgresql => Some(Backend::Postgres),
            Engine::Mysql => Some(Backend::Mysql),
            _ => None,
        }
    }
}

/// Database failures, with the context to act on them.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("Cannot connect to {target}: {cause}")]
    Connect { target: String, cause: String },
    #[error("Invalid database URL `{url}`: {cause}")]
    Url { url: String, cause: String },
    #[error("{message}\n  statement: {statement}")]
    Statement { statement: String, message: String },
    #[error("The connection was lost (the server went away): {cause}\n  statement: {statement}")]
    ConnectionLost { statement: String, cause: String },
    #[error("The database engine `{0}` has no built-in driver")]
    NoDriver(String),
    #[error(
        "{target} runs {server} {version}, which is too old: sqlalembic needs {server} {minimum} or newer"
    )]
    TooOld {
        target: String,
        server: &'static str,
        version: String,
        minimum: &'static str,
    },
}

/// An open connection to one of the supported databases.
#[derive(Debug)]
pub enum Connection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
    Mysql(MySqlConnection),
}

/// Where a URL points, for messages: `host:port/db` or the SQLite path; never the password.
pub fn describe_target(url: &RedactedUrl, backend: Backend) -> String {
    let raw = url.expose();
    match backend {
        Backend::Sqlite => sqlite_path(raw).unwrap_or_else(|| url.to_string()),
        _ => match url::Url::parse(raw) {
            Ok(u) => {
                let port = u.port().unwrap_or(match backend {
                    Backend::Postgres => 5432,
                    _ => 3306,
                });
                format!(
                    "{} at {}:{}{}",
                    backend.name(),
                    u.host_str().unwrap_or("localhost"),
                    port,
                    u.path()
                )
            }
            Err(_) => url.to_string(),
        },
    }
}

fn sqlite_path(raw: &str) -> Option<String> {
    let rest = raw.strip_prefix("sqlite:")?;
    let rest = rest.trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or(rest);
    Some(path.to_owned())
}

impl Connection {
    /// Connects; SQLite files are created when missing.
    pub async fn connect(url: &RedactedUrl, backend: Backend) -> Result<Self, DbError> {
        let target = describe_target(url, backend);
        let raw = url.expose();
        let connect_err = |e: sqlx::Error| DbError::Connect {
            target: target.clone(),
            cause: redact_text(&cause_text(&e)),
        };
        let url_err = |e: sqlx::Error| DbError::Url {
            url: url.to_string(),
            cause: redact_text(&cause_text(&e)),
        };
        match backend {
            Backend::Sqlite => {
                let path = sqlite_path(raw).unwrap_or_default();
                let opts = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
                    .map_err(url_err)?
                    .create_if_missing(true)
                    .busy_timeout(Duration::from_secs(60))
                    // Table rebuilds must not fire ON DELETE actions of other tables;
                    // integrity is checked with `PRAGMA foreign_key_check` instead.
                    .foreign_keys(false)
                    .disable_statement_logging();
                let conn = SqliteConnection::connect_with(&opts)
                    .await
                    .map_err(connect_err)?;
                Ok(Connection::Sqlite(conn))
            }
            Backend::Postgres => {
                let opts = PgConnectOptions::from_str(raw)
                    .map_err(url_err)?
                    .disable_statement_logging();
                let conn = within_timeout(&target, PgConnection::connect_with(&opts))
                    .await?
                    .map_err(connect_err)?;
                let mut conn = Connection::Postgres(conn);
                conn.check_version(&target).await?;
                Ok(conn)
            }
            Backend::Mysql => {
                let opts = MySqlConnectOptions::from_str(raw)
                    .map_err(url_err)?
                    .disable_statement_logging();
                let conn = within_timeout(&target, MySqlConnection::connect_with(&opts))
                    .await?
                    .map_err(connect_err)?;
                let mut conn = Connection::Mysql(conn);
                conn.check_version(&target).await?;
                Ok(conn)
            }
        }
    }

    /// Refuses servers older than the oldest supported release.
    async fn check_version(&mut self, target: &str) -> Result<(), DbError> {
        let (server, version, minimum, ok) = match self.backend() {
            Backend::Sqlite => return Ok(()),
            Backend::Postgres => {
                let v = self.query_column("SHOW server_version").await?;
                let v = v.into_iter().next().unwrap_or_default();
                let major = leading_numbers(&v).first().copied().unwrap_or(0);
                ("PostgreSQL", v, "14", major >= 14)
            }
            Backend::Mysql => {
                let v = self.query_column("SELECT VERSION()").await?;
                let v = v.into_iter().next().unwrap_or_default();
                let n = leading_numbers(&v);
                let (major, minor) = (
                    n.first().copied().unwrap_or(0),
                    n.get(1).copied().unwrap_or(0),
                );
                if is_mariadb_version(&v) {
                    ("MariaDB", v, "10.5", (major, minor) >= (10, 5))
                } else {
                    ("MySQL", v, "8.0", major >= 8)
                }
            }
        };
        if ok {
            Ok(())
        } else {
            Err(DbError::TooOld {
                target: target.to_owned(),
                server,
                version,
                minimum,
            })
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Connection::Sqlite(_) => Backend::Sqlite,
            Connection::Postgres(_) => Backend::Postgres,
            Connection::Mysql(_) => Backend::Mysql,
        }
    }

    /// Runs one statement (or, for `BEGIN`-like text, one command); returns rows affected.
    pub async fn execute(&mut self, sql: &str) -> Result<u64, DbError> {
        let q = sqlx::raw_sql(AssertSqlSafe(sql.to_owned()));
        let result = match self {
            Connection::Sqlite(c) => q.execute(c).await.map(|r| r.rows_affected()),
            Connection::Postgres(c) => q.execute(c).await.map(|r| r.rows_affected()),
            Connection::Mysql(c) => q.execute(c).await.map(|r| r.rows_affected()),
        };
        result.map_err(|e| statement_error(sql, &e))
    }

    /// Runs a query and returns every row with each column as text (NULL as `None`).
    pub async fn query_text(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DbError> {
        macro_rules! fetch {
            ($conn:expr, $getter:ident) => {{
                let rows = sqlx::query(AssertSqlSafe(sql.to_owned()))
                    .fetch_all($conn)
                    .await
                    .map_err(|e| statement_error(sql, &e))?;
                Ok(rows
                    .iter()
                    .map(|r| (0..r.len()).map(|i| $getter(r, i)).collect())
                    .collect())
            }};
        }
        match self {
            Connection::Sqlite(c) => fetch!(c, text_sqlite),
            Connection::Postgres(c) => fetch!(c, text_pg),
            Connection::Mysql(c) => fetch!(c, text_mysql),
        }
    }

    /// The first column of every row, as text.
    pub async fn query_column(&mut self, sql: &str) -> Result<Vec<String>, DbError> {
        Ok(self
            .query_text(sql)
            .await?
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            .collect())
    }

    /// Whether the server is MariaDB (not MySQL, and not another backend), for the few
    /// things the two differ in (MariaDB has no expression indexes).
    pub async fn is_mariadb(&mut self) -> Result<bool, DbError> {
        if self.backend() != Backend::Mysql {
            return Ok(false);
        }
        let version = self.query_column("SELECT VERSION()").await?;
        Ok(version.first().is_some_and(|v| is_mariadb_version(v)))
    }

    /// Closes the connection cleanly.
    pub async fn close(self) {
        let _ = match self {
            Connection::Sqlite(c) => c.close().await,
            Connection::Postgres(c) => c.close().await,
            Connection::Mysql(c) => c.close().await,
        };
    }
}

/// How long connecting to a server may take before it counts as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Runs a connection attempt, turning a hang into a clear error.
async fn within_timeout<T>(
    target: &str,
    attempt: impl std::future::Future<Output = T>,
) -> Result<T, DbError> {
    tokio::time::timeout(CONNECT_TIMEOUT, attempt)
        .await
        .map_err(|_| DbError::Connect {
            target: target.to_owned(),
            cause: format!("timed out after {} s", CONNECT_TIMEOUT.as_secs()),
        })
}

/// `SELECT VERSION()` of a MariaDB server: `10.11.6-MariaDB-0+deb12u1`.
fn is_mariadb_version(version: &str) -> bool {
    version.to_ascii_lowercase().contains("mariadb")
}

/// The numbers at the start of a version string: `10.11.6-MariaDB` -> [10, 11, 6].
fn leading_numbers(version: &str) -> Vec<u32> {
    version
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .next()
        .unwrap_or("")
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn statement_error(sql: &str, e: &sqlx::Error) -> DbError {
    if connection_lost(e) {
        return DbError::ConnectionLost {
            statement: sql.trim().to_owned(),
            cause: cause_text(e),
        };
    }
    DbError::Statement {
        statement: sql.trim().to_owned(),
        message: cause_text(e),
    }
}

/// Whether `e` says the connection is gone (the server stopped, crashed, or closed
/// it), not that the statement was refused.
fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL: admin/crash shutdown, cannot connect now, connection errors.
            code.starts_with("57P0")
                || code.starts_with("08")
                // MySQL/MariaDB: shutdown in progress, connection killed, gone away,
                // lost during query, disconnected.
                || matches!(&*code, "1053" | "1927" | "2006" | "2013" | "4031")
        }
        _ => false,
    }
}

/// The database's own message, without sqlx's wrapping.
fn cause_text(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (code {code})", db.message()),
            None => db.message().to_owned(),
        },
        sqlx::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

macro_rules! text_getter {
    ($name:ident, $row:ty) => {
        fn $name(row: &$row, i: usize) -> Option<String> {
            if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                return v;
            }
            if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                return v.map(|n| n.to_string());
            }
            if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
                return v.map(|n| n.to_string());
            }
            if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
                return v.map(|b| b.to_string());
            }
            if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
                return v.map(|n| n.to_string());
            }
            if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(i) {
                return v.map(|b| String::from_utf8_lossy(&b).into_owned());
            }
            None
        }
    };
}

text_getter!(text_sqlite, sqlx::sqlite::SqliteRow);
text_getter!(text_pg, sqlx::postgres::PgRow);
text_getter!(text_mysql, sqlx::mysql::MySqlRow);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_numbers() {
        assert_eq!(leading_numbers("10.11.6-MariaDB-0+deb12u1"), [10, 11, 6]);
        assert_eq!(leading_numbers("15.18 (Debian 15.18-0+deb12u1)"), [15, 18]);
        assert_eq!(leading_numbers("8.0.36"), [8, 0, 36]);
    }

    #[test]
    fn sqlite_paths_from_urls() {
        assert_eq!(
            sqlite_path("sqlite:///tmp/a.db").as_deref(),
            Some("/tmp/a.db")
        );
        assert_eq!(
            sqlite_path("sqlite:///tmp/a.db?mode=rwc").as_deref(),
            Some("/tmp/a.db")
        );
        assert_eq!(sqlite_path("postgres://x"), None);
    }
}
