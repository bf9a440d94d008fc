//! One lock per database for the whole run, so concurrent `migrate` processes apply
//! each revision exactly once: SQLite a lock on a file next to the database (each
//! revision then commits on its own; in single-transaction mode the run is also one
//! immediate write transaction), PostgreSQL a session advisory lock, MySQL/MariaDB
//! `GET_LOCK`. The operating system drops every one of them when the process dies.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::Error;
use crate::db::{Backend, Connection};

/// A SQL string literal (lock names are built from identifiers, but stay safe).
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// How a lock was taken, to release it the same way.
#[derive(Debug)]
pub enum Lock {
    /// A lock on `<database>.lock` (none for an in-memory database), and, in
    /// single-transaction mode, `BEGIN IMMEDIATE` released by `COMMIT`/`ROLLBACK`.
    Sqlite {
        file: Option<std::fs::File>,
        transaction: bool,
    },
    /// `pg_advisory_lock(key)`.
    Advisory(i64),
    /// `GET_LOCK(name)`.
    Named(String),
}

/// The advisory-lock key of a version table: stable across processes and versions
/// (public so operators and tests can take the same lock).
pub fn advisory_key(version_table: &str) -> i64 {
    let digest = Sha256::digest(format!("sqlalembic:{version_table}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// Takes the run lock, waiting at most `timeout`.
pub async fn acquire(
    conn: &mut Connection,
    version_table: &str,
    timeout: Duration,
    target: &str,
    single_transaction: bool,
) -> Result<Lock, Error> {
    let timed_out = || Error::LockTimeout {
        target: target.to_owned(),
        seconds: timeout.as_secs(),
    };
    match conn.backend() {
        Backend::Sqlite => {
            // busy_timeout makes BEGIN IMMEDIATE wait for another writer that long.
            conn.execute(&format!("PRAGMA busy_timeout = {}", timeout.as_millis()))
                .await?;
            let path = conn
                .query_column("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .await?
                .into_iter()
                .next()
                .filter(|p| !p.is_empty());
            let file = match path {
                None => None,
                Some(db) => {
                    let path = std::path::PathBuf::from(format!("{db}.lock"));
                    let file = std::fs::OpenOptions::new()
                        .read(true)
                        .write(true)
                        .create(true)
                        .truncate(false)
                        .open(&path)
                        .map_err(|e| Error::LockFile {
                            path: path.clone(),
                            cause: e.to_string(),
                        })?;
                    let start = Instant::now();
                    loop {
                        match file.try_lock() {
                            Ok(()) => break,
                            Err(std::fs::TryLockError::WouldBlock) => {}
                            Err(std::fs::TryLockError::Error(e)) => {
                                return Err(Error::LockFile {
                                    path,
                                    cause: e.to_string(),
                                });
                            }
                        }
                        if start.elapsed() >= timeout {
                            return Err(timed_out());
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Some(file)
                }
            };
            if single_transaction {
                conn.execute("BEGIN IMMEDIATE").await.map_err(|e| {
                    if e.to_string().contains("locked") {
                        timed_out()
                    } else {
                        Error::Db(e)
                    }
                })?;
            }
            Ok(Lock::Sqlite {
                file,
                transaction: single_transaction,
            })
        }
        Backend::Postgres => {
            let key = advisory_key(version_table);
            let start = Instant::now();
            loop {
                let got = conn
                    .query_column(&format!("SELECT pg_try_advisory_lock({key})::text"))
                    .await?;
                if got.first().map(String::as_str) == Some("true") {
                    return Ok(Lock::Advisory(key));
                }
                if start.elapsed() >= timeout {
                    return Err(timed_out());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Backend::Mysql => {
            let db = conn
                .query_column("SELECT DATABASE()")
                .await?
                .into_iter()
                .next()
                .unwrap_or_default();
            // GET_LOCK names are server-wide and limited to 64 characters.
            let name: String = format!("sqlalembic:{db}:{version_table}")
                .chars()
                .take(64)
                .collect();
            let got = conn
                .query_column(&format!(
                    "SELECT CAST(GET_LOCK({}, {}) AS CHAR)",
                    literal(&name),
                    timeout.as_secs().max(1)
                ))
                .await?;
            if got.first().map(String::as_str) == Some("1") {
                Ok(Lock::Named(name))
            } else {
                Err(timed_out())
            }
        }
    }
}

/// Releases the lock. SQLite: commits the run transaction, or rolls it back when
/// `commit` is false (a failed run in single-transaction mode).
pub async fn release(conn: &mut Connection, lock: Lock, commit: bool) -> Result<(), Error> {
    match lock {
        Lock::Sqlite { file, transaction } => {
            let ended = if transaction {
                conn.execute(if commit { "COMMIT" } else { "ROLLBACK" })
                    .await
                    .map(|_| ())
            } else {
                Ok(())
            };
            drop(file);
            ended?;
        }
        Lock::Advisory(key) => {
            conn.execute(&format!("SELECT pg_advisory_unlock({key})"))
                .await?;
        }
        Lock::Named(name) => {
            conn.execute(&format!("SELECT RELEASE_LOCK({})", literal(&name)))
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advisory_keys_are_stable_and_per_table() {
        assert_eq!(
            advisory_key("alembic_version"),
            advisory_key("alembic_version")
        );
        assert_ne!(
            advisory_key("alembic_version"),
            advisory_key("other_version")
        );
    }
}
